//! Builds the HTTP application, the same way for `haven serve` and for the tests.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use diesel::PgConnection;

use crate::boundaries::Boundaries;
use crate::config::Settings;
use crate::crypto::DataKey;
use crate::db::DbPool;
use crate::error::ApiError;
use crate::{routes, telemetry};

/// What every handler can reach.
pub struct AppState {
    pub pool: DbPool,
    pub boundaries: &'static Boundaries,
    pub data_key: DataKey,
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
}

impl Application {
    /// Binds the listener now (so the port is known) and builds the server; `run` serves.
    pub fn build(settings: &Settings, pool: DbPool) -> std::io::Result<Application> {
        let listener = TcpListener::bind(&settings.bind)?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState {
            pool,
            boundaries: Boundaries::bundled(),
            data_key: settings.data_key.clone(),
        });
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(telemetry::log_request))
                .app_data(state.clone())
                .configure(routes::router)
        })
        .workers(settings.workers)
        .listen(listener)?
        .run();
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run(self) -> std::io::Result<()> {
        self.server.await
    }
}
