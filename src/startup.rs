//! Builds the HTTP application, the same way for `haven serve` and for the tests.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};
use diesel::{PgConnection, RunQueryDsl};

use crate::auth::Role;
use crate::boundaries::Boundaries;
use crate::client_ip::TrustedProxies;
use crate::config::Settings;
use crate::crypto::LiveKeys;
use crate::db::{DbPool, Outage};
use crate::error::ApiError;
use crate::matching::live::{self, Follower, LiveIndex};
use crate::throttle::Throttles;
use crate::{routes, telemetry};

/// Everything a page may load comes from Haven itself; nothing may frame it, and forms post
/// only back to it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

/// What every handler can reach.
pub struct AppState {
    pub pool: DbPool,
    /// Whether the pool has just failed to reach Postgres.
    pub outage: Arc<Outage>,
    pub boundaries: &'static Boundaries,
    pub data_key: LiveKeys,
    pub live: Arc<LiveIndex>,
    /// Coarse grid size (km) for anonymous coordinates and confidential services.
    pub cell_km: f64,
    pub throttles: Throttles,
    pub reveal_roles: Vec<Role>,
    pub quick_exit_url: String,
    pub trusted_proxies: TrustedProxies,
    /// Keys of survivor searches already answered (see `web::spent`).
    pub spent_searches: crate::web::spent::SpentSearches,
}

impl AppState {
    /// The client's address for rate limits (see `client_ip`).
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> Option<std::net::IpAddr> {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        self.trusted_proxies
            .client_ip(req.peer_addr().map(|a| a.ip()), forwarded)
    }

    /// Runs `work` with a pooled connection on the blocking thread pool. A connection that
    /// cannot be had in time, or work that outlasts [`DB_DEADLINE`], is a 503, not a hang.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
    {
        self.db_within(DB_DEADLINE, work).await
    }

    /// As [`Self::db`], with a shorter `deadline` for work a request can do without.
    pub async fn db_within<T, F>(&self, deadline: Duration, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let outage = self.outage.clone();
        let work = web::block(move || {
            let mut conn = pool.get().inspect_err(|_| outage.unreachable())?;
            outage.reached();
            work(&mut conn)
        });
        match tokio::time::timeout(deadline, work).await {
            Ok(done) => done?,
            // The blocking thread stays with its connection until the socket gives up; the
            // caller is answered now. A write's outcome is then unknown: a retry with the
            // same Idempotency-Key settles it.
            Err(_) => {
                self.outage.unreachable();
                Err(ApiError::Unavailable(anyhow::anyhow!(
                    "database work outlasted its {deadline:?} deadline"
                )))
            }
        }
    }
}

/// While Postgres is down and its memory has lapsed (see [`Outage`]), checks in the
/// background whether it is back, so that no request waits on the pool to find out.
pub fn probe_if_due(state: &web::Data<AppState>) {
    let Some(probe) = state.outage.claim_probe() else {
        return;
    };
    let state = state.clone();
    actix_web::rt::spawn(async move {
        // Reaching Postgres, or failing to, updates the outage record: the answer is not
        // needed.
        let _ = state
            .db(|conn| Ok(diesel::sql_query("SELECT 1").execute(conn)?))
            .await;
        drop(probe);
    });
}

/// How long a request's database work may take in all before it answers 503 (SAFETY.md rule
/// 19). Postgres itself cancels a statement after 5 s and a lock wait after 2 s (`db::pool`);
/// this bounds what Postgres cannot see: a connection whose network went silent, where a
/// statement or the pool's check-out test would otherwise wait for TCP to give up, for many
/// minutes. Longer than a check-out plus one cancelled statement, so that Postgres, which
/// rolls back cleanly, answers first whenever it can.
pub const DB_DEADLINE: Duration = Duration::from_secs(9);

/// How long a stopping instance waits for its index follower and its workers to let go of
/// their database connections.
const RELEASE_WAIT: Duration = Duration::from_secs(5);

pub struct Application {
    port: u16,
    server: Server,
    follower: Follower,
    state: web::Data<AppState>,
}

impl Application {
    /// Binds the listener now (so the port is known) and builds the server; `run` serves.
    pub fn build(settings: &Settings, pool: DbPool) -> std::io::Result<Application> {
        let listener = TcpListener::bind(&settings.bind)?;
        let port = listener.local_addr()?.port();
        let boundaries = Boundaries::bundled();
        let live = LiveIndex::new();
        let follower = live::follow(
            live.clone(),
            settings.database_url.clone(),
            boundaries,
            settings.data_key.clone(),
        )?;
        let state = web::Data::new(AppState {
            pool,
            outage: Arc::default(),
            boundaries,
            data_key: settings.data_key.clone(),
            live,
            cell_km: settings.cell_km,
            throttles: Throttles::new(settings.rate_limit_per_minute)
                .map_err(|e| std::io::Error::other(format!("no randomness available: {e}")))?,
            reveal_roles: settings.reveal_roles.clone(),
            quick_exit_url: settings.quick_exit_url.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
            spent_searches: Default::default(),
        });
        let shared = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                // Innermost: who is calling and whether the route lets them (routes::gate).
                .wrap(actix_web::middleware::from_fn(routes::gate))
                .wrap(
                    // Nothing Haven answers may be cached, framed, or leak where it was read
                    // from; pages may load only what Haven itself serves (SAFETY.md rule 8).
                    actix_web::middleware::DefaultHeaders::new()
                        .add(("Cache-Control", "no-store"))
                        .add(("Referrer-Policy", "no-referrer"))
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("X-Frame-Options", "DENY"))
                        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY)),
                )
                .wrap(actix_web::middleware::from_fn(telemetry::log_request))
                .app_data(shared.clone())
                .configure(routes::router)
        })
        .workers(settings.workers)
        .listen(listener)?
        .run();
        Ok(Application {
            port,
            server,
            follower,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// This instance's matching index.
    pub fn live(&self) -> Arc<LiveIndex> {
        self.state.live.clone()
    }

    /// Stops the server from elsewhere (tests stop every instance they start).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves on this thread until stopped (SIGTERM, SIGINT or [`Self::handle`]), then closes
    /// every database connection the instance holds before returning.
    pub fn serve(self) -> std::io::Result<()> {
        let served = actix_web::rt::System::new().block_on(self.server);
        release_connections(self.follower, self.state);
        served
    }
}

/// The process must not exit while another thread opens, uses or closes a database connection:
/// libpq's TLS and Kerberos libraries tear their state down at exit, and such a thread then
/// crashes the process (a test run died of SIGSEGV after every test had passed). So a stopped
/// instance ends its follower and closes its pool here, on the serving thread.
fn release_connections(follower: Follower, state: web::Data<AppState>) {
    if !follower.stop(RELEASE_WAIT) {
        tracing::warn!("the index follower was still busy when the server stopped");
    }
    // Each worker drops its copy of the state as its thread ends; the last copy, this one,
    // closes the pool's connections as it goes.
    let state = state.into_inner();
    let until = Instant::now() + RELEASE_WAIT;
    while Arc::strong_count(&state) > 1 {
        if Instant::now() >= until {
            tracing::warn!("a worker still held the connection pool when the server stopped");
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
