//! PostgreSQL, the source of truth: the connection pool, database creation, embedded
//! migrations, and plain query functions per table group. Callers own transactions.

pub mod accounts;
pub mod audit;
pub mod change_log;
pub mod idempotency;
pub mod organizations;
pub mod schema;
pub mod services;
pub mod tokens;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DatabaseUrl;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub type DbPool = Pool<ConnectionManager<PgConnection>>;
pub type DbConn = PooledConnection<ConnectionManager<PgConnection>>;

/// How long a request waits for a connection before answering 503.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot reach PostgreSQL at {target}: {reason}")]
    Unreachable { target: String, reason: String },
    #[error("cannot create database {name} on {target}: {reason}")]
    Create {
        name: String,
        target: String,
        reason: String,
    },
    #[error("migrations failed on {target}: {reason}")]
    Migrate { target: String, reason: String },
    #[error(
        "there is no database {name} on {target}: check --database-url (DATABASE_URL), or create it with `haven migrate`"
    )]
    Missing { name: String, target: String },
}

/// libpq's message, first line only (later lines repeat connection details we already name).
fn first_line(error: impl std::fmt::Display) -> String {
    error
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

pub fn connect(url: &DatabaseUrl) -> Result<PgConnection, DbSetupError> {
    PgConnection::establish(&url.for_libpq()).map_err(|e| DbSetupError::Unreachable {
        target: url.host_and_port(),
        reason: first_line(e),
    })
}

/// Creates the database named in `url` when it is missing, connecting to the server's
/// `postgres` database to do so.
pub fn ensure_database(url: &DatabaseUrl) -> Result<(), DbSetupError> {
    if PgConnection::establish(&url.for_libpq()).is_ok() {
        return Ok(());
    }
    let mut admin = connect(&url.with_database("postgres"))?;
    let name = url.database_name();
    if !database_exists(&mut admin, url)? {
        admin
            .batch_execute(&format!("CREATE DATABASE {}", quote_ident(&name)))
            .map_err(|e| DbSetupError::Create {
                name: name.clone(),
                target: url.host_and_port(),
                reason: first_line(e),
            })?;
        tracing::info!(database = %name, "created database");
    }
    // The database exists now; a failure here is a real connection problem worth reporting.
    connect(url).map(|_| ())
}

/// Whether `url`'s database is on its server, asked over `admin`, a connection to another.
fn database_exists(admin: &mut PgConnection, url: &DatabaseUrl) -> Result<bool, DbSetupError> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
        "EXISTS (SELECT 1 FROM pg_database WHERE datname = {})",
        quote_literal(&url.database_name())
    )))
    .get_result(admin)
    .map_err(|e| DbSetupError::Unreachable {
        target: url.host_and_port(),
        reason: first_line(e),
    })
}

pub fn run_migrations(conn: &mut PgConnection, url: &DatabaseUrl) -> Result<usize, DbSetupError> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.len())
        .map_err(|e| DbSetupError::Migrate {
            target: url.to_string(),
            reason: first_line(e),
        })
}

/// How long one statement of a request may run, and how long it may wait for a lock, before
/// Postgres cancels it and the request answers 503 (SAFETY.md rule 19: never hang).
const STATEMENT_TIMEOUT: &str = "5s";
const LOCK_TIMEOUT: &str = "2s";
/// How long a request's transaction may sit waiting for its instance before Postgres ends the
/// session. An instance cut off mid-write would otherwise hold the directory-wide write lock
/// (`change_log::WRITE_LOCK`) until the kernel gave up on the connection, hours later, and
/// every instance's writes would fail meanwhile; its write is rolled back, not committed
/// after it answered 503. Haven's transactions never wait on anything but Postgres.
const IDLE_IN_TRANSACTION_TIMEOUT: &str = "5s";

