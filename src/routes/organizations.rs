//! `/api/v1/organizations`: the agencies that run services. Admins maintain them; staff read
//! them; a provider sees only its own (others answer 404, as if absent).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::Connection;
use serde::Serialize;
use uuid::Uuid;

use super::{Page, PageQuery, PageRequest};
use crate::auth::Signed;
use crate::db::organizations::{self, OrganizationRow};
use crate::domain::organization::{
    NewOrganization, OrganizationInput, OrganizationPatch, OrganizationPatchInput,
};
use crate::error::ApiError;
use crate::json::{ValidJson, ValidQuery};
use crate::routes::idempotency::{CreateJson, Created, IdempotencyKey, create_once};
use crate::startup::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrganizationResponse {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub website: Option<String>,
    pub email: Option<String>,
    pub demo: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<OrganizationRow> for OrganizationResponse {
    fn from(row: OrganizationRow) -> Self {
        OrganizationResponse {
            id: row.id,
            name: row.name,
            description: row.description,
            website: row.website,
            email: row.email,
            demo: row.demo,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// `POST /api/v1/organizations`; with an `Idempotency-Key`, a retry gets the first answer.
pub async fn create(
    _: Signed,
    state: web::Data<AppState>,
    body: CreateJson<OrganizationInput>,
) -> Result<HttpResponse, ApiError> {
    let CreateJson { body, key } = body;
    let new = NewOrganization::parse(body, false)?;
    Ok(insert_once(&state, new, key).await?.into_response())
}

/// Creates an organization, once per idempotency key (the API's header, a console form's).
pub async fn insert_once(
    state: &AppState,
    new: NewOrganization,
    key: Option<IdempotencyKey>,
) -> Result<Created, ApiError> {
    state
        .db(move |conn| {
            create_once(conn, key.as_ref(), |conn| {
                let row = organizations::insert(conn, Uuid::new_v4(), &new)?;
                Ok((
                    format!("/api/v1/organizations/{}", row.id),
                    OrganizationResponse::from(row),
                ))
            })
        })
        .await
}

pub async fn get(
    Signed(caller): Signed,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let only = caller.scope().organization();
    let row = state
        .db(move |conn| Ok(organizations::find_visible(conn, id, only)?))
        .await?;
    let row = row.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(row)))
}

pub async fn list(
    Signed(caller): Signed,
    state: web::Data<AppState>,
    query: ValidQuery<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.page, query.per_page)?;
    let only = caller.scope().organization();
    let (rows, total) = state
        .db(move |conn| {
            Ok(organizations::list(
                conn,
                only,
                page.offset(),
                page.per_page,
            )?)
        })
        .await?;
    let data = rows.into_iter().map(OrganizationResponse::from).collect();
    Ok(HttpResponse::Ok().json(Page::new(data, page, total)))
}

pub async fn update(
    _: Signed,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ValidJson<OrganizationPatchInput>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let patch = OrganizationPatch::parse(body.0)?;
    let row = state
        .db(move |conn| conn.transaction(|conn| Ok(organizations::update(conn, id, &patch)?)))
        .await?;
    let row = row.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(row)))
}

/// An organization that still has services is not deleted (409): services go first, each a
/// deliberate act, rather than vanishing from the directory along with it.
pub async fn delete(
    _: Signed,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db(move |conn| {
            conn.transaction(|conn| {
                if organizations::find_for_update(conn, id)?.is_none() {
                    return Err(ApiError::NotFound);
                }
                let services = organizations::count_services(conn, id)?;
                if services > 0 {
                    return Err(ApiError::Conflict(format!(
                        "the organization still has {services} service(s); delete them first"
                    )));
                }
                // Accounts are disabled, never deleted, so that the audit trail keeps its actors.
                let users = organizations::count_users(conn, id)?;
                if users > 0 {
                    return Err(ApiError::Conflict(format!(
                        "the organization has {users} user account(s); it cannot be deleted"
                    )));
                }
                organizations::delete(conn, id)?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
