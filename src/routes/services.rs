//! `/api/v1/services`: what organizations offer. Admins maintain every service, providers their
//! own organization's; staff read them. Confidential locations are shown only as their front
//! door (city, region, country); street and coordinates leave only through an audited reveal.

use actix_web::http::header::{self, EntityTag};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveTime, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::service_changes::Changes;
use super::{Page, PageRequest};
use crate::auth::{Principal, Role, Signed};
use crate::boundaries::Boundaries;
use crate::crypto::{DataKey, DataKeys};
use crate::db::services::{self, LocationRow, ServiceRecord};
use crate::db::{audit, organizations};
use crate::domain::Coordinates;
use crate::domain::coverage::Coverage;
use crate::domain::eligibility::Eligibility;
use crate::domain::phone::PhoneKind;
use crate::domain::schedule::day_code;
use crate::domain::service::{
    CapacityInput, FrontDoor, NewService, REVEALS_CONFIDENTIAL_LOCATION, ServiceInput,
    ServicePatch, ServicePatchInput, ServiceStatus, draws_nothing_new, has_front_door,
    input_from_read, keeps_kept_site_hidden, keeps_maintainers_part, stays_with_its_staff,
};
use crate::domain::{FieldError, TURNS_TEXT, shows_nothing, turns_any};
use crate::error::ApiError;
use crate::json::{GEOMETRY_LIMIT, Strict, ValidJson, ValidQuery};
use crate::routes::idempotency::{CreateJson, Created, IdempotencyKey, create_once};
use crate::startup::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServiceResponse {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    #[schema(value_type = Vec<crate::domain::Need>)]
    pub needs: Vec<String>,
    pub eligibility: Eligibility,
    #[schema(value_type = Vec<crate::domain::language::LanguageCode>)]
    pub languages: Vec<String>,
    pub phones: Vec<PhoneResponse>,
    pub location: Option<LocationResponse>,
    #[schema(schema_with = crate::openapi::coverage_list)]
    pub coverage: Vec<Value>,
    pub schedules: Vec<ScheduleResponse>,
    pub capacity: Option<CapacityResponse>,
    pub verified_at: Option<DateTime<Utc>>,
    pub status: ServiceStatus,
    pub demo: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhoneResponse {
    pub number: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub label: Option<String>,
    pub keyword: Option<String>,
    pub available_24_7: bool,
    pub languages: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleResponse {
    pub days: Vec<&'static str>,
    pub opens_at: String,
    pub closes_at: String,
    pub timezone: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CapacityResponse {
    pub available: i32,
    pub total: i32,
    pub reported_at: DateTime<Utc>,
}

/// A location as the directory shows it. For a confidential site only the front door.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LocationResponse {
    pub confidential: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    pub address: AddressResponse,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
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
        let status = s.status();
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
                    keyword: p.keyword,
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
            status,
            demo: s.demo,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

pub fn unknown_organization() -> ApiError {
    FieldError::new(
        "unknown_organization",
        "organization_id",
        "no organization has this id",
    )
    .into()
}

/// How a write treats the service's location when the new body gives none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissingLocation {
    /// The service has no location (the API: `PUT` replaces the whole service), unless the
    /// stored one is confidential: no read shows a sealed address, so no client could send
    /// it back, and a replacement that left it out would delete a shelter's front door.
    Remove,
    /// Keep the stored one (the console: a sealed address cannot be shown for editing).
    Keep,
    /// Keep the stored one, which must be confidential, with this front door: the body sent
    /// it as a read shows a sealed location, without coordinates.
    KeepSealed(FrontDoor),
}

/// A service's version: when it was last written, to the microsecond. Its `ETag`, and the
/// console editor's hidden field.
pub fn version_of(updated_at: DateTime<Utc>) -> String {
    updated_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A service read or written, answered with its version as a strong `ETag`.
fn answer(record: ServiceRecord) -> HttpResponse {
    let etag = EntityTag::new_strong(version_of(record.service.updated_at));
    HttpResponse::Ok()
        .insert_header(header::ETag(etag))
        .json(ServiceResponse::from(record))
}

/// A write's `If-Match`: the versions (`ETag`s) the writer read, one of which the service
/// must still be at, checked with it locked (412 otherwise), so that a `PUT` made from an
/// old read does not put back phones or beds changed since. Absent: no condition.
fn if_match(req: &HttpRequest) -> Result<Option<Unchanged>, ApiError> {
    let malformed = || {
        ApiError::BadRequest(
            "If-Match must be \"*\" alone, or ETags a read of the service answered, in double quotes and separated by commas".into(),
        )
    };
    // Fields given more than once are one list (RFC 9110, 5.3); actix's own reading skips
    // items it cannot read and takes a first "*" for the whole header.
    let mut items = Vec::new();
    for field in req.headers().get_all(header::IF_MATCH) {
        let text = field.to_str().map_err(|_| malformed())?;
        items.extend(
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty()),
        );
    }
    if items.is_empty() {
        return if req.headers().contains_key(header::IF_MATCH) {
            Err(malformed())
        } else {
            Ok(None)
        };
    }
    if items == ["*"] {
        return Ok(None);
    }
    let read = items
        .iter()
        .map(|item| item.parse::<EntityTag>().map_err(|_| malformed()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Box::new(move |stored: &ServiceRecord| {
        let now = EntityTag::new_strong(version_of(stored.service.updated_at));
        if read.iter().any(|tag| tag.strong_eq(&now)) {
            return Ok(());
        }
        Err(ApiError::PreconditionFailed(format!(
            "the service was written after the version you sent (it is now at {}): read it again and make your change to what it holds now",
            now.tag()
        )))
    })))
}

/// Replaces service `id` with a parsed service in one transaction and reads it back. For a
/// provider, the service replaced and the organization named must both be their own, or they
/// answer as if they did not exist. The replacement is made only if the stored service is
/// still as `unchanged` requires.
pub async fn write(
    state: &AppState,
    caller: &Principal,
    id: Uuid,
    new: NewService,
    missing_location: MissingLocation,
    unchanged: Option<Unchanged>,
) -> Result<ServiceRecord, ApiError> {
    let live = state.data_key.clone();
    let boundaries = state.boundaries;
    let replacing = Replacing {
        by: caller.clone(),
        id,
        missing_location,
        unchanged,
    };
    state
        .db(move |conn| {
            let keys = services::keys_to_write(&live, conn, new.seals()).map_err(keys_not_taken)?;
            conn.transaction(|conn| replace_in(conn, &keys, boundaries, replacing, &new))
        })
        .await
}

/// Records `action` on service `id` by `by` in the audit trail (a write's record in the
/// write's transaction): who, and `what` (for a write, see [`Changes`]).
fn record_write(
    conn: &mut PgConnection,
    by: &Principal,
    action: audit::Action,
    id: Uuid,
    what: &str,
) -> Result<(), ApiError> {
    audit::record(conn, &audit::AuditInsertForm::by(by, action, id, what))?;
    Ok(())
}

/// The organization a service is written for, locked against deletion until the write
/// commits: for providers (`only`) it must be their own.
fn organization_for(
    conn: &mut PgConnection,
    only: Option<Uuid>,
    new: &NewService,
) -> Result<organizations::OrganizationRow, ApiError> {
    organizations::find_for_update(conn, new.organization_id)?
        .filter(|org| only.is_none_or(|own| own == org.id))
        .ok_or_else(unknown_organization)
}

fn read_back(conn: &mut PgConnection, id: Uuid) -> Result<ServiceRecord, ApiError> {
    services::find(conn, id)?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("service {id} vanished after write")))
}

