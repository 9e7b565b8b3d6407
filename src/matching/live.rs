//! Keeps an instance's snapshot fresh: loads it at start, then follows the change log through
//! `LISTEN haven_change_log` on one dedicated connection, catching up from `change_log` after
//! every reconnect. If Postgres goes away, matching keeps answering from the last snapshot.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use uuid::Uuid;

use super::Snapshot;
use super::index::{Index, IndexBuilder, ServiceInput};
use super::load;
use super::regions::RegionLocator;
use crate::boundaries::Boundaries;
use crate::config::DatabaseUrl;
use crate::crypto::LiveKeys;
use crate::db::{self, change_log, services};
use crate::zips::ZipCentroids;

/// How often the listener looks for notifications.
const POLL: Duration = Duration::from_millis(25);
/// A catch-up from the change log runs at least this often, notification or not.
const SAFETY_CATCH_UP: Duration = Duration::from_secs(2);
/// Past this many changed services a new base is loaded in the background; changes keep
/// going to the overlay until it is in.
const MAX_OVERLAY: usize = 5_000;
/// Changes read per catch-up round: a round takes well under [`STALLED`], even with
/// polygons to read again.
const CHANGES_PER_ROUND: i64 = 10_000;
/// Past this many changed services at once (an instance that was away during a whole
/// import), reading them into an overlay would cost more than loading everything again.
const MAX_CATCH_UP: usize = 10 * MAX_OVERLAY;
/// How often an instance trims old changes from the log (every instance does; it is cheap
/// when there is nothing to trim).
const TRIM_EVERY: Duration = Duration::from_secs(3600);
/// Changes deleted a round: small enough not to hold up the changes the follower applies.
const TRIM_ROUND: i64 = 10_000;
/// A follower not heard from for this long is taken to hang on a connection that stopped
/// answering without closing (a frozen backend or host: the kernel still acknowledges, so
/// TCP keepalives see nothing), and another one is started beside it. It beats every
/// [`POLL`] while idle, at every catch-up round, and at every service a load reads.
const STALLED: Duration = Duration::from_secs(5);
/// How often the follower looks whether the data key file changed.
const KEYS_EVERY: Duration = Duration::from_millis(250);
/// How often the watch looks at the follower.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// At most this many replaced followers may still hang (each holds a connection) before no
/// more are started: a server frozen for an hour must not use up its connections.
const MAX_HANGING: usize = 2;
/// How long the follower waits for a lock (a migration's, a `VACUUM FULL`'s) before giving
/// up the round and trying again: waiting longer would look like a hang.
const LOCK_TIMEOUT: &str = "2s";

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
    /// loaded that still exist. Kept so that a change reloads only what it touched; shared,
    /// so that a catch-up's working copy costs a pointer a service.
    overlay_inputs: Mutex<HashMap<Uuid, Arc<ServiceInput>>>,
    ready: AtomicBool,
    stop: AtomicBool,
    /// The number of the follower whose changes count. One that hung and was replaced may
    /// come back to life holding changes read long ago: it must not install them.
    follower: AtomicU64,
    /// Held while a follower installs, so that the check of its number and the install are
    /// one step.
    installing: Mutex<()>,
    /// When the follower was last heard from, in milliseconds after `born`.
    beat: AtomicU64,
    born: Instant,
}

impl LiveIndex {
    pub fn new() -> Arc<LiveIndex> {
        Arc::new(LiveIndex {
            current: ArcSwap::from_pointee(Snapshot::default()),
            overlay_inputs: Mutex::default(),
            ready: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            follower: AtomicU64::new(0),
            installing: Mutex::new(()),
            beat: AtomicU64::new(0),
            born: Instant::now(),
        })
    }

    /// The follower is alive and getting on.
    fn beat(&self) {
        let now = self.born.elapsed().as_millis() as u64;
        self.beat.store(now, Ordering::Release);
    }

    /// Whether the follower has not been heard from for [`STALLED`] after the first load:
    /// changes may not be reaching this instance. `/readyz` says so.
    pub fn is_stalled(&self) -> bool {
        let last = Duration::from_millis(self.beat.load(Ordering::Acquire));
        self.is_ready() && self.born.elapsed().saturating_sub(last) > STALLED
    }

