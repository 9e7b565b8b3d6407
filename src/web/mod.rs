//! Pages served by `haven serve` itself: the survivor lookup (`/`, `/es/`) and the operator
//! console (`/console`). Server-rendered with maud (escaped by default), every asset served
//! from here, forms that work without JavaScript, and nothing that names a search in a URL or
//! a title (SAFETY.md rules 5 and 8).

pub mod console;
mod coverage_map;
pub mod directory;
mod layout;
mod results;
pub mod spent;
pub mod text;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use maud::{Markup, html};
use serde_json::json;

use crate::auth::Principal;
use crate::crypto::DataKeys;
use crate::domain::FieldError;
use crate::domain::need::Need;
use crate::error::ApiError;
use crate::json::{NUL_MESSAGE, read_body};
use crate::matching::index::LACKS_LANGUAGE;
use crate::matching::query::{MatchQuery, MatchRequest, NeedSet};
use crate::matching::reason::Reason;
use crate::matching::regions::RegionLocator;
use crate::matching::{MatchOutcome, ServiceMatch, Snapshot};
use crate::routes::idempotency::IdempotencyKey;
use crate::routes::matching::prepare;
use crate::startup::AppState;
use text::{FORM_LANGUAGES, Lang, Text};

/// The most local crisis lines a survivor's results list before the national ones.
const LOCAL_LINES_SHOWN: usize = 3;
/// Local lines looked for, of which pages show the first few: enough that lines closed now
/// do not take the place of open ones.
const LOCAL_LINES_ASKED: usize = 50;

/// Where Quick exit and Esc go: a busy, neutral site.
pub const DEFAULT_QUICK_EXIT_URL: &str = "https://www.weather.gov/";

/// Largest form body a page accepts.
pub(crate) const FORM_LIMIT: usize = 16 * 1024;

const CSS: &str = include_str!("../../assets/haven.css");
const JS: &str = include_str!("../../assets/haven.js");

/// `GET /assets/{file}`: the only stylesheet and script any page loads.
pub async fn asset(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let (body, content_type) = match path.as_str() {
        "haven.css" => (CSS, "text/css; charset=utf-8"),
        "haven.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return Err(ApiError::NotFound),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .body(body))
}

/// `GET /favicon.ico`, which browsers ask for unbidden: no icon, and nothing to keep.
pub async fn no_icon() -> HttpResponse {
    HttpResponse::NoContent().finish()
}

pub(crate) fn page(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(ContentType::html())
        .body(markup.into_string())
}

/// A page answering a refusal (`error`) the API would answer as JSON: the same status and
/// `Retry-After`, the page's own words.
pub(crate) fn refusal_page(error: &ApiError, markup: Markup) -> HttpResponse {
    let mut response = page(error.status_code(), markup);
    if let Some(seconds) = error.retry_after() {
        response.headers_mut().insert(header::RETRY_AFTER, seconds);
    }
    response
}

/// The field of the survivor search form holding its one-time key (see `spent`).
const SEARCH_KEY: &str = "search_key";

/// The field of a create form holding its one-time key.
pub(crate) const FORM_KEY: &str = "form_key";

/// A create form's one-time key, new each time the form is shown (see
/// [`Form::idempotency_key`]).
pub(crate) fn one_time_key() -> Markup {
    html! { input type="hidden" name=(FORM_KEY) value=(uuid::Uuid::new_v4()); }
}

/// A submitted form's fields, in order (a name may repeat, as checkboxes do). As an extractor
/// it reads an `application/x-www-form-urlencoded` body of at most `LIMIT` bytes (415 for
/// anything else, 413 when larger).
#[derive(Default)]
pub struct Form<const LIMIT: usize = FORM_LIMIT>(Vec<(String, String)>);

impl<const LIMIT: usize> FromRequest for Form<LIMIT> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let form_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let body = read_body(req, payload, LIMIT);
        Box::pin(async move {
            if !form_type {
                return Err(ApiError::UnsupportedMediaType);
            }
            let body = body.await?;
            let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), v.trim().to_string()))
                .collect();
            // No text Haven keeps may hold a NUL (Postgres cannot store it).
            if let Some((name, _)) = fields
                .iter()
                .find(|(k, v)| k.contains('\0') || v.contains('\0'))
            {
                return Err(FieldError::invalid(name.as_str(), NUL_MESSAGE).into());
            }
            Ok(Form(fields))
        })
    }
}