/// Inserts a new service by `by` in the caller's transaction and reads it back.
fn insert_in(
    conn: &mut PgConnection,
    key: &DataKey,
    boundaries: &Boundaries,
    by: &Principal,
    id: Uuid,
    new: &NewService,
) -> Result<ServiceRecord, ApiError> {
    let only = by.scope().organization();
    let org = organization_for(conn, only, new)?;
    if only.is_some() {
        keeps_maintainers_part(new, &[], None)?;
    }
    services::insert(conn, id, new, org.demo, key, boundaries)?;
    let created = read_back(conn, id)?;
    record_write(conn, by, audit::Action::ServiceCreated, id, "created")?;
    Ok(created)
}

/// Which service a replacement is for, by whom, and on what terms.
struct Replacing {
    by: Principal,
    id: Uuid,
    missing_location: MissingLocation,
    unchanged: Option<Unchanged>,
}

/// Replaces a service in the caller's transaction and reads it back. A sealed site kept (the
/// console cannot show it for editing) is opened to check the new coverage against it.
fn replace_in(
    conn: &mut PgConnection,
    keys: &DataKeys,
    boundaries: &Boundaries,
    replacing: Replacing,
    new: &NewService,
) -> Result<ServiceRecord, ApiError> {
    let Replacing {
        by,
        id,
        missing_location,
        unchanged,
    } = replacing;
    let only = by.scope().organization();
    let Some(stored_org) = services::lock_visible(conn, id, only)? else {
        return Err(ApiError::NotFound);
    };
    let before = services::find(conn, id)?.ok_or(ApiError::NotFound)?;
    if let Some(unchanged) = unchanged {
        unchanged(&before)?;
    }
    let org = organization_for(conn, only, new)?;
    let kept = match (missing_location, &new.location) {
        (MissingLocation::Keep, None) => services::location_of(conn, id)?,
        (MissingLocation::Remove, None) => {
            services::location_of(conn, id)?.filter(|row| row.confidential)
        }
        (MissingLocation::KeepSealed(sent), None) => {
            let Some(sealed) = services::location_of(conn, id)?.filter(|row| row.confidential)
            else {
                return Err(FieldError::invalid(
                    "location.lat",
                    "is required: a location without coordinates stands only for a confidential one already stored, which this service does not have",
                )
                .into());
            };
            sent.is_unchanged(&FrontDoor::of(&sealed))?;
            Some(sealed)
        }
        (_, Some(_)) => None,
    };
    let sealed = kept.as_ref().filter(|row| row.confidential);
    // An entry stored before a rule it now breaks is not read back, so an edit that sends it
    // again is taken as drawing it anew.
    let stored: Vec<Coverage> = if only.is_some() || sealed.is_some() {
        services::coverage_specs(conn, id)?
            .into_iter()
            .filter_map(|spec| Coverage::from_stored(spec, boundaries).ok())
            .collect()
    } else {
        Vec::new()
    };
    if only.is_some() {
        keeps_maintainers_part(new, &stored, services::verified_at_of(conn, id)?)?;
    }
    if let Some(row) = sealed {
        stays_with_its_staff(stored_org, org.id)?;
        draws_nothing_new(&new.coverage, &stored)?;
        let site = services::open_location(row, keys).map_err(|e| ApiError::Internal(e.into()))?;
        let site = Coordinates::new(site.lat, site.lon).map_err(|_| {
            ApiError::Internal(anyhow::anyhow!("kept location of {id} is out of range"))
        })?;
        keeps_kept_site_hidden(&new.coverage, site)?;
        has_front_door(&new.phones)?;
    }
    services::replace(conn, id, new, org.demo, keys.current(), boundaries)?;
    if let Some(row) = kept {
        services::restore_locations(conn, std::slice::from_ref(&row))?;
    }
    let after = read_back(conn, id)?;
    let sealed_sent = new.location.as_ref().is_some_and(|l| l.confidential);
    let changes = Changes::between(&before, &after, sealed_sent).reason();
    record_write(conn, &by, audit::Action::ServiceReplaced, id, &changes)?;
    Ok(after)
}

