//! `GET /api/v1/regions?q=alameda`: region codes for coverage, found by name (public).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::boundaries::RegionKind;
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::startup::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RegionQuery {
    q: String,
    limit: Option<usize>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct RegionResponse<'a> {
    code: &'a str,
    kind: RegionKind,
    name: &'a str,
    state: Option<&'a str>,
    label: String,
}

const MAX_LIMIT: usize = 50;

pub async fn search(
    state: web::Data<AppState>,
    query: web::Query<RegionQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.q.trim();
    if q.is_empty() || q.chars().count() > 100 {
        return Err(
            FieldError::invalid("q", "give 1 to 100 characters of a state or county name").into(),
        );
    }
    let limit = query.limit.unwrap_or(20);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(
            FieldError::invalid("limit", format!("must be between 1 and {MAX_LIMIT}")).into(),
        );
    }
    let data: Vec<_> = state
        .boundaries
        .search(q, limit)
        .into_iter()
        .map(|r| RegionResponse {
            code: &r.code,
            kind: r.kind,
            name: &r.name,
            state: r.state.as_deref(),
            label: r.label(),
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"data": data})))
}