impl<const LIMIT: usize> Form<LIMIT> {
    /// Refuses a field the form does not have (SAFETY.md rule 13): none of Haven's pages sends
    /// one, so it is a mistake or tampering, not something to ignore.
    pub(crate) fn only(&self, names: &[&str]) -> Result<(), FieldError> {
        match self
            .0
            .iter()
            .find(|(name, _)| !names.contains(&name.as_str()))
        {
            Some((name, _)) => Err(FieldError::invalid(
                name.as_str(),
                "is not a field of this form",
            )),
            None => Ok(()),
        }
    }

    /// The form's one-time key ([`one_time_key`]) as an idempotency key of `principal`'s,
    /// over the form's other fields: a create sent again by a refresh or a second click gets
    /// the first answer instead of making a copy.
    pub(crate) fn idempotency_key(
        &self,
        data_keys: &DataKeys,
        principal: &Principal,
        path: &str,
    ) -> Option<IdempotencyKey> {
        let key = self.get(FORM_KEY)?;
        let fields = self
            .0
            .iter()
            .filter(|(name, _)| name != FORM_KEY)
            .map(|(name, value)| (name.as_str(), value.as_str()));
        IdempotencyKey::for_form(data_keys, principal, path, key, fields)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The value as sent (empty when absent), for text areas.
    pub(crate) fn raw(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or_else(String::new, |(_, v)| v.clone())
    }

    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The match request this search form describes. Coordinates (already coarsened in the
    /// browser) win over a ZIP code when both are sent.
    pub(crate) fn match_request(&self) -> Result<MatchRequest, FieldError> {
        let number = |name: &str| -> Result<Option<f64>, FieldError> {
            self.get(name)
                .map(|v| {
                    // "NaN" and "inf" parse, but are no place.
                    v.trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|n| n.is_finite())
                        .ok_or_else(|| FieldError::invalid(name, "must be a number"))
                })
                .transpose()
        };
        let region = self.get("region").map(str::trim).filter(|r| !r.is_empty());
        let place_given = ["zip", "lat", "lon"]
            .iter()
            .any(|name| self.get(name).is_some());
        let location = match (number("lat")?, number("lon")?, self.get("zip")) {
            // A region code (the console's county or state, resolved from its name).
            _ if region.is_some() && place_given => {
                return Err(FieldError::invalid(
                    "region",
                    "give a county or state, or a ZIP code or coordinates, not both: clear the one you do not mean",
                ));
            }
            _ if region.is_some() => json!({"region": region}),
            // Both: a ZIP typed over the coordinates of the search before, or the other way
            // round. Which one is meant cannot be told, and a guess sends help to the wrong
            // place.
            (Some(_), Some(_), Some(_)) => {
                return Err(FieldError::invalid(
                    "zip",
                    "give a ZIP code or a latitude and longitude, not both: clear the one you do not mean",
                ));
            }
            (Some(lat), Some(lon), None) => json!({"lat": lat, "lon": lon}),
            (Some(_), None, _) => {
                return Err(FieldError::invalid(
                    "lon",
                    "give the longitude with the latitude",
                ));
            }
            (None, Some(_), _) => {
                return Err(FieldError::invalid(
                    "lat",
                    "give the latitude with the longitude",
                ));
            }
            (None, None, Some(zip)) => json!({"postal_code": zip}),
            (None, None, None) => return Err(FieldError::invalid("zip", "enter a ZIP code")),
        };
        let age = self
            .get("age")
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| FieldError::invalid("age", "must be a whole number"))
            })
            .transpose()?;
        Ok(MatchRequest {
            location: crate::json::Strict(location),
            needs: self.all("need"),
            age,
            gender: self.get("gender").map(str::to_string),
            languages: self.all("language"),
            require: self.all("require"),
            open_now: self.get("open_now").is_some(),
            limit: None,
        })
    }
}