/// Replaces service `id` with a body that gives no location, so that a sealed one stored is
/// kept (the console editor, which cannot show it; a `PUT` that leaves it out or sends it as
/// read). New coverage is then checked against that site, and a refusal tells the writer
/// something of where it is: each is audited, and after a few for one service a person waits
/// before the check runs again (SAFETY.md rules 3 and 4). Such a write draws no new radius
/// or area ([`crate::domain::service::draws_nothing_new`]), so only stored coverage written
/// before the 5 km rule can still be refused here.
pub async fn write_keeping_site(
    state: &AppState,
    caller: &Principal,
    id: Uuid,
    new: NewService,
    missing_location: MissingLocation,
    unchanged: Option<Unchanged>,
) -> Result<ServiceRecord, ApiError> {
    let check = state.throttles.sealed_site_check(caller.actor(), id)?;
    let written = write(state, caller, id, new, missing_location, unchanged).await;
    let refusal = match &written {
        Err(ApiError::Invalid(refusal)) if refusal.code == REVEALS_CONFIDENTIAL_LOCATION => refusal,
        _ => {
            state.throttles.sealed_site_passed(check);
            return written;
        }
    };
    let actor = caller.clone();
    let reason = format!("edit refused: {}", refusal.field);
    state
        .db(move |conn| {
            let action = audit::Action::SealedSiteCheckRefused;
            record_write(conn, &actor, action, id, &reason)
        })
        .await?;
    written
}