    fn is_current(&self, follower: u64) -> bool {
        self.follower.load(Ordering::Acquire) == follower
    }

    /// Runs `install` if `follower` is still the one whose changes count.
    fn install_as(&self, follower: u64, install: impl FnOnce()) {
        let _one_at_a_time = self
            .installing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.is_current(follower) {
            install();
        }
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

    /// [`LiveIndex::pause`] for a follower waiting on purpose (to try Postgres again), which is
    /// not hanging: it beats meanwhile.
    fn wait_alive(&self, length: Duration) {
        let until = Instant::now() + length;
        while !self.stopped() && Instant::now() < until {
            self.beat();
            self.pause(until.saturating_duration_since(Instant::now()).min(POLL));
        }
    }

    /// Loads everything from Postgres into a fresh base and installs it, unless asked to stop
    /// on the way. The matching index is not updated meanwhile: for the first load only.
    pub fn full_load(&self, conn: &mut PgConnection, boundaries: &Boundaries) -> QueryResult<()> {
        let follower = self.follower.load(Ordering::Acquire);
        self.reload(follower, conn, boundaries)
    }

    /// [`LiveIndex::full_load`] by follower number `follower`.
    fn reload(
        &self,
        follower: u64,
        conn: &mut PgConnection,
        boundaries: &Boundaries,
    ) -> QueryResult<()> {
        let (version, index) = self.load_base(conn, boundaries, true)?;
        self.install_as(follower, || {
            self.install(Snapshot::new(
                version,
                Arc::new(index),
                Arc::default(),
                Arc::default(),
            ));
            self.inputs().clear();
        });
        Ok(())
    }

    /// Everything in Postgres as a new base index, and the change-log id it reflects.
    /// `beats`: loaded by the follower itself, which says it is alive as it goes.
    fn load_base(
        &self,
        conn: &mut PgConnection,
        boundaries: &Boundaries,
        beats: bool,
    ) -> QueryResult<(i64, Index)> {
        let started = Instant::now();
        let mut builder = IndexBuilder::new(boundaries);
        // A page of a busy load can take seconds: the follower beats at every service.
        let version = load::load_all(
            conn,
            boundaries,
            |input| {
                builder.add(input);
                if beats {
                    self.beat();
                }
            },
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

    fn inputs(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<ServiceInput>>> {
        // Only the follower thread writes it; a panic there leaves it whole.
        self.overlay_inputs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies every change after the snapshot's version, as follower number `follower`.
    /// Returns whether anything changed. It works on copies, so that a follower that hangs
    /// in the middle holds nothing its replacement needs.
    fn catch_up(
        &self,
        follower: u64,
        conn: &mut PgConnection,
        boundaries: &Boundaries,
    ) -> QueryResult<bool> {
        let current = self.snapshot();
        let mut inputs = self.inputs().clone();
        let mut hidden = (*current.hidden).clone();
        match overlay_changes(
            conn,
            boundaries,
            current.version,
            &current.base,
            &mut inputs,
            &mut hidden,
            &|| self.beat(),
        )? {
            Caught::Nothing => Ok(false),
            Caught::Upto(version) => {
                let base = current.base.clone();
                self.install_overlay(follower, version, base, inputs, hidden, boundaries);
                Ok(true)
            }
            Caught::TooMany => {
                self.reload(follower, conn, boundaries)?;
                Ok(true)
            }
        }
    }

    /// Installs `base`, loaded at change-log id `version`, with the changes made since.
    fn install_base(
        &self,
        follower: u64,
        conn: &mut PgConnection,
        boundaries: &Boundaries,
        version: i64,
        base: Index,
    ) -> QueryResult<()> {
        let base = Arc::new(base);
        let mut inputs = HashMap::new();
        let mut hidden = HashSet::new();
        let beat = || self.beat();
        let version = match overlay_changes(
            conn,
            boundaries,
            version,
            &base,
            &mut inputs,
            &mut hidden,
            &beat,
        )? {
            Caught::Nothing => version,
            Caught::Upto(version) => version,
            // So much changed while it loaded that it is already out of date.
            Caught::TooMany => return self.reload(follower, conn, boundaries),
        };
        self.install_overlay(follower, version, base, inputs, hidden, boundaries);
        Ok(())
    }

    /// Builds the overlay of `inputs` and installs it over `base` with the overlay's inputs,
    /// if `follower` is still the one whose changes count.
    fn install_overlay(
        &self,
        follower: u64,
        version: i64,
        base: Arc<Index>,
        inputs: HashMap<Uuid, Arc<ServiceInput>>,
        hidden: HashSet<Uuid>,
        boundaries: &Boundaries,
    ) {
        let overlay = Index::build(
            inputs
                .values()
                .map(|input| ServiceInput::clone(input))
                .collect(),
            boundaries,
        );
        let size = inputs.len();
        self.install_as(follower, || {
            self.current.store(Arc::new(Snapshot::new(
                version,
                base,
                Arc::new(overlay),
                Arc::new(hidden),
            )));
            *self.inputs() = inputs;
        });
        tracing::debug!(version, overlay = size, "matching index updated");
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
    inputs: &mut HashMap<Uuid, Arc<ServiceInput>>,
    hidden: &mut HashSet<Uuid>,
    beat: &dyn Fn(),
) -> QueryResult<Caught> {
    // Changes after `since` were trimmed away (an instance cut off for longer than they are
    // kept): what they touched cannot be known. (Ids of rolled-back writes are never used,
    // so this can also be a false alarm, which costs only a load.)
    if change_log::oldest_id(conn)?.is_some_and(|oldest| oldest > since + 1) {
        return Ok(Caught::TooMany);
    }
    let mut caught = Caught::Nothing;
    loop {
        beat();
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
            inputs.insert(input.id, Arc::new(input));
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

/// Starts following for `live`: a follower thread loads the index (unless `live` is already
/// ready), then applies changes as they are notified, reconnecting with back-off when Postgres
/// is away; a watch replaces it when it is not heard from for [`STALLED`]. Having a
/// connection, the follower also takes a changed key file into `keys` (see `LiveKeys`), so
/// that an instance that seals nothing for a while still follows `haven keys rotate`.
pub fn follow(
    live: Arc<LiveIndex>,
    url: DatabaseUrl,
    boundaries: &'static Boundaries,
    keys: LiveKeys,
) -> std::io::Result<Follower> {
    let watched = live.clone();
    let thread = std::thread::Builder::new().name("haven-index".into()).spawn(move || {
        let live = watched;
        // Parse the bundled ZIP centroids and region shapes here, before readiness, rather
        // than on the first match request.
        let _ = (ZipCentroids::bundled(), RegionLocator::bundled());
        live.beat();
        let Ok(mut current) = start_follower(&live, &url, boundaries, &keys) else {
            return;
        };
        let mut hanging: Vec<JoinHandle<()>> = Vec::new();
        let mut said_full = false;
        while !live.stopped() {
            live.pause(WATCH_EVERY);
            if current.is_finished() {
                return;
            }
            hanging.retain(|h| !h.is_finished());
            if !live.is_stalled() {
                said_full = false;
                continue;
            }
            if hanging.len() >= MAX_HANGING {
                if !said_full {
                    tracing::warn!(hanging = hanging.len(), "the index follower has not been heard from, and the ones it replaced still hang: starting no more; /readyz answers 503 until one comes back");
                    said_full = true;
                }
                continue;
            }
            tracing::warn!(
                stalled_ms = STALLED.as_millis() as u64,
                "the index follower has not been heard from (its connection may hang); starting another"
            );
            live.follower.fetch_add(1, Ordering::AcqRel);
            live.beat();
            match start_follower(&live, &url, boundaries, &keys) {
                Ok(next) => hanging.push(std::mem::replace(&mut current, next)),
                Err(e) => tracing::warn!(error = %e, "could not start another index follower"),
            }
        }
        // Asked to stop: the follower closes its connection, and so do replaced ones that
        // came back to life; one that still hangs after a second is left.
        let _ = current.join();
        let until = Instant::now() + Duration::from_secs(1);
        while hanging.iter().any(|h| !h.is_finished()) && Instant::now() < until {
            std::thread::sleep(POLL);
        }
    })?;
    Ok(Follower { live, thread })
}

/// The waits between tries to reach Postgres: from 250 ms, doubling to 5 s, and from 250 ms
/// again once a connection has caught up.
struct Backoff(Duration);

impl Backoff {
    const FIRST: Duration = Duration::from_millis(250);
    const MOST: Duration = Duration::from_secs(5);

    fn new() -> Self {
        Backoff(Self::FIRST)
    }

    /// The wait before the next try; the one after it is twice as long.
    fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(Self::MOST);
        wait
    }

    fn reset(&mut self) {
        self.0 = Self::FIRST;
    }
}

/// Starts follower number `live.follower` on a thread of its own. It ends when asked to stop
/// or once another has replaced it.
fn start_follower(
    live: &Arc<LiveIndex>,
    url: &DatabaseUrl,
    boundaries: &'static Boundaries,
    keys: &LiveKeys,
) -> std::io::Result<JoinHandle<()>> {
    let (live, url, keys) = (live.clone(), url.clone(), keys.clone());
    let follower = live.follower.load(Ordering::Acquire);
    std::thread::Builder::new()
        .name(format!("haven-index-{follower}"))
        .spawn(move || {
            let mut backoff = Backoff::new();
            let mut rebuild = Rebuild::default();
            while !live.stopped() && live.is_current(follower) {
                let session = Session {
                    follower,
                    url: &url,
                    boundaries,
                    keys: &keys,
                };
                match run_connected(&live, &session, &mut rebuild, &mut backoff) {
                    Ok(()) => return,
                    // Asked to stop in the middle of a load, or replaced.
                    Err(_) if live.stopped() || !live.is_current(follower) => return,
                    Err(e) => {
                        let wait = backoff.next();
                        tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "index follower lost Postgres; matching continues from the last snapshot");
                        live.wait_alive(wait);
                    }
                }
            }
        })
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
                Ok(live.load_base(&mut conn, boundaries, false)?)
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

/// What a follower works with.
struct Session<'a> {
    /// Its number (see `LiveIndex::follower`).
    follower: u64,
    url: &'a DatabaseUrl,
    boundaries: &'static Boundaries,
    keys: &'a LiveKeys,
}

/// One connected session of a follower; returns Ok only when asked to stop or replaced.
fn run_connected(
    live: &Arc<LiveIndex>,
    session: &Session<'_>,
    rebuild: &mut Rebuild,
    backoff: &mut Backoff,
) -> anyhow::Result<()> {
    let Session {
        follower,
        url,
        boundaries,
        keys,
    } = *session;
    let mut conn = db::connect(url)?;
    // Named, for `pg_stat_activity`; and never waiting on a lock for long (see LOCK_TIMEOUT).
    conn.batch_execute(&format!(
        "SET application_name = 'haven-index'; SET lock_timeout = '{LOCK_TIMEOUT}'; LISTEN haven_change_log"
    ))?;
    if live.is_ready() {
        live.catch_up(follower, &mut conn, boundaries)?;
    } else {
        live.reload(follower, &mut conn, boundaries)?;
    }
    // Caught up: a connection lost later is tried again soon, however many were lost before.
    backoff.reset();
    let mut last_check = Instant::now();
    // Trimmed soon after each connect, then every [`TRIM_EVERY`], a round at a time.
    let mut last_trim: Option<Instant> = None;
    let mut last_keys = Instant::now();
    while !live.stopped() && live.is_current(follower) {
        live.beat();
        if last_keys.elapsed() >= KEYS_EVERY {
            services::data_keys(keys, &mut conn);
            last_keys = Instant::now();
        }
        let mut notified = false;
        for notification in conn.notifications_iter() {
            notification?;
            notified = true;
        }
        if let Some((version, base)) = rebuild.finished() {
            live.install_base(follower, &mut conn, boundaries, version, base)?;
            last_check = Instant::now();
        } else if notified || last_check.elapsed() >= SAFETY_CATCH_UP {
            live.catch_up(follower, &mut conn, boundaries)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_to_five_seconds_and_starts_again_once_caught_up() {
        let mut backoff = Backoff::new();
        let waits: Vec<u64> = (0..7).map(|_| backoff.next().as_millis() as u64).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 4000, 5000, 5000]);
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_millis(250));
    }
}