/// Turns a field error from the matcher into words for the form, and names the form field
/// it is about (`zip`, `need` or `age`), which the form then marks.
fn explain(e: &FieldError, t: &Text, lang: Lang) -> (String, Option<&'static str>) {
    let es = lang == Lang::Es;
    let at = form_field(e);
    let words = match (at, e.field.as_str()) {
        (Some("need"), _) => {
            if es {
                "Marque al menos una opción en «¿Qué necesita?»."
            } else {
                "Choose at least one thing under \u{201c}What do you need?\u{201d}."
            }
        }
        _ if e.code == "unknown_postal_code" => {
            if es {
                "No conocemos ese código postal. Revíselo o pruebe el de un lugar cercano. Mientras tanto, las líneas de abajo pueden ayudar."
            } else {
                "We do not know that ZIP code. Check it, or try one for a place nearby. Meanwhile, the lines below can help."
            }
        }
        // The location the browser gave (hidden fields) could not be read.
        (Some("zip"), "lat" | "lon") => t.location_error,
        (Some("zip"), _) => {
            if es {
                "Escriba un código postal de EE. UU. de 5 dígitos."
            } else {
                "Enter a 5-digit US ZIP code."
            }
        }
        (Some("age"), _) => {
            if es {
                "La edad debe ser un número entre 0 y 130."
            } else {
                "Age must be a number from 0 to 130."
            }
        }
        // The page offers only choices the matcher knows; another value was not typed here,
        // and the matcher's own words (English, API terms) would not help.
        _ => {
            let words = format!(
                "{} {}",
                t.problem,
                if es {
                    "Elija de las opciones del formulario."
                } else {
                    "Choose from the options in the form."
                }
            );
            return (words, None);
        }
    };
    (words.to_string(), at)
}

/// The search form, filled in with what was sent (so a correction does not mean retyping).
/// `invalid`: the fields (`zip`, `need`, `age`) the errors above the form are about, each
/// marked for screen readers as invalid and described by its error.
fn search_form(lang: Lang, form: Option<&Form>, invalid: &[&str]) -> Markup {
    let t = lang.text();
    let checked =
        |name: &str, value: &str| form.is_some_and(|f| f.all(name).iter().any(|v| v == value));
    let value = |name: &str| form.and_then(|f| f.get(name)).unwrap_or("").to_string();
    let wrong = |name: &str| invalid.contains(&name).then_some("true");
    let described = |name: &str| invalid.contains(&name).then(|| error_id(Some(name)));
    html! {
        // autocomplete off: the browser then neither offers these answers again nor keeps the
        // form's state (needs ticked, age) in its session files for a restored tab.
        form method="post" action=(t.home) class="search" autocomplete="off" {
            // New with every form shown, never copied from the search before (see `spent`).
            input type="hidden" name=(SEARCH_KEY) value=(spent::SpentSearches::new_key());
            fieldset {
                legend id="zip-legend" { (t.zip) }
                label for="zip" id="zip-label" { (t.zip_hint) }
                // Named by both, so a screen reader says "ZIP code" with the example.
                input type="text" id="zip" name="zip" inputmode="numeric" autocomplete="off" maxlength="10" value=(value("zip"))
                    aria-labelledby="zip-legend zip-label"
                    aria-invalid=[wrong("zip")] aria-describedby=[described("zip")];
                input type="hidden" name="lat" value="";
                input type="hidden" name="lon" value="";
                p { button type="button" id="use-location" class="secondary" hidden { (t.use_location) } }
                p id="location-error" class="error" role="alert" hidden { (t.location_error) }
                p id="location-ready" class="notice" role="status" hidden { (t.location_ready) }
            }
            fieldset aria-describedby=[described("need")] {
                legend { (t.needs) }
                @for need in Need::ALL {
                    @let label = need.describe();
                    label class="check" {
                        input type="checkbox" name="need" value=(need.code()) checked[checked("need", need.code())]
                            aria-invalid=[wrong("need")];
                        span { (if lang == Lang::Es { label.label.es } else { label.label.en }) }
                    }
                }
            }
            fieldset {
                legend { (t.about_you) " " span class="muted" { "(" (t.optional) ")" } }
                div class="row" {
                    label { (t.age) input type="number" name="age" min="0" max="130" inputmode="numeric" value=(value("age"))
                        aria-invalid=[wrong("age")] aria-describedby=[described("age")]; }
                    label { (t.gender)
                        select name="gender" {
                            option value="" { (t.any) }
                            @for (code, name) in [("female", t.female), ("male", t.male), ("nonbinary", t.nonbinary)] {
                                option value=(code) selected[value("gender") == code] { (name) }
                            }
                        }
                    }
                    label { (t.language)
                        select name="language" {
                            option value="" { "—" }
                            @for (code, en, es) in FORM_LANGUAGES {
                                option value=(code) selected[value("language") == code] { (if lang == Lang::Es { es } else { en }) }
                            }
                        }
                    }
                }
                label class="check" {
                    input type="checkbox" name="open_now" value="1" checked[form.is_some_and(|f| f.get("open_now").is_some())];
                    span { (t.open_now) }
                }
            }
            button type="submit" data-busy=(t.searching) { (t.search) }
            p class="search-status muted" role="status" {}
        }
    }
}

