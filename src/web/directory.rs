//! The console's admin view: find, create and edit organizations and services. A service is
//! edited as the same JSON body the API takes (so errors carry the API's field paths and
//! messages), with separate inputs to add coverage by region code, radius or pasted GeoJSON.
//! A confidential address is never shown here: it stays sealed unless a new location is given.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError as _, web};
use maud::{Markup, html};
use serde_json::{Value, json};
use uuid::Uuid;

use super::console::{ConsoleForm, signed_page};
use super::{FORM_KEY, Form, one_time_key};
use crate::auth::{Principal, Signed};
use crate::db::organizations;
use crate::db::services::{self as service_rows, ServiceRecord};
use crate::domain::FieldError;
use crate::domain::organization::{NewOrganization, OrganizationInput};
use crate::domain::service::{NewService, ServiceInput};
use crate::error::ApiError;
use crate::json::{GEOMETRY_LIMIT, parse_json, repeated_member};
use crate::routes::organizations as organization_routes;
use crate::routes::services::{
    self as service_routes, MissingLocation, ServiceResponse, Unchanged, version_of, write,
};
use crate::startup::AppState;

/// The service editor's form: the one console form that may carry a pasted GeoJSON area.
type EditorForm = Form<GEOMETRY_LIMIT>;

/// The directory search and the new-organization form, as the admin's console home shows them.
/// `refused`: a new-organization form that was refused, shown open again with what was typed.
pub fn admin_tools(query: &str, refused: Option<&Form>) -> Markup {
    let typed = |name: &str| refused.and_then(|f| f.get(name)).unwrap_or("");
    html! {
        h2 { "Directory" }
        form method="post" action="/console/directory" {
            label { "Organization name contains" input type="text" name="q" value=(query); }
            button type="submit" { "Find organizations" }
        }
        details open[refused.is_some()] {
            summary { "New organization" }
            form method="post" action="/console/organizations" {
                label { "Name" input type="text" name="name" required maxlength="200" value=(typed("name")); }
                label { "Description" textarea name="description" rows="2" maxlength="4000" { (typed("description")) } }
                label { "Website" input type="text" name="website" maxlength="500" value=(typed("website")); }
                (one_time_key())
                button type="submit" { "Create organization" }
            }
        }
    }
}

/// What the directory page shows above its list: a notice, and a refused new-organization
/// form to show again.
#[derive(Default)]
struct Above<'a> {
    notice: Option<Markup>,
    refused: Option<&'a Form>,
}

async fn directory_page(
    state: &AppState,
    caller: &Principal,
    query: String,
    above: Above<'_>,
    status: StatusCode,
) -> Result<HttpResponse, ApiError> {
    let text = query.clone();
    let found = state
        .db(move |conn| {
            let orgs = organizations::search(conn, &text, 50)?;
            let ids: Vec<Uuid> = orgs.iter().map(|o| o.id).collect();
            let services = service_rows::ids_of_organizations(conn, &ids)?;
            let records = service_rows::find_many(conn, &services)?;
            Ok((orgs, records))
        })
        .await?;
    let (orgs, records) = found;
    let body = html! {
        @if let Some(n) = above.notice { (n) }
        (admin_tools(&query, above.refused))
        h2 { "Organizations (" (orgs.len()) ")" }
        @for org in &orgs {
            article class="result" data-organization=(org.id) {
                h3 { (org.name) @if org.demo { " " span class="tag demo" { "demo" } } }
                ul {
                    @for r in records.iter().filter(|r| r.service.organization_id == org.id) {
                        li {
                            form method="post" action="/console/services/edit" {
                                input type="hidden" name="service_id" value=(r.service.id);
                                (r.service.name) " "
                                @let status = r.service.status();
                                @if !status.is_offered() {
                                    span class="tag closed" { (status.label()) } " "
                                }
                                button type="submit" class="secondary" { "Edit" }
                            }
                        }
                    }
                }
                form method="post" action="/console/services/edit" {
                    input type="hidden" name="organization_id" value=(org.id);
                    button type="submit" { "New service" }
                }
            }
        }
    };
    Ok(signed_page(state, caller, status, body))
}

