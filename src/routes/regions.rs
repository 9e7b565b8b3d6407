//! Regions (US states and counties) for coverage and searches, open to anyone.
//!
//! `GET /api/v1/regions` lists them a page at a time; `POST /api/v1/regions/search` finds them
//! by name. The name a person types may be where they are, so it travels in a body, never in a
//! URL, where proxies, logs and browser history keep it (SAFETY rule 5).

use std::fmt;

use actix_web::{HttpResponse, web};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use crate::boundaries::{Region, RegionKind};
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::json::{ValidJson, ValidQuery};
use crate::startup::AppState;

use super::{Page, PageRequest};

/// `?page=&per_page=`, and `q` only to say where a name search belongs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionListQuery {
    page: Option<i64>,
    per_page: Option<i64>,
    q: Option<IgnoredAny>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"q": "Alameda County, CA", "limit": 5})))]
pub struct RegionSearch {
    /// A state or county name, or a region code ("alameda", "Harris County, TX", "US-06001").
    #[schema(min_length = 1, max_length = 100)]
    q: String,
    /// At most this many regions (default 20).
    #[schema(minimum = 1, maximum = 50)]
    limit: Option<usize>,
}

/// The name searched for may be where the person is: never printed.
impl fmt::Debug for RegionSearch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegionSearch")
            .field("q", &"[redacted]")
            .field("limit", &self.limit)
            .finish()
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct RegionResponse<'a> {
    code: &'a str,
    kind: RegionKind,
    name: &'a str,
    state: Option<&'a str>,
    label: String,
}

impl<'a> From<&'a Region> for RegionResponse<'a> {
    fn from(r: &'a Region) -> Self {
        RegionResponse {
            code: &r.code,
            kind: r.kind,
            name: &r.name,
            state: r.state.as_deref(),
            label: r.label(),
        }
    }
}

const MAX_LIMIT: usize = 50;
const DEFAULT_LIMIT: usize = 20;

/// Every state and county, in code order, a page at a time.
pub async fn list(
    state: web::Data<AppState>,
    query: ValidQuery<RegionListQuery>,
) -> Result<HttpResponse, ApiError> {
    if query.q.is_some() {
        return Err(FieldError::invalid(
            "q",
            "search by name with POST /api/v1/regions/search and {\"q\": ...}: \
             a place name in a URL stays in logs and browser history",
        )
        .into());
    }
    let page = PageRequest::parse(query.page, query.per_page)?;
    let mut regions: Vec<&Region> = state
        .boundaries
        .regions()
        .iter()
        .filter(|r| r.kind != RegionKind::Nation)
        .collect();
    regions.sort_unstable_by(|a, b| a.code.cmp(&b.code));
    let total = regions.len() as i64;
    let data = regions
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(page.per_page as usize)
        .map(RegionResponse::from)
        .collect();
    Ok(HttpResponse::Ok().json(Page::new(data, page, total)))
}

/// States and counties whose name (or code) matches, best first.
pub async fn search(
    state: web::Data<AppState>,
    body: ValidJson<RegionSearch>,
) -> Result<HttpResponse, ApiError> {
    let RegionSearch { q, limit } = body.0;
    let q = q.trim();
    if q.is_empty() || q.chars().count() > 100 {
        return Err(
            FieldError::invalid("q", "give 1 to 100 characters of a state or county name").into(),
        );
    }
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(
            FieldError::invalid("limit", format!("must be between 1 and {MAX_LIMIT}")).into(),
        );
    }
    let data: Vec<RegionResponse> = state
        .boundaries
        .search(q, limit)
        .into_iter()
        .map(RegionResponse::from)
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"data": data})))
}