/// A survivor page: the emergency number first, whatever the page is for.
fn lookup_page(state: &AppState, lang: Lang, body: Markup) -> Markup {
    let t = lang.text();
    let body = html! {
        p class="danger" {
            (t.danger_now) " " a href="tel:911" { (t.call_911) }
            " · " a href="#hotlines-heading" { (t.to_lines) }
        }
        (body)
    };
    layout::page(t, &state.quick_exit_url, t.title, body)
}

/// The lines anyone can call or text, from the index, for pages that have no search to
/// answer (the empty form, a search that could not be run): a person is never left without
/// a number. Nothing while the index is loading.
pub(crate) fn lines_to_call(state: &AppState, reader: results::Reader) -> Markup {
    // Lines serve the whole country: any place in it finds them all; this is its middle.
    let request = MatchRequest {
        location: crate::json::Strict(serde_json::json!({"lat": 39.83, "lon": -98.58})),
        needs: vec![Need::Hotline.code().to_string()],
        age: None,
        gender: None,
        languages: Vec::new(),
        require: Vec::new(),
        open_now: false,
        limit: None,
    };
    match prepare(state, request, true) {
        Ok((snapshot, query)) => {
            let outcome = snapshot.find(&query, RegionLocator::bundled(), state.boundaries);
            results::hotlines(&outcome.hotlines, reader)
        }
        Err(_) => html! {},
    }
}

/// `GET /` and `GET /es/`: the empty search form.
pub async fn lookup_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let lang = lang_of(&req);
    let t = lang.text();
    page(
        StatusCode::OK,
        lookup_page(
            &state,
            lang,
            html! {
                h1 { (t.heading) }
                p { (t.intro) }
                (search_form(lang, None, &[]))
                (lines_to_call(&state, results::Reader::survivor(lang, chrono::Utc::now(), None)))
            },
        ),
    )
}

fn lang_of(req: &HttpRequest) -> Lang {
    if req.path().starts_with("/es") {
        Lang::Es
    } else {
        Lang::En
    }
}

/// An address with no page behind it (a mistyped link, `/es` without its slash): the search
/// page in the address's language, saying so, with 404; `/es` itself is sent on to `/es/`.
pub fn no_such_page(req: &HttpRequest) -> HttpResponse {
    if req.path() == "/es"
        && matches!(
            *req.method(),
            actix_web::http::Method::GET | actix_web::http::Method::HEAD
        )
    {
        return HttpResponse::PermanentRedirect()
            .insert_header((header::LOCATION, "/es/"))
            .finish();
    }
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return ApiError::NotFound.error_response();
    };
    // Staff who mistype a console address stay in the console.
    if req.path().starts_with("/console") {
        return console::no_such_page(state);
    }
    let lang = lang_of(req);
    page(
        StatusCode::NOT_FOUND,
        refused(state, lang, lang.text().no_such_page, None),
    )
}

/// The id of an error said above a refused search's form: `search-error`, or for an error
/// about a field, `search-error-` and the field.
fn error_id(field: Option<&str>) -> String {
    match field {
        Some(field) => format!("search-error-{field}"),
        None => "search-error".to_string(),
    }
}