/// `POST /console/directory`: organizations by name, each with its services.
pub async fn directory(
    state: web::Data<AppState>,
    Signed(caller): Signed,
    ConsoleForm(form): ConsoleForm,
) -> Result<HttpResponse, ApiError> {
    let query = form.get("q").unwrap_or("").to_string();
    directory_page(&state, &caller, query, Above::default(), StatusCode::OK).await
}

/// `POST /console/organizations`: a new organization, validated as the API validates it.
pub async fn create_organization(
    state: web::Data<AppState>,
    Signed(caller): Signed,
    ConsoleForm(form): ConsoleForm,
) -> Result<HttpResponse, ApiError> {
    form.only(&["name", "description", "website", FORM_KEY])?;
    let input = OrganizationInput {
        name: form.get("name").unwrap_or("").to_string(),
        description: form.get("description").map(str::to_string),
        website: form.get("website").map(str::to_string),
        email: None,
    };
    // Sent again (a refresh, a second click), the form shows the organization it made.
    let key = form.idempotency_key(&state.data_key.get(), &caller, "/console/organizations");
    let outcome = match NewOrganization::parse(input, false) {
        Ok(new) => organization_routes::insert_once(&state, new, key).await,
        Err(e) => Err(ApiError::Invalid(e)),
    };
    let created = match outcome {
        Ok(created) => created,
        Err(ApiError::Invalid(e)) => {
            let notice = html! { p class="error" role="alert" { (refusal(&e)) } };
            let above = Above {
                notice: Some(notice),
                refused: Some(&form),
            };
            return directory_page(
                &state,
                &caller,
                String::new(),
                above,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => return Err(e),
    };
    let id = created.id()?;
    let row = state
        .db(move |conn| Ok(organizations::find(conn, id)?))
        .await?
        .ok_or(ApiError::NotFound)?;
    let notice = html! { p class="notice" role="status" { "Created " (row.name) "." } };
    let above = Above {
        notice: Some(notice),
        refused: None,
    };
    directory_page(&state, &caller, row.name, above, StatusCode::OK).await
}

/// A stored service as the body `PUT /api/v1/services/{id}` would take. A confidential
/// location is left out (it stays sealed); the flag says whether there was one.
fn editable(record: ServiceRecord) -> (Value, bool) {
    let response = ServiceResponse::from(record);
    let sealed = response.location.as_ref().is_some_and(|l| l.confidential);
    let mut value = serde_json::to_value(&response).unwrap_or_else(|_| json!({}));
    if let Some(object) = value.as_object_mut() {
        for member in ["id", "created_at", "updated_at", "demo"] {
            object.remove(member);
        }
        if sealed {
            object.remove("location");
        }
        if let Some(capacity) = object.get_mut("capacity").and_then(Value::as_object_mut) {
            capacity.remove("reported_at");
        }
        object.retain(|_, v| !v.is_null());
    }
    (value, sealed)
}

/// Which stored service an editor is for, and the version it showed (its `updated_at`): a
/// save is refused when the service changed since, so that an edit of the description does
/// not put back a bed count or phones a provider has changed meanwhile.
struct Editing {
    id: Uuid,
    version: String,
}

impl Editing {
    fn of(record: &ServiceRecord) -> Editing {
        Editing {
            id: record.service.id,
            version: version_of(record.service.updated_at),
        }
    }
}

fn editor(
    editing: Option<&Editing>,
    organization_id: Uuid,
    body: &str,
    sealed: bool,
    form: Option<&EditorForm>,
    message: Option<Markup>,
) -> Markup {
    let value = |name: &str| form.and_then(|f| f.get(name)).unwrap_or("").to_string();
    html! {
        h1 { @if editing.is_some() { "Edit service" } @else { "New service" } }
        @if let Some(m) = message { (m) }
        form method="post" action="/console/services/save" {
            @if let Some(e) = editing {
                input type="hidden" name="service_id" value=(e.id);
                input type="hidden" name="version" value=(e.version);
            } @else { (one_time_key()) }
            input type="hidden" name="organization_id" value=(organization_id);
            label { "Service (the JSON body of PUT /api/v1/services/{id}; docs/API.md lists its members)"
                textarea name="body" rows="18" spellcheck="false" { (body) } }
            @if sealed {
                p class="muted" { "This service has a confidential location. Its address stays sealed and is kept unless you add a \"location\" member." }
            }
            fieldset {
                legend { "Add coverage" }
                label { "Region code (state US-CA or county FIPS US-06075)" input type="text" name="region" value=(value("region")); }
                // Refused for a sealed site whatever is drawn (see `draws_nothing_new`): not
                // offered, rather than offered and refused.
                @if sealed {
                    p class="muted" { "A radius or an area is not added here to a service at a confidential location: its own staff add them through the API, with its location." }
                } @else {
                    div class="row" {
                        label { "Radius centre latitude" input type="text" name="radius_lat" value=(value("radius_lat")); }
                        label { "longitude" input type="text" name="radius_lon" value=(value("radius_lon")); }
                        label { "km" input type="text" name="radius_km" value=(value("radius_km")); }
                    }
                    label { "Area: paste a GeoJSON Polygon or MultiPolygon" textarea name="geojson" rows="4" spellcheck="false" { (value("geojson")) } }
                }
            }
            button type="submit" { "Save service" }
        }
    }
}

/// The editor again, showing what is stored now, when the service changed after `editing`
/// was shown (409), with `typed` kept below it to make the change again from; None when it
/// did not (or is gone, which the save itself answers). A form without a version is taken
/// as overtaken: it cannot say what it was made from.
async fn changed_since(
    state: &web::Data<AppState>,
    caller: &Principal,
    editing: &Editing,
    typed: &str,
) -> Result<Option<HttpResponse>, ApiError> {
    let id = editing.id;
    let Some(record) = state
        .db(move |conn| Ok(service_rows::find(conn, id)?))
        .await?
    else {
        return Ok(None);
    };
    if version_of(record.service.updated_at) == editing.version {
        return Ok(None);
    }
    let changed_at = record.service.updated_at;
    let organization_id = record.service.organization_id;
    let current = Editing::of(&record);
    let (value, sealed) = editable(record);
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    let notice = html! {
        p class="error" role="alert" {
            "This service was changed at " (changed_at.format("%H:%M:%S UTC"))
            ", after you opened it (its provider may have updated beds, hours or phones). Nothing was saved. The editor holds what is stored now; what you typed is below it, to make your change again."
        }
    };
    let yours = html! {
        div class="overtaken" {
            h2 { "What you typed (not saved)" }
            label { "Your service JSON" textarea readonly rows="18" spellcheck="false" { (typed) } }
        }
    };
    let markup = editor(
        Some(&current),
        organization_id,
        &text,
        sealed,
        None,
        Some(notice),
    );
    Ok(Some(signed_page(
        state,
        caller,
        StatusCode::CONFLICT,
        html! { (markup) (yours) },
    )))
}

/// `POST /console/services/edit`: the editor for an existing service (`service_id`) or a new
/// one for `organization_id`.
pub async fn edit(
    state: web::Data<AppState>,
    Signed(caller): Signed,
    ConsoleForm(form): ConsoleForm,
) -> Result<HttpResponse, ApiError> {
    let markup = match form.get("service_id").and_then(|v| v.parse::<Uuid>().ok()) {
        Some(id) => {
            let record = state
                .db(move |conn| Ok(service_rows::find(conn, id)?))
                .await?
                .ok_or(ApiError::NotFound)?;
            let organization_id = record.service.organization_id;
            let editing = Editing::of(&record);
            let (value, sealed) = editable(record);
            let text = serde_json::to_string_pretty(&value).unwrap_or_default();
            editor(Some(&editing), organization_id, &text, sealed, None, None)
        }
        None => {
            let organization_id = form
                .get("organization_id")
                .and_then(|v| v.parse::<Uuid>().ok())
                .ok_or(ApiError::NotFound)?;
            let template = json!({
                "organization_id": organization_id,
                "name": "",
                "needs": ["shelter"],
                "phones": [{"number": "", "type": "voice", "available_24_7": false}],
                "coverage": []
            });
            let text = serde_json::to_string_pretty(&template).unwrap_or_default();
            editor(None, organization_id, &text, false, None, None)
        }
    };
    Ok(signed_page(&state, &caller, StatusCode::OK, markup))
}

/// The coverage entries the "Add coverage" inputs describe, in API shape.
fn added_coverage(form: &EditorForm) -> Result<Vec<Value>, FieldError> {
    let mut entries = Vec::new();
    if let Some(code) = form.get("region") {
        entries.push(json!({"type": "region", "code": code}));
    }
    let number = |name: &str| -> Result<Option<f64>, FieldError> {
        form.get(name)
            .map(|v| {
                v.parse::<f64>()
                    .map_err(|_| FieldError::invalid(name, "must be a number"))
            })
            .transpose()
    };
    match (
        number("radius_lat")?,
        number("radius_lon")?,
        number("radius_km")?,
    ) {
        (Some(lat), Some(lon), Some(km)) => entries
            .push(json!({"type": "radius", "center": {"lat": lat, "lon": lon}, "radius_km": km})),
        (None, None, None) => {}
        _ => {
            return Err(FieldError::invalid(
                "radius_km",
                "give the centre's latitude and longitude and the radius in km",
            ));
        }
    }
    if let Some(text) = form.get("geojson") {
        let geometry: Value = serde_json::from_str(text)
            .map_err(|e| FieldError::invalid("geojson", format!("not JSON: {e}")))?;
        entries.push(json!({"type": "area", "geometry": geometry}));
    }
    Ok(entries)
}

/// `POST /console/services/save`: validates exactly as the API does and writes.
pub async fn save(
    state: web::Data<AppState>,
    Signed(caller): Signed,
    ConsoleForm(form): ConsoleForm<GEOMETRY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    form.only(&[
        "service_id",
        "organization_id",
        "body",
        "region",
        "radius_lat",
        "radius_lon",
        "radius_km",
        "geojson",
        "version",
        FORM_KEY,
    ])?;
    let service_id = form.get("service_id").and_then(|v| v.parse::<Uuid>().ok());
    // A version sent twice says nothing of which the edit was made from: taken as none.
    let version = match form.all("version").as_slice() {
        [one] => one.to_string(),
        _ => String::new(),
    };
    let editing = service_id.map(|id| Editing { id, version });

    let organization_id = form
        .get("organization_id")
        .and_then(|v| v.parse::<Uuid>().ok())
        .ok_or(ApiError::NotFound)?;
    let raw = form.raw("body");
    if let Some(editing) = &editing
        && let Some(conflict) = changed_since(&state, &caller, editing, &raw).await?
    {
        return Ok(conflict);
    }
    let parsed = async {
        // Parsed into a `Value` first (to add the coverage inputs), which would keep the last
        // of a repeated member silently: a second `location` could publish a sealed address.
        if let Some(field) = repeated_member(raw.as_bytes()) {
            return Err(ApiError::Invalid(FieldError::invalid(
                field,
                "appears more than once; send each member once",
            )));
        }
        let mut value = parse_json::<Value>(raw.as_bytes())?;
        let added = added_coverage(&form)?;
        if let Some(list) = value.get_mut("coverage").and_then(Value::as_array_mut) {
            list.extend(added);
        } else if let Some(object) = value.as_object_mut() {
            object.insert("coverage".into(), Value::Array(added));
        }
        let input: ServiceInput = parse_json(value.to_string().as_bytes())?;
        let new = service_routes::parse_new(input, state.boundaries).await?;
        Ok::<_, ApiError>((new, value))
    }
    .await;
    // What the write itself refuses (an organization not the caller's, coverage that would
    // show a sealed site) is shown in the editor too, with the text as sent.
    let outcome = match parsed {
        Ok((new, value)) => {
            match save_parsed(&state, &caller, editing.as_ref(), new, &form).await {
                Ok(record) => Ok((record, value)),
                // Changed between the check above and the write: the same page as above.
                Err(ApiError::PreconditionFailed(_)) if editing.is_some() => {
                    let editing = editing.as_ref().ok_or(ApiError::NotFound)?;
                    return match changed_since(&state, &caller, editing, &raw).await? {
                        Some(conflict) => Ok(conflict),
                        None => Err(ApiError::NotFound),
                    };
                }
                Err(e @ (ApiError::Invalid(_) | ApiError::TooManyRequests { .. })) => Err(e),
                Err(other) => return Err(other),
            }
        }
        Err(e) => Err(e),
    };
    let (record, value) = match outcome {
        Ok(ok) => ok,
        Err(e) => {
            // The editor's note on a sealed address is for services that have one.
            let sealed_note = match service_id {
                Some(id) => state
                    .db(move |conn| Ok(service_rows::location_of(conn, id)?))
                    .await?
                    .is_some_and(|location| location.confidential),
                None => false,
            };
            let message = match &e {
                ApiError::Invalid(f) => refusal(f),
                ApiError::TooManyRequests { retry_after_secs } => format!(
                    "This service's coverage was refused several times for being near its confidential site. Wait {} minutes before saving new coverage for it; nothing was saved.",
                    retry_after_secs.div_ceil(60)
                ),
                other => other.to_string(),
            };
            let notice = html! { p class="error" role="alert" { (message) } };
            let markup = editor(
                editing.as_ref(),
                organization_id,
                &raw,
                sealed_note,
                Some(&form),
                Some(notice),
            );
            return Ok(signed_page(&state, &caller, e.status_code(), markup));
        }
    };
    let saved_at = record.service.updated_at;
    let saved = Editing::of(&record);
    let (value_now, sealed) = editable(record);
    let text = serde_json::to_string_pretty(&value_now).unwrap_or_else(|_| value.to_string());
    let notice = html! { p class="notice" role="status" { "Saved at " (saved_at.format("%H:%M:%S UTC")) "." } };
    let markup = editor(
        Some(&saved),
        organization_id,
        &text,
        sealed,
        None,
        Some(notice),
    );
    Ok(signed_page(&state, &caller, StatusCode::OK, markup))
}

/// What the editor or the organization form says of a refused write.
fn refusal(e: &FieldError) -> String {
    if e.code == "idempotency_key_reused" {
        // The same one-time form sent again with other values (a page restored, edited and
        // sent): nothing was written.
        "This form was already used to create something, with other values; nothing was saved. Open a new form to create another.".into()
    } else {
        format!("{}: {}", e.field, e.message)
    }
}

/// Replaces the service `editing`, if still at the version the editor showed (412 otherwise,
/// checked with it locked), or creates a service once per editor form: sent again (a
/// refresh, a second click), a new service's form gets the service it made.
async fn save_parsed(
    state: &AppState,
    caller: &Principal,
    editing: Option<&Editing>,
    new: NewService,
    form: &EditorForm,
) -> Result<ServiceRecord, ApiError> {
    let unchanged = |shown: &Editing| -> Unchanged {
        let shown = shown.version.clone();
        Box::new(move |stored: &ServiceRecord| {
            if version_of(stored.service.updated_at) == shown {
                Ok(())
            } else {
                Err(ApiError::PreconditionFailed(
                    "changed after the editor was opened".into(),
                ))
            }
        })
    };
    let id = match editing {
        Some(shown) if new.location.is_none() => {
            return service_routes::write_keeping_site(
                state,
                caller,
                shown.id,
                new,
                MissingLocation::Keep,
                Some(unchanged(shown)),
            )
            .await;
        }
        Some(shown) => {
            let id = shown.id;
            let check = Some(unchanged(shown));
            return write(state, caller, id, new, MissingLocation::Keep, check).await;
        }
        None => {
            let key = form.idempotency_key(&state.data_key.get(), caller, "/console/services/save");
            service_routes::insert_once(state, caller, new, key)
                .await?
                .id()?
        }
    };
    state
        .db(move |conn| Ok(service_rows::find(conn, id)?))
        .await?
        .ok_or(ApiError::NotFound)
}