/// Checks a service body on the blocking pool: a large area's geometry takes long enough to
/// hold up every other request on its HTTP worker, matching included.
pub async fn parse_new(
    input: ServiceInput,
    boundaries: &'static Boundaries,
) -> Result<NewService, ApiError> {
    Ok(web::block(move || NewService::parse(input, boundaries, Utc::now())).await??)
}

/// `POST /api/v1/services`; with an `Idempotency-Key`, a retry gets the first answer.
pub async fn create(
    Signed(caller): Signed,
    state: web::Data<AppState>,
    body: CreateJson<ServiceInput, GEOMETRY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    let CreateJson { body, key } = body;
    let new = parse_new(body, state.boundaries).await?;
    Ok(insert_once(&state, &caller, new, key)
        .await?
        .into_response())
}

/// Creates a service, once per idempotency key (the API's header, a console form's). A
/// provider's must be for their own organization, as for [`write`].
pub async fn insert_once(
    state: &AppState,
    caller: &Principal,
    new: NewService,
    key: Option<IdempotencyKey>,
) -> Result<Created, ApiError> {
    let id = Uuid::new_v4();
    let live = state.data_key.clone();
    let boundaries = state.boundaries;
    let by = caller.clone();
    state
        .db(move |conn| {
            let keys = services::keys_to_write(&live, conn, new.seals()).map_err(keys_not_taken)?;
            create_once(conn, key.as_ref(), |conn| {
                let record = insert_in(conn, keys.current(), boundaries, &by, id, &new)?;
                Ok((
                    format!("/api/v1/services/{id}"),
                    ServiceResponse::from(record),
                ))
            })
        })
        .await
}

/// `PUT /api/v1/services/{id}`: a [`ServiceInput`], or the service as a read answered it,
/// changed (see [`input_from_read`]).
pub async fn replace(
    req: HttpRequest,
    Signed(caller): Signed,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ValidJson<Strict, GEOMETRY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    let unchanged = if_match(&req)?;
    let id = id.into_inner();
    let (input, front_door_as_read) = input_from_read(body.0.0, id)?;
    let new = parse_new(input, state.boundaries).await?;
    let record = match (new.location.is_some(), front_door_as_read) {
        (true, _) => write(&state, &caller, id, new, MissingLocation::Remove, unchanged).await?,
        (false, as_read) => {
            let missing_location = match as_read {
                Some(front_door) => MissingLocation::KeepSealed(front_door),
                None => MissingLocation::Remove,
            };
            write_keeping_site(&state, &caller, id, new, missing_location, unchanged).await?
        }
    };
    Ok(answer(record))
}

/// `PATCH /api/v1/services/{id}`: phones, schedules, capacity and status, the parts a provider
/// keeps true from day to day.
pub async fn update(
    req: HttpRequest,
    Signed(caller): Signed,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ValidJson<ServicePatchInput>,
) -> Result<HttpResponse, ApiError> {
    let unchanged = if_match(&req)?;
    let patch = ServicePatch::parse(body.0)?;
    let record = apply_patch(&state, &caller, id.into_inner(), patch, unchanged).await?;
    Ok(answer(record))
}

/// `PATCH /api/v1/services/{id}/capacity`: beds or places available now.
pub async fn update_capacity(
    req: HttpRequest,
    Signed(caller): Signed,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ValidJson<CapacityInput>,
) -> Result<HttpResponse, ApiError> {
    let unchanged = if_match(&req)?;
    let patch = ServicePatch::capacity(body.0)?;
    let record = apply_patch(&state, &caller, id.into_inner(), patch, unchanged).await?;
    Ok(answer(record))
}

/// What the stored service must still be for a patch to be written (a form made from it has
/// not been overtaken), checked with the service locked.
pub type Unchanged = Box<dyn FnOnce(&ServiceRecord) -> Result<(), ApiError> + Send>;

