//! `POST /api/v1/match`: who can help, here, with these needs. Open to anonymous callers, whose
//! coordinates are snapped to a coarse grid before use; signed-in staff match exactly. The
//! answer comes from the in-memory snapshot only.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::Utc;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::ValidJson;
use crate::matching::Snapshot;
use crate::matching::query::{MatchQuery, MatchRequest, QueryContext};
use crate::matching::regions::RegionLocator;
use crate::startup::AppState;
use crate::zips::ZipCentroids;

/// Room for a typical answer (20 results and the hotlines) up front.
const RESPONSE_CAPACITY: usize = 32 * 1024;

pub async fn find(
    caller: Caller,
    state: web::Data<AppState>,
    body: ValidJson<MatchRequest>,
) -> Result<HttpResponse, ApiError> {
    // Signed-in staff match on exact coordinates. When Postgres cannot confirm a token, the gate
    // serves the caller as anonymous rather than not at all.
    let exact = caller.0.is_some();
    let (snapshot, query) = prepare(&state, body.0, exact)?;
    // A full answer is some 20 KB; growing the buffer from empty copies it several times.
    let mut body = Vec::with_capacity(RESPONSE_CAPACITY);
    snapshot.answer_json(
        &query,
        RegionLocator::bundled(),
        state.boundaries,
        &mut body,
    );
    Ok(HttpResponse::Ok()
        .insert_header(("X-Index-Version", snapshot.version.to_string()))
        .insert_header(header::ContentType::json())
        .body(body))
}

/// Parses a match request against the current snapshot: what the JSON API and the pages share.
/// The caller runs [`Snapshot::find`] on the result.
pub fn prepare(
    state: &AppState,
    request: MatchRequest,
    exact: bool,
) -> Result<(Arc<Snapshot>, MatchQuery), ApiError> {
    if !state.live.is_ready() {
        return Err(ApiError::IndexLoading);
    }
    let ctx = QueryContext {
        zips: ZipCentroids::bundled(),
        boundaries: state.boundaries,
        cell_km: state.cell_km,
    };
    let query = MatchQuery::parse(request, &ctx, exact, Utc::now())?;
    Ok((state.live.snapshot(), query))
}
