//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use diesel::RunQueryDsl;
use serde_json::json;

use crate::error::ApiError;
use crate::startup::AppState;

/// 200 while the process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// How long `/readyz` waits for Postgres to answer.
const READY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// 200 only when Postgres answers and the matching index is loaded and following changes;
/// otherwise 503 with `Retry-After`.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if !state.live.is_ready() {
        return Err(ApiError::IndexLoading);
    }
    // Matching still answers, but changes may not be reaching it: a load balancer should
    // prefer an instance that is following.
    if state.live.is_stalled() {
        return Err(ApiError::Unavailable(anyhow::anyhow!(
            "the matching index has not heard from its follower: changes may not reach it"
        )));
    }
    // A probe gives up sooner than a request: load balancers wait a few seconds at most,
    // and a Postgres that hangs would otherwise be a probe that times out, not a 503.
    state
        .db_within(READY_DEADLINE, |conn| {
            diesel::sql_query("SELECT 1")
                .execute(conn)
                .map_err(|e| ApiError::Unavailable(e.into()))?;
            Ok(())
        })
        .await?;
    let snapshot = state.live.snapshot();
    Ok(HttpResponse::Ok().json(json!({
        "status": "ready",
        "database": "ok",
        "index": {"services": snapshot.len(), "version": snapshot.version},
    })))
}
