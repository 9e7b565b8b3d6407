//! Keeps an instance's snapshot fresh: loads it at start, then follows the change log through
//! `LISTEN haven_change_log` on one dedicated connection, catching up from `change_log` after
//! every reconnect. If Postgres goes away, matching keeps answering from the last snapshot.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use diesel::prelude::*;
use uuid::Uuid;

use super::Snapshot;
use super::index::{Index, IndexBuilder, ServiceInput};
use super::load;
use super::regions::RegionLocator;
use crate::boundaries::Boundaries;
use crate::config::DatabaseUrl;
use crate::db::{self, change_log, services};
use crate::zips::ZipCentroids;

/// How often the listener looks for notifications.
const POLL: Duration = Duration::from_millis(25);
/// A catch-up from the change log runs at least this often, notification or not.
const SAFETY_CATCH_UP: Duration = Duration::from_secs(2);
/// Past this many changed services a new base is loaded in the background; changes keep
/// going to the overlay until it is in.
const MAX_OVERLAY: usize = 5_000;
/// Changes read per catch-up round.
const CHANGES_PER_ROUND: i64 = 50_000;
/// Past this many changed services at once (an instance that was away during a whole
/// import), reading them into an overlay would cost more than loading everything again.
const MAX_CATCH_UP: usize = 10 * MAX_OVERLAY;
/// How often an instance trims old changes from the log (every instance does; it is cheap
/// when there is nothing to trim).
const TRIM_EVERY: Duration = Duration::from_secs(3600);
/// Changes deleted a round: small enough not to hold up the changes the follower applies.
const TRIM_ROUND: i64 = 10_000;

/// What reading the change log into an overlay found.
enum Caught {
    Nothing,
    /// Everything up to this change id.
    Upto(i64),
    /// More than [`MAX_CATCH_UP`] changed services: load everything again instead.
    TooMany,
}

pub struct LiveIndex {
    current: ArcSwap<Snapshot>,
    /// What the current overlay was built from: the services changed since the base was
    /// loaded that still exist. Kept so that a change reloads only what it touched.
    overlay_inputs: Mutex<HashMap<Uuid, ServiceInput>>,
    ready: AtomicBool,
    stop: AtomicBool,
}

impl LiveIndex {
    pub fn new() -> Arc<LiveIndex> {
        Arc::new(LiveIndex {
            current: ArcSwap::from_pointee(Snapshot::default()),
            overlay_inputs: Mutex::default(),
            ready: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        })
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// True once the first full load is in place.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn install(&self, snapshot: Snapshot) {
        self.current.store(Arc::new(snapshot));
        self.ready.store(true, Ordering::Release);
    }