/// The search page with what stopped the search, and the form as it was sent (empty when the
/// request was turned away before its form was read).
fn refused(state: &AppState, lang: Lang, message: &str, form: Option<&Form>) -> Markup {
    refused_for(state, lang, &[(message.to_string(), None)], form)
}

/// [`refused`] with several errors, each with the form field it is about, if one.
fn refused_for(
    state: &AppState,
    lang: Lang,
    errors: &[(String, Option<&'static str>)],
    form: Option<&Form>,
) -> Markup {
    let t = lang.text();
    let invalid: Vec<&str> = errors.iter().filter_map(|(_, field)| *field).collect();
    lookup_page(
        state,
        lang,
        html! {
            h1 { (t.heading) }
            div role="alert" {
                @for (message, field) in errors {
                    p id=(error_id(*field)) class="error" { (message) }
                }
            }
            (search_form(lang, form, &invalid))
            (lines_to_call(state, results::Reader::survivor(lang, chrono::Utc::now(), None)))
        },
    )
}

/// Every mistake in a refused search that the page can point to at once, in the form's
/// order, so that one correction is enough: `first`, what the search met first, then what it
/// meets with each mistake found so far set right (a known ZIP code for the place, a need,
/// no age), until it meets none or one the page cannot name.
fn every_error(state: &AppState, form: &Form, first: FieldError) -> Vec<FieldError> {
    let mut errors = vec![first];
    let mut repaired: Form = Form(form.0.clone());
    while errors.len() < 5 {
        let Some(last) = errors.last() else { break };
        let set_right = match repaired_as(last) {
            Some("zip") => ("zip", Some(REPAIR_ZIP)),
            Some("need") => ("need", Some(Need::Shelter.code())),
            Some(other) => (other, None),
            None => break,
        };
        repaired.0.retain(|(name, _)| {
            name != set_right.0 && !(set_right.0 == "zip" && (name == "lat" || name == "lon"))
        });
        if let (name, Some(value)) = set_right {
            repaired.0.push((name.to_string(), value.to_string()));
        }
        let attempt = repaired
            .match_request()
            .map_err(ApiError::Invalid)
            .and_then(|request| prepare(state, request, false));
        match attempt {
            Err(ApiError::Invalid(e)) if repaired_as(&e) != repaired_as(last) => errors.push(e),
            _ => break,
        }
    }
    let place = |e: &FieldError| match form_field(e) {
        Some("zip") => 0,
        Some("need") => 1,
        _ => 2,
    };
    errors.sort_by_key(place);
    errors
}

/// The form field a refusal is set right in while looking for the search's other mistakes:
/// the place (`zip`), the needs (an unknown one too), the age, the languages and what a
/// place must offer (both left out).
fn repaired_as(e: &FieldError) -> Option<&'static str> {
    let field = e.field.as_str();
    match form_field(e) {
        Some(at) => Some(at),
        None if field.starts_with("needs[") => Some("need"),
        None if field.starts_with("languages") => Some("language"),
        None if field.starts_with("require") => Some("require"),
        None => None,
    }
}

/// A ZIP code the bundled list knows, put in place of a wrong one while looking for the
/// search's other mistakes.
const REPAIR_ZIP: &str = "10001";

/// The survivor form's field a refusal is about: the ZIP code (or the location the browser
/// gave in its place), the needs, the age; none for what the form does not let a person type.
fn form_field(e: &FieldError) -> Option<&'static str> {
    match e.field.as_str() {
        f if f == "zip" || f == "lat" || f == "lon" || f.starts_with("location") => Some("zip"),
        "needs" => Some("need"),
        "age" => Some("age"),
        _ => None,
    }
}

/// Whether `path` is one of the survivor pages, whose callers should never be shown JSON.
pub(crate) fn is_lookup(path: &str) -> bool {
    matches!(path, "/" | "/es/")
}

/// The survivor page's answer to a client over the anonymous rate limit (`throttled`, a 429),
/// in its language.
pub(crate) fn throttled(req: &HttpRequest, state: &AppState, throttled: &ApiError) -> HttpResponse {
    let lang = lang_of(req);
    refusal_page(throttled, refused(state, lang, lang.text().throttled, None))
}

