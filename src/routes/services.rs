//! `/api/v1/services`: what organizations offer (admin). Confidential locations are shown only
//! as their front door (city, region, country); street and coordinates never leave here.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveTime, Utc};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{Page, PageRequest};
use crate::auth::Admin;
use crate::db::organizations;
use crate::db::services::{self, LocationRow, ServiceRecord};
use crate::domain::FieldError;
use crate::domain::eligibility::Eligibility;
use crate::domain::phone::PhoneKind;
use crate::domain::schedule::day_code;
use crate::domain::service::{NewService, ServiceInput};
use crate::error::ApiError;
use crate::json::{GEOMETRY_LIMIT, ValidJson};
use crate::startup::AppState;

#[derive(Debug, Serialize)]
pub struct ServiceResponse {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub needs: Vec<String>,
    pub eligibility: Eligibility,
    pub languages: Vec<String>,
    pub phones: Vec<PhoneResponse>,
    pub location: Option<LocationResponse>,
    pub coverage: Vec<Value>,
    pub schedules: Vec<ScheduleResponse>,
    pub capacity: Option<CapacityResponse>,
    pub verified_at: Option<DateTime<Utc>>,
    pub demo: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
pub struct PhoneResponse {
    pub number: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub label: Option<String>,
    pub available_24_7: bool,
    pub languages: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ScheduleResponse {
    pub days: Vec<&'static str>,
    pub opens_at: String,
    pub closes_at: String,
    pub timezone: String,
}

#[derive(Debug, Serialize)]
pub struct CapacityResponse {
    pub available: i32,
    pub total: i32,
    pub reported_at: DateTime<Utc>,
}

/// A location as the directory shows it. For a confidential site only the front door.
#[derive(Debug, Serialize)]
pub struct LocationResponse {
    pub confidential: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    pub address: AddressResponse,
}

#[derive(Debug, Serialize)]
pub struct AddressResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

fn flatten<T>(values: Vec<Option<T>>) -> Vec<T> {
    values.into_iter().flatten().collect()
}

fn time(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

impl From<LocationRow> for LocationResponse {
    fn from(row: LocationRow) -> Self {
        // Confidential rows hold no street or coordinates in clear; skipping them here as well
        // keeps this response safe even if that ever changed.
        let public = !row.confidential;
        LocationResponse {
            confidential: row.confidential,
            lat: row.lat.filter(|_| public),
            lon: row.lon.filter(|_| public),
            address: AddressResponse {
                street: row.street.filter(|_| public),
                city: row.city,
                region: row.region,
                postal_code: row.postal_code.filter(|_| public),
                country: row.country,
            },
        }
    }
}

impl From<ServiceRecord> for ServiceResponse {
    fn from(record: ServiceRecord) -> Self {
        let s = record.service;
        let eligibility = s.eligibility();
        let capacity = s
            .capacity()
            .map(|(available, total, reported_at)| CapacityResponse {
                available,
                total,
                reported_at,
            });
        ServiceResponse {
            id: s.id,
            organization_id: s.organization_id,
            name: s.name,
            description: s.description,
            needs: record.needs,
            eligibility,
            languages: flatten(s.languages),
            phones: record
                .phones
                .into_iter()
                .map(|p| PhoneResponse {
                    number: p.number,
                    kind: PhoneKind::from_code(&p.kind)
                        .map_or("voice", PhoneKind::code)
                        .to_string(),
                    label: p.label,
                    available_24_7: p.available_24_7,
                    languages: flatten(p.languages),
                })
                .collect(),
            location: record.location.map(LocationResponse::from),
            coverage: record.coverage.into_iter().map(|c| c.spec).collect(),
            schedules: record
                .schedules
                .into_iter()
                .map(|sc| ScheduleResponse {
                    days: sc.weekdays.into_iter().flatten().map(day_code).collect(),
                    opens_at: time(sc.opens_at),
                    closes_at: time(sc.closes_at),
                    timezone: sc.timezone,
                })
                .collect(),
            capacity,
            verified_at: s.verified_at,
            demo: s.demo,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

fn unknown_organization() -> ApiError {
    FieldError::new(
        "unknown_organization",
        "organization_id",
        "no organization has this id",
    )
    .into()
}

/// Writes a parsed service (new or replacing `id`) in one transaction and reads it back.
async fn write(
    state: web::Data<AppState>,
    id: Uuid,
    new: NewService,
    replace: bool,
) -> Result<ServiceResponse, ApiError> {
    let key = state.data_key.clone();
    let boundaries = state.boundaries;
    let record = state
        .db(move |conn| {
            conn.transaction(|conn| {
                if replace && !services::exists(conn, id)? {
                    return Err(ApiError::NotFound);
                }
                let org = organizations::find_for_update(conn, new.organization_id)?
                    .ok_or_else(unknown_organization)?;
                if replace {
                    services::replace(conn, id, &new, org.demo, &key, boundaries)?;
                } else {
                    services::insert(conn, id, &new, org.demo, &key, boundaries)?;
                }
                services::find(conn, id)?.ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("service {id} vanished after write"))
                })
            })
        })
        .await?;
    Ok(ServiceResponse::from(record))
}

pub async fn create(
    _: Admin,
    state: web::Data<AppState>,
    body: ValidJson<ServiceInput, GEOMETRY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    let new = NewService::parse(body.0, state.boundaries, Utc::now())?;
    let id = Uuid::new_v4();
    let response = write(state, id, new, false).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/services/{id}")))
        .json(response))
}

pub async fn replace(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ValidJson<ServiceInput, GEOMETRY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    let new = NewService::parse(body.0, state.boundaries, Utc::now())?;
    let response = write(state, id.into_inner(), new, true).await?;
    Ok(HttpResponse::Ok().json(response))
}

pub async fn get(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let record = state.db(move |conn| Ok(services::find(conn, id)?)).await?;
    let record = record.ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(ServiceResponse::from(record)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceListQuery {
    organization_id: Option<Uuid>,
    page: Option<i64>,
    per_page: Option<i64>,
}

pub async fn list(
    _: Admin,
    state: web::Data<AppState>,
    query: web::Query<ServiceListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.page, query.per_page)?;
    let organization_id = query.organization_id;
    let (records, total) = state
        .db(move |conn| {
            Ok(services::list(
                conn,
                organization_id,
                page.offset(),
                page.per_page,
            )?)
        })
        .await?;
    let data = records.into_iter().map(ServiceResponse::from).collect();
    Ok(HttpResponse::Ok().json(Page::new(data, page, total)))
}

pub async fn delete(
    _: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let deleted = state
        .db(move |conn| conn.transaction(|conn| Ok(services::delete(conn, id)?)))
        .await?;
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound)
    }
}