    /// Asks the follower thread to end.
    fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Sleeps for `length`, in steps of at most [`POLL`], ending early once asked to stop.
    fn pause(&self, length: Duration) {
        let until = Instant::now() + length;
        while !self.stopped() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(POLL));
        }
    }

    /// Loads everything from Postgres into a fresh base and installs it, unless asked to stop
    /// on the way. The matching index is not updated meanwhile: for the first load only.
    pub fn full_load(&self, conn: &mut PgConnection, boundaries: &Boundaries) -> QueryResult<()> {
        let (version, index) = self.load_base(conn, boundaries)?;
        self.install(Snapshot::new(
            version,
            Arc::new(index),
            Arc::default(),
            Arc::default(),
        ));
        self.inputs().clear();
        Ok(())
    }

    /// Everything in Postgres as a new base index, and the change-log id it reflects.
    fn load_base(
        &self,
        conn: &mut PgConnection,
        boundaries: &Boundaries,
    ) -> QueryResult<(i64, Index)> {
        let started = Instant::now();
        let mut builder = IndexBuilder::new(boundaries);
        let version = load::load_all(
            conn,
            boundaries,
            |input| builder.add(input),
            || !self.stopped(),
        )?;
        let index = builder.finish();
        tracing::info!(
            services = index.len(),
            version,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "matching index loaded"
        );
        Ok((version, index))
    }

    fn inputs(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, ServiceInput>> {
        // Only the follower thread writes it; a panic there leaves it whole.
        self.overlay_inputs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies every change after the snapshot's version. Returns whether anything changed.
    pub fn catch_up(&self, conn: &mut PgConnection, boundaries: &Boundaries) -> QueryResult<bool> {
        let current = self.snapshot();
        let mut inputs = self.inputs();
        let mut hidden = (*current.hidden).clone();
        match overlay_changes(
            conn,
            boundaries,
            current.version,
            &current.base,
            &mut inputs,
            &mut hidden,
        )? {
            Caught::Nothing => Ok(false),
            Caught::Upto(version) => {
                self.install_overlay(version, current.base.clone(), &inputs, hidden, boundaries);
                Ok(true)
            }
            Caught::TooMany => {
                drop(inputs);
                self.full_load(conn, boundaries)?;
                Ok(true)
            }
        }
    }

    /// Installs `base`, loaded at change-log id `version`, with the changes made since.
    fn install_base(
        &self,
        conn: &mut PgConnection,
        boundaries: &Boundaries,
        version: i64,
        base: Index,
    ) -> QueryResult<()> {
        let base = Arc::new(base);
        let mut inputs = HashMap::new();
        let mut hidden = HashSet::new();
        let version =
            match overlay_changes(conn, boundaries, version, &base, &mut inputs, &mut hidden)? {
                Caught::Nothing => version,
                Caught::Upto(version) => version,
                // So much changed while it loaded that it is already out of date.
                Caught::TooMany => return self.full_load(conn, boundaries),
            };
        self.install_overlay(version, base, &inputs, hidden, boundaries);
        *self.inputs() = inputs;
        Ok(())
    }

    fn install_overlay(
        &self,
        version: i64,
        base: Arc<Index>,
        inputs: &HashMap<Uuid, ServiceInput>,
        hidden: HashSet<Uuid>,
        boundaries: &Boundaries,
    ) {
        let overlay = Index::build(inputs.values().cloned().collect(), boundaries);
        self.current.store(Arc::new(Snapshot::new(
            version,
            base,
            Arc::new(overlay),
            Arc::new(hidden),
        )));
        tracing::debug!(version, overlay = inputs.len(), "matching index updated");
    }

    /// Whether the overlay has grown past [`MAX_OVERLAY`], so a new base should be loaded.
    fn overlay_is_large(&self) -> bool {
        self.snapshot().hidden.len().max(self.inputs().len()) > MAX_OVERLAY
    }
}

/// Reads the change log after `since` into `inputs` (the changed services that exist, read
/// again from Postgres) and `hidden` (the changed ones `base` holds, which the overlay
/// replaces or removes), up to the last change, or until there are too many.
fn overlay_changes(
    conn: &mut PgConnection,
    boundaries: &Boundaries,
    since: i64,
    base: &Index,
    inputs: &mut HashMap<Uuid, ServiceInput>,
    hidden: &mut HashSet<Uuid>,
) -> QueryResult<Caught> {
    // Changes after `since` were trimmed away (an instance cut off for longer than they are
    // kept): what they touched cannot be known. (Ids of rolled-back writes are never used,
    // so this can also be a false alarm, which costs only a load.)
    if change_log::oldest_id(conn)?.is_some_and(|oldest| oldest > since + 1) {
        return Ok(Caught::TooMany);
    }
    let mut caught = Caught::Nothing;
    loop {
        let after = match caught {
            Caught::Upto(version) => version,
            _ => since,
        };
        let changes = change_log::since(conn, after, CHANGES_PER_ROUND)?;
        let Some(last) = changes.last() else {
            return Ok(caught);
        };
        caught = Caught::Upto(last.id);
        let mut affected: HashSet<Uuid> = HashSet::new();
        let mut organizations = Vec::new();
        for change in &changes {
            match change.entity.as_str() {
                "service" => {
                    affected.insert(change.entity_id);
                }
                _ => organizations.push(change.entity_id),
            }
        }
        // An organization's name is shown with each of its services.
        affected.extend(services::ids_of_organizations(conn, &organizations)?);
        if hidden.len().max(inputs.len()) + affected.len() > MAX_CATCH_UP {
            return Ok(Caught::TooMany);
        }
        let affected: Vec<Uuid> = affected.into_iter().collect();
        for id in &affected {
            inputs.remove(id);
        }
        hidden.extend(affected.iter().filter(|id| base.contains(id)));
        for input in load::load_some(conn, &affected, boundaries)? {
            inputs.insert(input.id, input);
        }
    }
}

/// The running follower thread of one [`LiveIndex`].
pub struct Follower {
    live: Arc<LiveIndex>,
    thread: JoinHandle<()>,
}

impl Follower {
    /// Asks the thread to end and waits up to `within` for it to close its connection. Returns
    /// false if it is still busy then (a full load stops only between pages).
    pub fn stop(self, within: Duration) -> bool {
        self.live.stop();
        let until = Instant::now() + within;
        while !self.thread.is_finished() {
            if Instant::now() >= until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // It has finished, so this does not block; a panic in it was already reported.
        let _ = self.thread.join();
        true
    }
}

/// Starts the follower thread for `live`. It loads the index (unless `live` is already ready),
/// then applies changes as they are notified, reconnecting with back-off when Postgres is away.
pub fn follow(
    live: Arc<LiveIndex>,
    url: DatabaseUrl,
    boundaries: &'static Boundaries,
) -> std::io::Result<Follower> {
    let following = live.clone();
    let thread = std::thread::Builder::new().name("haven-index".into()).spawn(move || {
        let live = following;
        // Parse the bundled ZIP centroids and region shapes here, before readiness, rather
        // than on the first match request.
        let _ = (ZipCentroids::bundled(), RegionLocator::bundled());
        let mut backoff = Duration::from_millis(250);
        let mut rebuild = Rebuild::default();
        while !live.stopped() {
            match run_connected(&live, &url, boundaries, &mut rebuild) {
                Ok(()) => return,
                // Asked to stop in the middle of a load.
                Err(_) if live.stopped() => return,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "index follower lost Postgres; matching continues from the last snapshot");
                    live.pause(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    })?;
    Ok(Follower { live, thread })
}

/// A new base being loaded on a thread of its own, with its own connection, so that
/// changes keep reaching the overlay meanwhile (a million services take most of a minute).
#[derive(Default)]
struct Rebuild {
    running: Option<JoinHandle<anyhow::Result<(i64, Index)>>>,
}

impl Rebuild {
    fn start(&mut self, live: &Arc<LiveIndex>, url: &DatabaseUrl, boundaries: &'static Boundaries) {
        if self.running.is_some() {
            return;
        }
        let (live, url) = (live.clone(), url.clone());
        let spawned = std::thread::Builder::new()
            .name("haven-index-base".into())
            .spawn(move || {
                let mut conn = db::connect(&url)?;
                Ok(live.load_base(&mut conn, boundaries)?)
            });
        match spawned {
            Ok(handle) => self.running = Some(handle),
            Err(e) => tracing::warn!(error = %e, "could not start loading a new matching base"),
        }
    }

    /// The loaded base, once its thread has finished with one.
    fn finished(&mut self) -> Option<(i64, Index)> {
        if !self.running.as_ref()?.is_finished() {
            return None;
        }
        match self.running.take()?.join() {
            Ok(Ok(loaded)) => Some(loaded),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "loading a new matching base failed; the overlay keeps growing until the next try");
                None
            }
            // The panic was reported where it happened.
            Err(_) => None,
        }
    }
}

/// One connected session of the follower; returns Ok only when asked to stop.
fn run_connected(
    live: &Arc<LiveIndex>,
    url: &DatabaseUrl,
    boundaries: &'static Boundaries,
    rebuild: &mut Rebuild,
) -> anyhow::Result<()> {
    let mut conn = db::connect(url)?;
    diesel::sql_query("LISTEN haven_change_log").execute(&mut conn)?;
    if live.is_ready() {
        live.catch_up(&mut conn, boundaries)?;
    } else {
        live.full_load(&mut conn, boundaries)?;
    }
    let mut last_check = Instant::now();
    // Trimmed soon after each connect, then every [`TRIM_EVERY`], a round at a time.
    let mut last_trim: Option<Instant> = None;
    while !live.stopped() {
        let mut notified = false;
        for notification in conn.notifications_iter() {
            notification?;
            notified = true;
        }
        if let Some((version, base)) = rebuild.finished() {
            live.install_base(&mut conn, boundaries, version, base)?;
            last_check = Instant::now();
        } else if notified || last_check.elapsed() >= SAFETY_CATCH_UP {
            live.catch_up(&mut conn, boundaries)?;
            last_check = Instant::now();
        }
        if live.overlay_is_large() {
            rebuild.start(live, url, boundaries);
        }
        if last_trim.is_none_or(|at| at.elapsed() >= TRIM_EVERY) {
            let trimmed = change_log::trim(&mut conn, TRIM_ROUND)?;
            // A full round means there may be more: the next pass takes another.
            if trimmed < TRIM_ROUND as usize {
                last_trim = Some(Instant::now());
            }
        }
        live.pause(POLL);
    }
    Ok(())
}
