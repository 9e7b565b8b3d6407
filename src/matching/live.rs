//! Keeps an instance's snapshot fresh: loads it at start, then follows the change log through
//! `LISTEN haven_change_log` on one dedicated connection, catching up from `change_log` after
//! every reconnect. If Postgres goes away, matching keeps answering from the last snapshot.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use diesel::prelude::*;
use uuid::Uuid;

use super::Snapshot;
use super::index::{Index, IndexBuilder};
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
/// Past this many changed services the base is rebuilt instead of growing the overlay.
const MAX_OVERLAY: usize = 5_000;
/// Changes read per catch-up round.
const CHANGES_PER_ROUND: i64 = 50_000;

pub struct LiveIndex {
    current: ArcSwap<Snapshot>,
    ready: AtomicBool,
    stop: AtomicBool,
}

impl LiveIndex {
    pub fn new() -> Arc<LiveIndex> {
        Arc::new(LiveIndex {
            current: ArcSwap::from_pointee(Snapshot::default()),
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

    /// Loads everything from Postgres into a fresh base, unless asked to stop on the way.
    pub fn full_load(&self, conn: &mut PgConnection, boundaries: &Boundaries) -> QueryResult<()> {
        let started = Instant::now();
        let mut builder = IndexBuilder::new(boundaries);
        let version = load::load_all(
            conn,
            boundaries,
            |input| builder.add(input),
            || !self.stopped(),
        )?;
        let index = builder.finish();
        let services = index.len();
        self.install(Snapshot::new(
            version,
            Arc::new(index),
            Arc::default(),
            Arc::default(),
        ));
        tracing::info!(
            services,
            version,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "matching index loaded"
        );
        Ok(())
    }

    /// Applies every change after the snapshot's version. Returns whether anything changed.
    pub fn catch_up(&self, conn: &mut PgConnection, boundaries: &Boundaries) -> QueryResult<bool> {
        let mut changed = false;
        loop {
            let current = self.snapshot();
            let changes = change_log::since(conn, current.version, CHANGES_PER_ROUND)?;
            let Some(last) = changes.last() else {
                return Ok(changed);
            };
            let version = last.id;
            changed = true;
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
            let overlay_ids: Vec<Uuid> = current
                .overlay
                .services()
                .iter()
                .map(|s| s.id)
                .chain(affected.iter().copied())
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            if overlay_ids.len() > MAX_OVERLAY {
                self.full_load(conn, boundaries)?;
                continue;
            }
            let overlay =
                Index::build(load::load_some(conn, &overlay_ids, boundaries)?, boundaries);
            let mut hidden: HashSet<Uuid> = (*current.hidden).clone();
            hidden.extend(overlay_ids.iter().filter(|id| current.base.contains(id)));
            self.current.store(Arc::new(Snapshot::new(
                version,
                current.base.clone(),
                Arc::new(overlay),
                Arc::new(hidden),
            )));
            tracing::debug!(version, changes = changes.len(), "matching index updated");
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
        while !live.stopped() {
            match run_connected(&live, &url, boundaries) {
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

/// One connected session of the follower; returns Ok only when asked to stop.
fn run_connected(
    live: &LiveIndex,
    url: &DatabaseUrl,
    boundaries: &Boundaries,
) -> anyhow::Result<()> {
    let mut conn = db::connect(url)?;
    diesel::sql_query("LISTEN haven_change_log").execute(&mut conn)?;
    if live.is_ready() {
        live.catch_up(&mut conn, boundaries)?;
    } else {
        live.full_load(&mut conn, boundaries)?;
    }
    let mut last_check = Instant::now();
    while !live.stopped() {
        let mut notified = false;
        for notification in conn.notifications_iter() {
            notification?;
            notified = true;
        }
        if notified || last_check.elapsed() >= SAFETY_CATCH_UP {
            live.catch_up(&mut conn, boundaries)?;
            last_check = Instant::now();
        }
        live.pause(POLL);
    }
    Ok(())
}