/// Bounds every statement on a request's connection.
#[derive(Debug)]
struct RequestTimeouts;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for RequestTimeouts {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "SET statement_timeout = '{STATEMENT_TIMEOUT}'; SET lock_timeout = '{LOCK_TIMEOUT}'; \
             SET idle_in_transaction_session_timeout = '{IDLE_IN_TRANSACTION_TIMEOUT}'"
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// The pool requests are served from: at most `size` connections, a checkout waits at most
/// [`CHECKOUT_TIMEOUT`], and each statement and transaction is bounded ([`STATEMENT_TIMEOUT`],
/// [`LOCK_TIMEOUT`], [`IDLE_IN_TRANSACTION_TIMEOUT`]).
pub fn pool(url: &DatabaseUrl, size: u32) -> Result<DbPool, DbSetupError> {
    build_pool(url, size, true)
}

fn build_pool(url: &DatabaseUrl, size: u32, bounded: bool) -> Result<DbPool, DbSetupError> {
    let builder = Pool::builder()
        .max_size(size)
        .min_idle(Some(0))
        .connection_timeout(CHECKOUT_TIMEOUT)
        .test_on_check_out(true);
    let builder = if bounded {
        builder.connection_customizer(Box::new(RequestTimeouts))
    } else {
        builder
    };
    builder
        .build(ConnectionManager::new(url.for_libpq()))
        .map_err(|e| DbSetupError::Unreachable {
            target: url.host_and_port(),
            reason: first_line(e),
        })
}

/// Remembers that the request pool could not reach Postgres, so that what can do without it
/// (matching for a caller whose credentials cannot be checked) does not wait out a check-out
/// on every request during an outage, and what cannot (writes, lists) is refused at once.
///
/// After a failure Postgres counts as down until a connection is had again. For a few seconds
/// ([`OUTAGE_MEMORY`]) nothing tries; after that, requests that need Postgres try it as usual,
/// and a request that can do without it starts one background probe ([`Outage::claim_probe`])
/// instead of waiting on the pool itself.
#[derive(Debug)]
pub struct Outage {
    started: Instant,
    /// Milliseconds after `started` until which nothing should try Postgres; 0: reachable.
    until_ms: AtomicU64,
    /// Whether a background probe is under way.
    probing: AtomicBool,
}

/// How long one failure to reach Postgres spares later requests the attempt.
const OUTAGE_MEMORY: Duration = Duration::from_secs(5);

impl Outage {
    pub fn new() -> Outage {
        Outage {
            started: Instant::now(),
            until_ms: AtomicU64::new(0),
            probing: AtomicBool::new(false),
        }
    }

    /// No connection could be had, or the work on one went unanswered.
    pub fn unreachable(&self) {
        let until = self.started.elapsed() + OUTAGE_MEMORY;
        self.until_ms
            .store(until.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn reached(&self) {
        // Read first: every request passes here, and a store would bounce the line between
        // cores.
        if self.until_ms.load(Ordering::Relaxed) != 0 {
            self.until_ms.store(0, Ordering::Relaxed);
        }
    }

    /// Postgres failed within the last [`OUTAGE_MEMORY`]: nothing should try it now.
    pub fn is_recent(&self) -> bool {
        (self.started.elapsed().as_millis() as u64) < self.until_ms.load(Ordering::Relaxed)
    }

    /// Postgres failed and has not been reached since.
    pub fn is_down(&self) -> bool {
        self.until_ms.load(Ordering::Relaxed) != 0
    }

    /// When Postgres is down, its memory has lapsed and no probe is under way: the right to
    /// run one, held until the guard is dropped.
    pub fn claim_probe(self: &Arc<Self>) -> Option<Probe> {
        let due = self.is_down() && !self.is_recent();
        (due && !self.probing.swap(true, Ordering::AcqRel)).then(|| Probe(self.clone()))
    }
}

/// The one background probe of an [`Outage`] under way; another may start once it is dropped.
#[derive(Debug)]
pub struct Probe(Arc<Outage>);

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.probing.store(false, Ordering::Release);
    }
}

impl Default for Outage {
    fn default() -> Self {
        Outage::new()
    }
}

/// Creates the database if needed and applies migrations.
fn ensure_migrated(url: &DatabaseUrl) -> Result<(), DbSetupError> {
    ensure_database(url)?;
    let mut conn = connect(url)?;
    let applied = run_migrations(&mut conn, url)?;
    if applied > 0 {
        tracing::info!(applied, "applied migrations");
    }
    Ok(())
}

/// Creates the database if needed, applies migrations, and opens the pool requests are
/// served from.
pub fn prepare(url: &DatabaseUrl, pool_size: u32) -> Result<DbPool, DbSetupError> {
    ensure_migrated(url)?;
    pool(url, pool_size)
}

/// As [`prepare`], with one connection whose statements may run as long as they need: for
/// the command line's jobs (an import, a key rotation).
pub fn prepare_job(url: &DatabaseUrl) -> Result<DbPool, DbSetupError> {
    ensure_migrated(url)?;
    build_pool(url, 1, false)
}

/// As [`prepare_job`], for commands that act on a directory already there (accounts,
/// tokens, keys, checks, an import): a mistyped database name is refused, where creating it
/// would put a token, a user or a whole import in an empty database no instance serves.
pub fn prepare_existing_job(url: &DatabaseUrl) -> Result<DbPool, DbSetupError> {
    if PgConnection::establish(&url.for_libpq()).is_err()
        && !database_exists(&mut connect(&url.with_database("postgres"))?, url)?
    {
        return Err(DbSetupError::Missing {
            name: url.database_name(),
            target: url.host_and_port(),
        });
    }
    prepare_job(url)
}

pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