/// `POST /` and `POST /es/`: the results, on the same URL and under the same title as the form,
/// so neither history nor a tab title says what was searched. Always anonymous matching
/// (coordinates snapped), whoever is signed in.
pub async fn lookup_results(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: Result<Form, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let lang = lang_of(&req);
    let t = lang.text();
    // Not a form, or too large (415, 413): the page says so in the person's language, with an
    // empty form, never a JSON error.
    let form = match form {
        Ok(form) => form,
        Err(e) => {
            return Ok(refusal_page(&e, refused(&state, lang, t.unreadable, None)));
        }
    };
    // Sent again (Back, then Reload): an empty form, not the results.
    if let Some(key) = form.get(SEARCH_KEY)
        && !state.spent_searches.spend(key)
    {
        return Ok(page(
            StatusCode::OK,
            refused(&state, lang, t.search_shown_once, None),
        ));
    }
    let attempt = form
        .match_request()
        .map_err(ApiError::Invalid)
        .and_then(|request| prepare(&state, request, false));
    let (snapshot, query) = match attempt {
        Ok(prepared) => prepared,
        Err(ApiError::Invalid(e)) => {
            let errors: Vec<(String, Option<&str>)> = every_error(&state, &form, e)
                .iter()
                .map(|e| explain(e, t, lang))
                .collect();
            return Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                refused_for(&state, lang, &errors, Some(&form)),
            ));
        }
        Err(e @ ApiError::IndexLoading) => {
            return Ok(refusal_page(
                &e,
                refused(&state, lang, t.starting, Some(&form)),
            ));
        }
        Err(e) => return Err(e),
    };
    let outcome = snapshot.find(&query, RegionLocator::bundled(), state.boundaries);
    let lines = local_lines(&state, &snapshot, &query);
    let local_lines = lines_not_among(&lines, &outcome, LOCAL_LINES_SHOWN);
    let markup = lookup_page(
        &state,
        lang,
        html! {
            (results::survivor_results(&outcome, &local_lines, results::Reader::survivor(lang, chrono::Utc::now(), query.age)))
            h2 { (t.new_search) }
            (search_form(lang, Some(&form), &[]))
        },
    );
    Ok(page(StatusCode::OK, markup))
}

/// The local crisis lines that serve the place searched, whatever was asked: a county's 24/7
/// survivor line is a call a person can make now, beside the national ones. Asked for, they
/// are among the results already (and this is empty). What a place must offer (pets, no ID)
/// and "open now" are not asked of a line, which talks to anyone (lines closed now come after
/// the others). Like the national lines, one that does not list the language asked answers
/// through an interpreter, and says so.
pub(crate) fn local_lines<'s>(
    state: &AppState,
    snapshot: &'s Snapshot,
    query: &MatchQuery,
) -> MatchOutcome<'s> {
    let hotline = NeedSet::of(&[Need::Hotline]);
    if query.needs.count_common(hotline) != 0 {
        return MatchOutcome::default();
    }
    let lines = MatchQuery {
        needs: hotline,
        languages: Vec::new(),
        require: 0,
        open_now: false,
        limit: LOCAL_LINES_ASKED,
        ..query.clone()
    };
    let mut found = snapshot.find(&lines, RegionLocator::bundled(), state.boundaries);
    for line in &mut found.results {
        if !query.languages.is_empty()
            && !line.languages.iter().any(|l| query.languages.contains(l))
        {
            line.why.push(Reason::Says(LACKS_LANGUAGE));
        }
    }
    found
}

/// The first `most` of [`local_lines`]' lines that `outcome`'s results do not list already:
/// those open now (or answered around the clock) first, in their order.
pub(crate) fn lines_not_among<'l, 's>(
    lines: &'l MatchOutcome<'s>,
    outcome: &MatchOutcome<'_>,
    most: usize,
) -> Vec<&'l ServiceMatch<'s>> {
    let mut shown: Vec<&ServiceMatch<'s>> = lines
        .results
        .iter()
        .filter(|m| m.traits.is_hotline())
        .filter(|m| !outcome.results.iter().any(|r| r.service_id == m.service_id))
        .collect();
    // Stable: closed lines keep their order after the open ones.
    shown.sort_by_key(|m| m.open_now == Some(false));
    shown.truncate(most);
    shown
}
