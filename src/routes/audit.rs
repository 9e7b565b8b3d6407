//! `GET /api/v1/audit`: the audit trail (reveals, sealed-site refusals, service writes),
//! newest first, for admins.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::auth::Signed;
use crate::db::audit;
use crate::error::ApiError;
use crate::json::ValidQuery;
use crate::startup::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    service_id: Option<Uuid>,
    /// Only records of this action (`reveal_location` for the reveals).
    action: Option<audit::Action>,
    page: Option<i64>,
    per_page: Option<i64>,
}

pub async fn list(
    _: Signed,
    state: web::Data<AppState>,
    query: ValidQuery<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.page, query.per_page)?;
    let filter = audit::ListFilter {
        service_id: query.service_id,
        action: query.action,
    };
    let (rows, total) = state
        .db(move |conn| Ok(audit::list(conn, filter, page.offset(), page.per_page)?))
        .await?;
    Ok(HttpResponse::Ok().json(Page::new(rows, page, total)))
}