/// Applies a patch to a service the caller may see (others answer 404) and reads it back. A
/// report of beds that changes nothing else is not recorded in the audit trail: it carries its
/// own time, and a feed sending one every few minutes would bury the rest.
pub async fn apply_patch(
    state: &AppState,
    caller: &Principal,
    id: Uuid,
    patch: ServicePatch,
    unchanged: Option<Unchanged>,
) -> Result<ServiceRecord, ApiError> {
    let by = caller.clone();
    state
        .db(move |conn| {
            conn.transaction(|conn| {
                let only = by.scope().organization();
                services::lock_visible(conn, id, only)?.ok_or(ApiError::NotFound)?;
                // A bed report, the most frequent write (feeds), changes beds alone: it is
                // not recorded, so the service is read before it only for `unchanged`.
                let beds_alone = patch.is_beds_alone();
                let before = match (&unchanged, beds_alone) {
                    (None, true) => None,
                    _ => Some(services::find(conn, id)?.ok_or(ApiError::NotFound)?),
                };
                if let (Some(unchanged), Some(before)) = (unchanged, &before) {
                    unchanged(before)?;
                }
                if let Some(phones) = &patch.phones
                    && services::location_of(conn, id)?.is_some_and(|l| l.confidential)
                {
                    has_front_door(phones)?;
                }
                services::patch(conn, id, &patch)?;
                let after = read_back(conn, id)?;
                if let Some(before) = before.filter(|_| !beds_alone) {
                    let changes = Changes::between(&before, &after, false);
                    if !(patch.capacity.is_some() && changes.beds_alone()) {
                        let reason = changes.reason();
                        record_write(conn, &by, audit::Action::ServiceUpdated, id, &reason)?;
                    }
                }
                Ok(after)
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
    let record = state
        .db(move |conn| Ok(services::find_visible(conn, id, only)?))
        .await?;
    let record = record.ok_or(ApiError::NotFound)?;
    Ok(answer(record))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ServiceListQuery {
    organization_id: Option<Uuid>,
    /// Only services with this status (`temporarily_closed`: those out of searches for now).
    status: Option<ServiceStatus>,
    page: Option<i64>,
    per_page: Option<i64>,
}

pub async fn list(
    Signed(caller): Signed,
    state: web::Data<AppState>,
    query: ValidQuery<ServiceListQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = PageRequest::parse(query.page, query.per_page)?;
    let status = query.status;
    // A provider asking for another organization's services gets what an unknown organization
    // gets: an empty page.
    let organization_id = match (caller.scope().organization(), query.organization_id) {
        (Some(own), Some(asked)) if own != asked => Some(Uuid::nil()),
        (Some(own), _) => Some(own),
        (None, asked) => asked,
    };
    let (records, total) = state
        .db(move |conn| {
            let filter = services::ListFilter {
                organization_id,
                status,
            };
            Ok(services::list(conn, filter, page.offset(), page.per_page)?)
        })
        .await?;
    let data = records.into_iter().map(ServiceResponse::from).collect();
    Ok(HttpResponse::Ok().json(Page::new(data, page, total)))
}

pub async fn delete(
    Signed(caller): Signed,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let deleted = state
        .db(move |conn| {
            conn.transaction(|conn| {
                let deleted = services::delete(conn, id)?;
                if deleted {
                    record_write(conn, &caller, audit::Action::ServiceDeleted, id, "deleted")?;
                }
                Ok(deleted)
            })
        })
        .await?;
    if deleted {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound)
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevealInput {
    reason: String,
}

/// A reveal's reason may name the person it is for (SAFETY.md rule 14).
impl std::fmt::Debug for RevealInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RevealInput([redacted])")
    }
}

const REASON_MIN_CHARS: usize = 3;
const REASON_MAX_CHARS: usize = 500;

/// What a reveal answers: the sealed parts of the location, opened, and the audit record that
/// now says who saw them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RevealResponse {
    pub service_id: Uuid,
    pub address: ConfidentialAddressResponse,
    pub audit_id: i64,
    pub revealed_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConfidentialAddressResponse {
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub lat: f64,
    pub lon: f64,
}

impl std::fmt::Debug for ConfidentialAddressResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfidentialAddressResponse([redacted])")
    }
}

/// `POST /api/v1/services/{id}/reveal`: a confidential location's street address and
/// coordinates, for the provider's own staff and, where the deployment allows
/// (`HAVEN_REVEAL_ROLES`), hotline and caseworker users. Every reveal writes an audit record in
/// the same transaction; without the record there is no address.
pub async fn reveal(
    Signed(caller): Signed,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ValidJson<RevealInput>,
) -> Result<HttpResponse, ApiError> {
    let revealed = reveal_location(&state, &caller, id.into_inner(), &body.0.reason).await?;
    Ok(HttpResponse::Ok().json(revealed))
}

/// Whether `caller` may reveal confidential locations at all (the provider's own staff, and
/// the roles the deployment lists in `HAVEN_REVEAL_ROLES`).
pub fn may_reveal(state: &AppState, caller: &Principal) -> bool {
    caller.role == Role::Provider || state.reveal_roles.contains(&caller.role)
}

/// Opens a confidential location for `caller` and writes the audit record, in one transaction:
/// what the API and the console share.
pub async fn reveal_location(
    state: &AppState,
    caller: &Principal,
    id: Uuid,
    reason: &str,
) -> Result<RevealResponse, ApiError> {
    if !may_reveal(state, caller) {
        return Err(ApiError::Forbidden);
    }
    let reason = reason.trim().to_string();
    // The audit trail, which admins read and cannot change, holds it as typed.
    if turns_any(&reason) {
        return Err(FieldError::invalid("reason", TURNS_TEXT).into());
    }
    // An audit record must say why: characters that show nothing do not count.
    let shown = reason.chars().filter(|c| !shows_nothing(*c)).count();
    if shown < REASON_MIN_CHARS || reason.chars().count() > REASON_MAX_CHARS {
        return Err(FieldError::invalid(
            "reason",
            format!(
                "say why you need the address, in {REASON_MIN_CHARS} to {REASON_MAX_CHARS} characters (no client names)"
            ),
        )
        .into());
    }
    // Counted before the address is looked up: a refused or failed reveal is still an
    // attempt to see one.
    state.throttles.reveal(caller.actor())?;
    let only = caller.scope().organization();
    let live = state.data_key.clone();
    let actor = caller.clone();
    let (row, address, audit) = state
        .db(move |conn| {
            conn.transaction(|conn| {
                services::lock_visible(conn, id, only)?.ok_or(ApiError::NotFound)?;
                // A place that takes no referrals now is no one's to send a person to: its
                // address goes only to its own staff (who close it up and open it again).
                if actor.role != Role::Provider
                    && !services::status_of(conn, id)?.is_some_and(ServiceStatus::is_offered)
                {
                    return Err(ApiError::Conflict(
                        "this service is temporarily closed or no longer offered: only its own staff may reveal its address now".into(),
                    ));
                }
                let row = services::location_of(conn, id)?
                    .filter(|l| l.confidential)
                    .ok_or_else(|| {
                        ApiError::Conflict(
                            "this service has no confidential location to reveal".into(),
                        )
                    })?;
                let address = services::open_location_now(&row, &live, conn).map_err(|e| {
                    match live.refusal() {
                        Some(why) => keys_not_taken(why),
                        None => ApiError::Internal(e.into()),
                    }
                })?;
                let audit = audit::record(
                    conn,
                    &audit::AuditInsertForm::by(&actor, audit::Action::RevealLocation, id, &reason),
                )?;
                Ok((row, address, audit))
            })
        })
        .await?;
    tracing::info!(service_id = %id, audit_id = audit.id, role = caller.role.code(), "confidential location revealed");
    Ok(RevealResponse {
        service_id: id,
        address: ConfidentialAddressResponse {
            street: address.street,
            city: row.city,
            region: row.region,
            postal_code: address.postal_code,
            country: row.country,
            lat: address.lat,
            lon: address.lon,
        },
        audit_id: audit.id,
        revealed_at: audit.at,
    })
}

/// A write or reveal refused while the data key file changed and could not be taken: 503,
/// for an operator to put right (see `LiveKeys::for_sealing`).
fn keys_not_taken(why: String) -> ApiError {
    ApiError::KeysNotTaken(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reveals_reason_does_not_show_in_debug() {
        let input: RevealInput =
            serde_json::from_value(serde_json::json!({"reason": "intake for Jane Roe"})).unwrap();
        assert!(!format!("{input:?}").contains("Jane"));
    }
}
