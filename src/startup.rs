//! Builds the HTTP application, the same way for `haven serve` and for the tests.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use diesel::PgConnection;

use crate::boundaries::Boundaries;
use crate::config::Settings;
use crate::crypto::DataKey;
use crate::db::DbPool;
use crate::error::ApiError;
use crate::matching::live::{self, LiveIndex};
use crate::{routes, telemetry};

/// What every handler can reach.
pub struct AppState {
    pub pool: DbPool,
    pub boundaries: &'static Boundaries,
    pub data_key: DataKey,
    pub live: Arc<LiveIndex>,
    /// Coarse grid size (km) for anonymous coordinates and confidential services.
    pub cell_km: f64,
}

impl AppState {
    /// Runs `work` with a pooled connection on the blocking thread pool. A connection that
    /// cannot be had in time is a 503, not a hang.
    pub async fn db<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await?
    }
}

pub struct Application {
    port: u16,
    server: Server,
    live: Arc<LiveIndex>,
}

impl Application {
    /// Binds the listener now (so the port is known) and builds the server; `run` serves.
    pub fn build(settings: &Settings, pool: DbPool) -> std::io::Result<Application> {
        let listener = TcpListener::bind(&settings.bind)?;
        let port = listener.local_addr()?.port();
        let boundaries = Boundaries::bundled();
        let live = LiveIndex::new();
        live::follow(live.clone(), settings.database_url.clone(), boundaries)?;
        let state = web::Data::new(AppState {
            pool,
            boundaries,
            data_key: settings.data_key.clone(),
            live: live.clone(),
            cell_km: settings.cell_km,
        });
        let server = HttpServer::new(move || {
            App::new()
                .wrap(
                    // Nothing Haven answers may be cached or leak where it was read from.
                    actix_web::middleware::DefaultHeaders::new()
                        .add(("Cache-Control", "no-store"))
                        .add(("Referrer-Policy", "no-referrer"))
                        .add(("X-Content-Type-Options", "nosniff")),
                )
                .wrap(actix_web::middleware::from_fn(telemetry::log_request))
                .app_data(state.clone())
                .configure(routes::router)
        })
        .workers(settings.workers)
        .listen(listener)?
        .run();
        Ok(Application { port, server, live })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// This instance's matching index (tests stop its follower when they are done).
    pub fn live(&self) -> Arc<LiveIndex> {
        self.live.clone()
    }

    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}
