//! `/console`: the operator console. Hotline operators and caseworkers search with every filter
//! and exact coordinates, reveal a confidential address with a reason (audited) where allowed,
//! and print a discreet referral slip; providers keep their own beds current. Sign-in uses the
//! same sessions as the API; the session cookie is `HttpOnly` and `SameSite=Strict`, and every
//! form post must come from this site (`Origin` check).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::dev::ServiceRequest;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError as _, web};
use chrono::Utc;
use maud::{Markup, html};
use uuid::Uuid;

use super::results::{Reader, age, card, reason_words, text_line, with_room_first};
use super::text::{CONSOLE, EN, Lang, language_code};
use super::{
    FORM_LIMIT, Form, coverage_map, error_id, every_error, layout, lines_not_among, lines_to_call,
    local_lines, page, refusal_page,
};
use crate::auth::{Caller, Principal, Role, Signed};
use crate::boundaries::{Boundaries, Region, RegionKind};
use crate::db::services as service_rows;
use crate::domain::FieldError;
use crate::domain::coverage::Coverage;
use crate::domain::eligibility::Facet;
use crate::domain::need::Need;
use crate::domain::phone::{PhoneInput, PhoneKind};
use crate::domain::schedule::ScheduleInput;
use crate::domain::schedule::day_code;
use crate::domain::service::{CapacityInput, ServicePatch, ServicePatchInput, ServiceStatus};
use crate::error::ApiError;
use crate::matching::index::PhoneWords;
use crate::matching::load::schedule_of;
use crate::matching::regions::RegionLocator;
use crate::routes::matching::prepare;
use crate::routes::services::{Unchanged, apply_patch, may_reveal, reveal_location};
use crate::routes::session::{end, session_cookie, sign_in};
use crate::startup::AppState;

const TITLE: &str = "Haven console";

fn console_page(state: &AppState, caller: Option<&Principal>, body: Markup) -> Markup {
    layout::page(
        &CONSOLE,
        &state.quick_exit_url,
        TITLE,
        html! {
            @if let Some(p) = caller {
                form method="post" action="/console/sign-out" class="no-print" {
                    p class="muted" { "Signed in as " (p.role.code()) " · " button type="submit" class="secondary" { "Sign out" } }
                }
            }
            (body)
        },
    )
}

/// A console page for a signed-in caller, as a response.
pub(crate) fn signed_page(
    state: &AppState,
    caller: &Principal,
    status: StatusCode,
    body: Markup,
) -> HttpResponse {
    page(status, console_page(state, Some(caller), body))
}

/// Form posts must come from Haven's own pages: a cross-site form cannot carry the
/// `SameSite=Strict` cookie anyway, and this refuses it before anything else happens. Browsers
/// say where a request comes from in `Sec-Fetch-Site`; `Origin` is the fallback, and is
/// `null` on our own pages because of `Referrer-Policy: no-referrer`.
fn same_origin(req: &HttpRequest) -> Result<(), ApiError> {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return if matches!(site, "same-origin" | "none") {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        };
    }
    match header(header::ORIGIN.as_str()) {
        None | Some("null") => Ok(()),
        Some(origin) => {
            let info = req.connection_info();
            if origin == format!("{}://{}", info.scheme(), info.host()) {
                Ok(())
            } else {
                Err(ApiError::Forbidden)
            }
        }
    }
}

/// A console form post: refused unless it comes from Haven's own pages ([`same_origin`]),
/// then read as a [`Form`].
pub struct ConsoleForm<const LIMIT: usize = FORM_LIMIT>(pub Form<LIMIT>);

impl<const LIMIT: usize> FromRequest for ConsoleForm<LIMIT> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let origin = same_origin(req);
        let form = Form::<LIMIT>::from_request(req, payload);
        Box::pin(async move {
            origin?;
            Ok(ConsoleForm(form.await?))
        })
    }
}

fn redirect_to_console() -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console"))
        .finish()
}

/// The sign-in form; after a refusal it keeps the email typed (never the password) and puts
/// the cursor where the next thing is to be typed. `search`: a search sent when the session
/// had ended, carried in the form (never the address) and run once signed in again.
fn sign_in_form(message: Option<&str>, email: &str, search: &Form) -> Markup {
    html! {
        h1 { "Sign in" }
        @if let Some(m) = message { p class="error" role="alert" { (m) } }
        form method="post" action="/console/sign-in" {
            label { "Email" input type="email" name="email" autocomplete="username" required value=(email) autofocus[email.is_empty()]; }
            label { "Password" input type="password" name="password" autocomplete="current-password" required autofocus[!email.is_empty()]; }
            @for (name, value) in &search.0 {
                input type="hidden" name={ (CARRIED) (name) } value=(value);
            }
            p { button type="submit" { "Sign in" } }
        }
    }
}

/// Before the names of a search's fields carried through the sign-in form.
const CARRIED: &str = "search.";

/// The search members of a console form (a search, or a sign-in carrying one), without
/// `prefix`: only what a search takes.
fn search_fields(form: &Form, prefix: &str) -> Form {
    const SEARCH: [&str; 11] = [
        "zip", "region", "lat", "lon", "need", "require", "age", "gender", "language", "open_now",
        "always",
    ];
    Form(
        form.0
            .iter()
            .filter_map(|(name, value)| {
                let name = name.strip_prefix(prefix)?;
                SEARCH
                    .contains(&name)
                    .then(|| (name.to_string(), value.clone()))
            })
            .collect(),
    )
}

/// The search form of the console, every filter, keyboard first, filled in with what was
/// sent. `invalid`: the inputs the errors above it are about, each marked invalid and
/// described by its error; the first has the focus.
fn search_form(form: Option<&Form>, invalid: &[&str]) -> Markup {
    let value = |name: &str| form.and_then(|f| f.get(name)).unwrap_or("").to_string();
    let checked = |name: &str, v: &str| form.is_some_and(|f| f.all(name).iter().any(|x| x == v));
    let wrong = |name: &str| invalid.contains(&name).then_some("true");
    let described = |name: &str| invalid.contains(&name).then(|| error_id(Some(name)));
    let focus = |name: &str| match invalid.first() {
        Some(first) => *first == name,
        None => form.is_none() && name == "zip",
    };
    html! {
        form method="post" action="/console/search" {
            // What an operator on a call asks first: who is open now, who answers around the clock.
            div class="row" {
                label class="check" {
                    input type="checkbox" name="open_now" value="1" checked[form.is_some_and(|f| f.get("open_now").is_some())];
                    span { "Open now" }
                }
                label class="check" {
                    input type="checkbox" name="always" value="1" checked[form.is_some_and(|f| f.get("always").is_some())];
                    span { "24/7 lines only" }
                }
            }
            div class="row" {
                label { "ZIP code" input type="text" name="zip" autofocus[focus("zip")] autocomplete="off" value=(value("zip"))
                    aria-invalid=[wrong("zip")] aria-describedby=[described("zip")]; }
                label { "or county or state (e.g. Harris County, TX)" input type="text" name="region" autofocus[focus("region")] autocomplete="off" value=(value("region"))
                    aria-invalid=[wrong("region")] aria-describedby=[described("region")]; }
            }
            div class="row" {
                label { "or latitude" input type="text" name="lat" autofocus[focus("lat")] autocomplete="off" value=(value("lat"))
                    aria-invalid=[wrong("lat")] aria-describedby=[described("lat")]; }
                label { "longitude" input type="text" name="lon" autofocus[focus("lon")] autocomplete="off" value=(value("lon"))
                    aria-invalid=[wrong("lon")] aria-describedby=[described("lon")]; }
            }
            fieldset aria-describedby=[described("need")] {
                legend { "Needs" }
                @for (i, need) in Need::ALL.iter().enumerate() {
                    label class="check" {
                        input type="checkbox" name="need" value=(need.code()) checked[checked("need", need.code())]
                            autofocus[i == 0 && focus("need")] aria-invalid=[wrong("need")];
                        span { (need.describe().label.en) }
                    }
                }
            }
            fieldset {
                legend { "Must offer" }
                @for facet in Facet::ALL {
                    label class="check" {
                        input type="checkbox" name="require" value=(facet.code()) checked[checked("require", facet.code())];
                        span { (facet.words()) }
                    }
                }
            }
            div class="row" {
                label { "Age" input type="number" name="age" min="0" max="130" autocomplete="off" autofocus[focus("age")] value=(value("age"))
                    aria-invalid=[wrong("age")] aria-describedby=[described("age")]; }
                label { "Gender"
                    select name="gender" {
                        option value="" { "any" }
                        @for g in ["female", "male", "nonbinary"] { option value=(g) selected[value("gender") == g] { (g) } }
                    }
                }
                label { "Languages (names or two-letter codes, e.g. Spanish, vi)" input type="text" name="language" maxlength="200" autocomplete="off" autofocus[focus("language")] value=(value("language"))
                    aria-invalid=[wrong("language")] aria-describedby=[described("language")]; }
            }
            button type="submit" { "Search" }
        }
    }
}

/// The console input a refused search is about, and what to tell the operator: what to fix,
/// in plain words, naming the input as the form does.
fn console_error(e: &FieldError) -> (Option<&'static str>, String) {
    let field = e.field.as_str();
    let input = match field {
        "zip" | "location" | "location.postal_code" => Some("zip"),
        "lat" | "location.lat" => Some("lat"),
        "lon" | "location.lon" => Some("lon"),
        "region" | "location.region" => Some("region"),
        "age" => Some("age"),
        f if f.starts_with("needs") => Some("need"),
        f if f.starts_with("languages") => Some("language"),
        _ => None,
    };
    let words = match input {
        Some("need") if field == "needs" => "Needs: tick at least one.".to_string(),
        Some("need") => "Needs: one of them is not a need this console knows.".to_string(),
        _ if e.code == "unknown_postal_code" => "ZIP code: no such US ZIP code is known (PO box ZIP codes are not). Check it, or search by a nearby ZIP code, the county, or coordinates.".to_string(),
        Some("zip") => format!("ZIP code: {}.", e.message),
        Some("region") => format!("County or state: {}.", e.message),
        Some("lat") => format!("Latitude: {}.", e.message),
        Some("lon") => format!("Longitude: {}.", e.message),
        Some("age") => "Age: a whole number from 0 to 130.".to_string(),
        Some("language") => "Languages: names or two-letter codes, such as Spanish, vi (Vietnamese) or zh (Chinese).".to_string(),
        _ => format!("{}: {}.", e.field, e.message),
    };
    (input, words)
}

/// What an operator types, as the search takes it: languages by name or code, several at once
/// ("Spanish, vi"), as codes; a coordinate pair pasted from a map into the latitude box
/// ("29.75, -95.40") as latitude and longitude.
fn typed_as_asked(form: &mut Form) {
    let languages: Vec<String> = form
        .all("language")
        .iter()
        .flat_map(|typed| {
            typed
                .split([',', ';'])
                .flat_map(|part| match language_code(part) {
                    Some(code) => vec![code.to_string()],
                    // Codes, or what is not a language Haven names (refused as such).
                    None => part.split_whitespace().map(str::to_lowercase).collect(),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    form.0.retain(|(name, _)| name != "language");
    form.0.extend(
        languages
            .into_iter()
            .map(|code| ("language".to_string(), code)),
    );
    // A pair in either box while the other is empty: "29.75, -95.40" or "29.75 -95.40".
    let pair = match (form.get("lat"), form.get("lon")) {
        (Some(one), None) | (None, Some(one)) => {
            two_numbers(one).map(|(lat, lon)| (lat.to_string(), lon.to_string()))
        }
        _ => None,
    };
    if let Some((lat, lon)) = pair {
        form.0.retain(|(name, _)| name != "lat" && name != "lon");
        form.0.push(("lat".into(), lat));
        form.0.push(("lon".into(), lon));
    }
}

/// `text` as two numbers apart by a comma or spaces, as maps copy a point.
fn two_numbers(text: &str) -> Option<(&str, &str)> {
    let mut parts = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty());
    let (first, second) = (parts.next()?, parts.next()?);
    let is_number = |p: &str| p.parse::<f64>().is_ok_and(f64::is_finite);
    (parts.next().is_none() && is_number(first) && is_number(second)).then_some((first, second))
}

/// A refusal of one of the languages asked (`languages[i]`), naming it as the search took it:
/// the operator typed it, and of several, which one is wrong is what needs saying.
fn unknown_language(e: &FieldError, form: &Form) -> Option<(Option<&'static str>, String)> {
    let index: usize = e
        .field
        .strip_prefix("languages[")?
        .strip_suffix(']')?
        .parse()
        .ok()?;
    let typed = form.all("language").into_iter().nth(index)?;
    Some((
        Some("language"),
        format!(
            "Languages: \u{201c}{typed}\u{201d} is not a language name or two-letter code known here; write it as Spanish or es, Vietnamese or vi."
        ),
    ))
}

/// The region code a county or state typed by name or code means ([`Boundaries::meant`]);
/// several are named back with their codes, to choose from.
fn region_code(boundaries: &Boundaries, typed: &str) -> Result<String, FieldError> {
    // The country is not a place to search from (and its name is in the Virgin Islands').
    let country = [
        "united states",
        "united states of america",
        "usa",
        "us",
        "america",
    ];
    if country.contains(&typed.trim().to_lowercase().as_str()) {
        return Err(FieldError::invalid(
            "region",
            "the whole country is not searched from one place: give the state or county, a ZIP code or coordinates (national lines come back with every search)",
        ));
    }
    let hits = match boundaries.meant(typed) {
        Ok(region) => return Ok(region.code.clone()),
        Err(candidates) => candidates,
    };
    match hits.as_slice() {
        [] => Err(FieldError::invalid(
            "region",
            "no US county or state by that name is known; write it as \"Harris County, TX\", a state's name, or a code such as US-48201",
        )),
        // With its code, which tells apart places of one name (Baltimore County and the city
        // of Baltimore are both "Baltimore, MD"), and which the input takes.
        several => Err(FieldError::invalid(
            "region",
            format!(
                "more than one place is called that: {}; write one's code, or its name as shown",
                several
                    .iter()
                    .take(6)
                    .map(|r| format!("{} ({})", r.label(), r.code))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )),
    }
}

/// A provider's own services, with their bed counts and a form to update each.
/// What the provider page says after one of its forms.
enum Outcome {
    Done(String),
    /// Nothing was written for `service`.
    Refused {
        service: Uuid,
        message: String,
        typed: Typed,
    },
}

/// Where a refused front-door form's phones and hours (as typed) go on the page again.
enum Typed {
    /// Not a front-door form.
    Nothing,
    /// Into the form, to be put right.
    InForm(String, String),
    /// Beside the form, which shows what is stored now: the phones or hours changed after
    /// the form was shown.
    Beside(String, String),
}

async fn provider_view(
    state: &AppState,
    caller: &Principal,
    outcome: Option<Outcome>,
) -> Result<Markup, ApiError> {
    let org = caller.scope().organization();
    let (records, _) = state
        .db(move |conn| {
            let filter = service_rows::ListFilter {
                organization_id: org,
                status: None,
            };
            Ok(service_rows::list(conn, filter, 0, 100)?)
        })
        .await?;
    let now = Utc::now();
    let refused = match &outcome {
        Some(Outcome::Refused {
            service,
            message,
            typed,
        }) => Some((*service, message.as_str(), typed)),
        _ => None,
    };
    Ok(html! {
        h1 { "Your services" }
        @match &outcome {
            Some(Outcome::Done(n)) => p class="notice" role="status" { (n) },
            Some(Outcome::Refused { .. }) => p class="error" role="alert" { "Not updated: see the service below. Nothing was changed." },
            None => {},
        }
        @for record in &records {
            @let s = &record.service;
            @let this_refused = refused.filter(|(id, _, _)| *id == s.id);
            article class="result" data-service=(s.id) {
                h2 { (s.name) }
                @if let Some((_, message, _)) = this_refused {
                    p class="error" role="alert" { "Not updated: " (message) }
                }
                (status_form(s.id, s.status()))
                // Beds are asked of places that offer them (shelter, housing) or have a count.
                @let offers_beds = s.capacity().is_some()
                    || record.needs.iter().any(|n| n == "shelter" || n == "transitional_housing");
                @if offers_beds {
                    @match s.capacity() {
                        Some((available, total, reported_at)) => p class="capacity" {
                            (available) " / " (total) " beds free · updated " (age(reported_at, now, Lang::En))
                            " (" (reported_at.format("%Y-%m-%d %H:%M UTC")) ")"
                        },
                        None => p class="muted" { "No bed count yet." },
                    }
                    form method="post" action="/console/capacity" {
                        input type="hidden" name="service_id" value=(s.id);
                        div class="row" {
                            label { "Beds free" input type="number" name="available" min="0" required value=[s.capacity_available]; }
                            label { "Beds in all" input type="number" name="total" min="0" required value=[s.capacity_total]; }
                        }
                        button type="submit" { "Update beds" }
                    }
                }
                @let typed = this_refused.map_or(&Typed::Nothing, |(_, _, typed)| typed);
                @let (phones, hours) = match typed {
                    Typed::InForm(phones, hours) => (phones.clone(), hours.clone()),
                    _ => (phones_text(&record.phones), hours_text(&record.schedules)),
                };
                @if record.location.as_ref().is_some_and(|l| l.confidential) {
                    (reveal_form(s.id, Some(&s.name), true, ""))
                }
                form method="post" action="/console/front-door" {
                    input type="hidden" name="service_id" value=(s.id);
                    input type="hidden" name="shown" value=(front_door_version(record));
                    label { "Intake phones, one a line: number, voice, text or tty, then as needed 24/7, languages: en es, keyword: the word a text line asks for first, label: what the line is for"
                        textarea name="phones" rows="3" { (phones) } }
                    label { "Hours, one a line: days HH:MM-HH:MM time zone (e.g. mon tue 09:00-17:00 America/Chicago)"
                        textarea name="hours" rows="3" { (hours) } }
                    p class="muted" { "Last changed " (s.updated_at.format("%Y-%m-%d %H:%M UTC")) }
                    button type="submit" { "Update hours and phones" }
                }
                @if let Typed::Beside(phones, hours) = typed {
                    div class="overtaken" {
                        h3 { "What you typed (not saved)" }
                        label { "Your intake phones" textarea readonly rows="3" { (phones) } }
                        label { "Your hours" textarea readonly rows="3" { (hours) } }
                    }
                }
            }
        }
    })
}

/// A service's status, and the form that changes it: closing a place for now takes it out of
/// every search at once, which is what a provider whose shelter flooded needs first.
fn status_form(id: Uuid, status: ServiceStatus) -> Markup {
    html! {
        @if !status.is_offered() {
            p class="notice closed" { (status.label()) ": searches leave this service out until you open it again." }
        }
        form method="post" action="/console/status" class="row" {
            input type="hidden" name="service_id" value=(id);
            label { "Status"
                select name="status" {
                    @for option in ServiceStatus::ALL {
                        option value=(option.code()) selected[option == status] { (option.label()) }
                    }
                }
            }
            button type="submit" class="secondary" { "Update status" }
        }
    }
}

/// What a front-door form was made from: a digest of the phones and hours it showed. Its save
/// is refused when they changed since, since it would put back what someone else replaced
/// without a word; other changes (beds, which a feed may report every few minutes) do not
/// count.
pub fn front_door_version(record: &service_rows::ServiceRecord) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use sha2::{Digest, Sha256};
    let shown = format!(
        "{}\0{}",
        phones_text(&record.phones),
        hours_text(&record.schedules)
    );
    URL_SAFE_NO_PAD.encode(Sha256::digest(shown.as_bytes()))
}

/// The phones as the front-door form shows them; [`parse_phones`] reads them back whole.
fn phones_text(rows: &[service_rows::PhoneRow]) -> String {
    rows.iter()
        .map(|p| {
            let mut parts = vec![p.number.clone(), p.kind.clone()];
            if p.available_24_7 {
                parts.push("24/7".into());
            }
            let languages: Vec<&str> = p.languages.iter().flatten().map(String::as_str).collect();
            if !languages.is_empty() {
                parts.push(format!("languages: {}", languages.join(" ")));
            }
            if let Some(keyword) = &p.keyword {
                parts.push(format!("keyword: {keyword}"));
            }
            if let Some(label) = &p.label {
                parts.push(format!("label: {label}"));
            }
            parts.join(", ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn hours_text(rows: &[service_rows::ScheduleRow]) -> String {
    rows.iter()
        .map(|s| {
            let days: Vec<&str> = s.weekdays.iter().flatten().map(|d| day_code(*d)).collect();
            format!(
                "{} {}-{} {}",
                days.join(" "),
                s.opens_at.format("%H:%M"),
                s.closes_at.format("%H:%M"),
                s.timezone
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads the phones text area, a line a phone: `number, kind`, then any of `24/7`,
/// `languages: en es`, `keyword: START` and, last (it may hold commas), `label: text`.
fn parse_phones(text: &str) -> Result<Vec<PhoneInput>, FieldError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| {
            let field = format!("phones line {}", i + 1);
            let (head, label) = match line.split_once("label:") {
                Some((head, label)) => (head, Some(label.trim().to_string())),
                None => (line, None),
            };
            let mut parts = head.split(',').map(str::trim).filter(|p| !p.is_empty());
            let number = parts.next().unwrap_or_default().to_string();
            let kind = match parts.next().unwrap_or("voice") {
                "voice" => PhoneKind::Voice,
                "text" => PhoneKind::Text,
                "tty" => PhoneKind::Tty,
                other => {
                    return Err(FieldError::invalid(
                        field,
                        format!("{other:?} is not voice, text or tty"),
                    ));
                }
            };
            let mut phone = PhoneInput {
                number,
                kind,
                label: label.filter(|l| !l.is_empty()),
                keyword: None,
                available_24_7: false,
                languages: Vec::new(),
            };
            let mut seen: Vec<&str> = Vec::new();
            for part in parts {
                // Each option once: a second would silently win over the first.
                let option = part.split_once(':').map_or(part, |(name, _)| name).trim();
                if seen.contains(&option) {
                    return Err(FieldError::invalid(
                        field,
                        format!("{option:?} is written twice; write each once"),
                    ));
                }
                seen.push(option);
                if part == "24/7" {
                    phone.available_24_7 = true;
                } else if let Some(codes) = part.strip_prefix("languages:") {
                    phone.languages = codes.split_whitespace().map(str::to_string).collect();
                } else if let Some(keyword) = part.strip_prefix("keyword:") {
                    phone.keyword = Some(keyword.trim().to_string());
                } else {
                    return Err(FieldError::invalid(
                        field,
                        format!("{part:?}: after the number and kind, write 24/7, languages: en es, keyword: START, or label: text"),
                    ));
                }
            }
            Ok(phone)
        })
        .collect()
}

/// Reads the hours text area: `days HH:MM-HH:MM time/zone` a line.
fn parse_hours(text: &str) -> Result<Vec<ScheduleInput>, FieldError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let bad = || {
                FieldError::invalid(
                    format!("hours line {}", i + 1),
                    "write days, then HH:MM-HH:MM, then the time zone, e.g. mon tue 09:00-17:00 America/Chicago",
                )
            };
            let [days @ .., times, timezone] = words.as_slice() else {
                return Err(bad());
            };
            let (opens, closes) = times.split_once('-').ok_or_else(bad)?;
            if days.is_empty() {
                return Err(bad());
            }
            Ok(ScheduleInput {
                days: days.iter().map(|d| d.to_string()).collect(),
                opens_at: opens.to_string(),
                closes_at: closes.to_string(),
                timezone: timezone.to_string(),
            })
        })
        .collect()
}

/// `POST /console/front-door`: a provider's intake phones and hours, replaced as written.
pub async fn front_door(
    state: web::Data<AppState>,
    Signed(caller): Signed,
    ConsoleForm(form): ConsoleForm,
) -> Result<HttpResponse, ApiError> {
    form.only(&["service_id", "shown", "phones", "hours"])?;
    let id = service_id(&form)?;
    let shown = form.get("shown").unwrap_or_default().to_string();
    let unchanged: Unchanged = Box::new(move |stored| {
        if front_door_version(stored) == shown {
            return Ok(());
        }
        // No time: the service's last change may have been another (its status, its beds).
        Err(ApiError::Conflict(
            "its phones or hours were changed after this page was shown. What is stored now is in the form; what you typed is below it."
                .into(),
        ))
    });
    let patch = parse_phones(&form.raw("phones")).and_then(|phones| {
        let schedules = parse_hours(&form.raw("hours"))?;
        ServicePatch::parse(ServicePatchInput {
            phones: Some(phones),
            schedules: Some(schedules),
            capacity: None,
            status: None,
        })
    });
    let (phones, hours) = (form.raw("phones"), form.raw("hours"));
    let outcome = match write_patch(&state, &caller, id, patch, Some(unchanged)).await? {
        Ok(record) => Outcome::Done(format!(
            "Hours and phones updated for {} at {}.",
            record.service.name,
            record.service.updated_at.format("%H:%M UTC")
        )),
        Err(NotWritten::Refused(e)) => Outcome::Refused {
            service: id,
            message: format!("{}: {}", line_of(&e.field), e.message),
            typed: Typed::InForm(phones, hours),
        },
        Err(NotWritten::Overtaken(message)) => Outcome::Refused {
            service: id,
            message,
            typed: Typed::Beside(phones, hours),
        },
    };
    provider_page(&state, &caller, outcome).await
}

/// Where in the front-door form a refused member is: `phones[1].number` is "phones line 2",
/// `schedules[0].timezone` "hours line 1"; other fields as they are.
fn line_of(field: &str) -> String {
    let numbered = |prefix: &str, words: &str| {
        let rest = field.strip_prefix(prefix)?;
        let (n, _) = rest.split_once(']')?;
        Some(format!("{words} line {}", n.parse::<usize>().ok()? + 1))
    };
    numbered("phones[", "phones")
        .or_else(|| numbered("schedules[", "hours"))
        .unwrap_or_else(|| field.to_string())
}

/// Why a provider form's patch was not written, for the page to show.
enum NotWritten {
    /// By the form's parse or by the write's rules.
    Refused(FieldError),
    /// The service changed after the form was shown (409).
    Overtaken(String),
}

/// Writes a provider form's patch. A refusal is the inner error, for the page to show;
/// anything else answers as an error.
async fn write_patch(
    state: &AppState,
    caller: &Principal,
    id: Uuid,
    patch: Result<ServicePatch, FieldError>,
    unchanged: Option<Unchanged>,
) -> Result<Result<service_rows::ServiceRecord, NotWritten>, ApiError> {
    let patch = match patch {
        Ok(patch) => patch,
        Err(refused) => return Ok(Err(NotWritten::Refused(refused))),
    };
    match apply_patch(state, caller, id, patch, unchanged).await {
        Ok(record) => Ok(Ok(record)),
        Err(ApiError::Invalid(refused)) => Ok(Err(NotWritten::Refused(refused))),
        Err(ApiError::Conflict(message)) => Ok(Err(NotWritten::Overtaken(message))),
        Err(other) => Err(other),
    }
}

/// The provider page after a form: 200 when it was written, 422 when it was refused.
async fn provider_page(
    state: &AppState,
    caller: &Principal,
    outcome: Outcome,
) -> Result<HttpResponse, ApiError> {
    let status = match outcome {
        Outcome::Done(_) => StatusCode::OK,
        Outcome::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let body = provider_view(state, caller, Some(outcome)).await?;
    Ok(signed_page(state, caller, status, body))
}

/// `GET /console`: sign-in for anonymous callers; otherwise the view for the caller's role.
pub async fn home(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let Some(principal) = caller.0 else {
        return Ok(page(
            StatusCode::OK,
            console_page(&state, None, sign_in_form(None, "", &Form::default())),
        ));
    };
    let body = if principal.role == Role::Provider {
        provider_view(&state, &principal, None).await?
    } else {
        html! {
            h1 { "Find services" }
            (search_form(None, &[]))
            @if principal.role == Role::Admin { (super::directory::admin_tools("", None)) }
        }
    };
    Ok(signed_page(&state, &principal, StatusCode::OK, body))
}

/// `POST /console/sign-in`.
pub async fn sign_in_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    ConsoleForm(form): ConsoleForm,
) -> Result<HttpResponse, ApiError> {
    let search = search_fields(&form, CARRIED);
    let carried = form.0.iter().filter(|(name, _)| name.starts_with(CARRIED));
    if carried.count() != search.0.len() {
        return Err(FieldError::invalid("form", "unexpected field").into());
    }
    let own: Vec<_> = form
        .0
        .iter()
        .filter(|(name, _)| !name.starts_with(CARRIED))
        .cloned()
        .collect();
    Form::<FORM_LIMIT>(own).only(&["email", "password"])?;
    let email = form.get("email").unwrap_or("").to_string();
    let password = form.get("password").unwrap_or("").to_string();
    match sign_in(&state, state.client_ip(&req), &email, password).await {
        // A search sent as the session ended runs now, as the person signed in again.
        Ok(session) if !search.0.is_empty() => {
            let mut results = search_page(&state, &session.principal, search).await?;
            results
                .add_cookie(&session_cookie(&req, Some(&session.token)))
                .map_err(|e| ApiError::Internal(e.into()))?;
            Ok(results)
        }
        Ok(session) => Ok(HttpResponse::SeeOther()
            .cookie(session_cookie(&req, Some(&session.token)))
            .insert_header((header::LOCATION, "/console"))
            .finish()),
        Err(ApiError::Unauthorized) => Ok(page(
            StatusCode::UNAUTHORIZED,
            console_page(
                &state,
                None,
                sign_in_form(Some("Email or password is wrong."), &email, &search),
            ),
        )),
        Err(e @ ApiError::SignInBusy) => Ok(refusal_page(
            &e,
            console_page(
                &state,
                None,
                sign_in_form(
                    Some("Many people are signing in at once. Try again in a few seconds."),
                    &email,
                    &search,
                ),
            ),
        )),
        Err(ApiError::TooManyRequests { retry_after_secs }) => Ok(page(
            StatusCode::TOO_MANY_REQUESTS,
            console_page(
                &state,
                None,
                sign_in_form(
                    Some(&format!(
                        "Too many attempts. Try again in {retry_after_secs} seconds."
                    )),
                    &email,
                    &search,
                ),
            ),
        )),
        Err(e) => Err(e),
    }
}

/// `POST /console/sign-out`.
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    Signed(caller): Signed,
) -> Result<HttpResponse, ApiError> {
    same_origin(&req)?;
    end(&state, caller.credential).await?;
    let mut response = redirect_to_console();
    response.add_cookie(&session_cookie(&req, None)).ok();
    Ok(response)
}

/// `POST /console/search`: exact coordinates, every filter; each result with its actions.
pub async fn search(
    state: web::Data<AppState>,
    Signed(caller): Signed,
    ConsoleForm(form): ConsoleForm,
) -> Result<HttpResponse, ApiError> {
    search_page(&state, &caller, form).await
}

/// The answer to a console search by `caller`.
async fn search_page(
    state: &AppState,
    caller: &Principal,
    form: Form,
) -> Result<HttpResponse, ApiError> {
    // A county or state is typed by name, languages by name or code, coordinates pasted as
    // one pair; the request takes codes and two numbers.
    let mut request_form = Form(form.0.clone());
    typed_as_asked(&mut request_form);
    let mut errors = Vec::new();
    if let Some(typed) = form.get("region") {
        let code = region_code(state.boundaries, typed).unwrap_or_else(|e| {
            errors.push(e);
            // A known code in its place, to look for the search's other mistakes.
            "US-06075".to_string()
        });
        request_form.0.retain(|(name, _)| name != "region");
        request_form.0.push(("region".into(), code));
    }
    let attempt = request_form
        .match_request()
        .map_err(ApiError::Invalid)
        .and_then(|request| prepare(state, request, true));
    // The form again, as sent, with every mistake found in it and the crisis lines, which an
    // operator can give while the search is put right.
    let refused = |error: &ApiError, errors: &[(Option<&'static str>, String)]| {
        let invalid: Vec<&str> = errors.iter().filter_map(|(input, _)| *input).collect();
        let body = html! {
            h1 { "Find services" }
            div role="alert" {
                @for (input, message) in errors {
                    p class="error" id=(error_id(*input)) { (message) }
                }
            }
            (search_form(Some(&form), &invalid))
            (lines_to_call(state, Reader::staff(Utc::now(), None)))
        };
        refusal_page(error, console_page(state, Some(caller), body))
    };
    let (snapshot, query) =
        match (attempt, errors.pop()) {
            (Ok(_), Some(region)) => {
                let said = [console_error(&region)];
                return Ok(refused(&ApiError::Invalid(region), &said));
            }
            (Ok(prepared), None) => prepared,
            (Err(ApiError::Invalid(e)), region) => {
                let mut said: Vec<_> = region.iter().map(console_error).collect();
                let refusal = ApiError::Invalid(e.clone());
                said.extend(every_error(state, &request_form, e).iter().map(|e| {
                    unknown_language(e, &request_form).unwrap_or_else(|| console_error(e))
                }));
                return Ok(refused(&refusal, &said));
            }
            (Err(e @ ApiError::IndexLoading), _) => {
                let said = [(
                    None,
                    "The directory is still loading after a restart. Try again in a few seconds."
                        .to_string(),
                )];
                return Ok(refused(&e, &said));
            }
            (Err(e), _) => return Err(e),
        };
    let outcome = snapshot.find(&query, RegionLocator::bundled(), state.boundaries);
    // The local 24/7 crisis lines that serve the place, whatever was asked, as the survivor
    // page gives them: a warm transfer an operator can make now.
    let lines = local_lines(state, &snapshot, &query);
    // Staff see every local line (there are rarely more than a few), open ones first.
    let local_lines = lines_not_among(&lines, &outcome, usize::MAX);
    let ids: Vec<Uuid> = [
        &outcome.results,
        &outcome.hotlines,
        &outcome.nearby_outside_coverage,
    ]
    .into_iter()
    .flatten()
    .chain(local_lines.iter().copied())
    .map(|m| m.service_id)
    .collect();
    let records = state
        .db(move |conn| Ok(service_rows::find_many(conn, &ids)?))
        .await?;
    let boundaries = state.boundaries;
    let coverage_of = |id: Uuid| -> Vec<Coverage> {
        records
            .iter()
            .find(|r| r.service.id == id)
            .map(|r| {
                r.coverage
                    .iter()
                    .filter_map(|c| Coverage::from_stored(c.spec.clone(), boundaries).ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let reader = Reader::staff(Utc::now(), query.age);
    let reveal_allowed = may_reveal(state, caller);
    let own = caller.scope().organization();
    let actions = |m: &crate::matching::ServiceMatch<'_>| {
        html! {
            div class="no-print" {
                // The slip and the address open in a tab of their own, so that the results
                // stay where they were: Back to them would ask to send the search again.
                form method="post" action="/console/slip" target="_blank" {
                    input type="hidden" name="service_id" value=(m.service_id);
                    button type="submit" class="secondary" aria-label={ "Referral slip (new tab): " (m.name) } { "Referral slip (new tab)" }
                }
                @if m.confidential_location && reveal_allowed && own.is_none_or(|o| o == m.organization.id) {
                    (reveal_form(m.service_id, Some(m.name), true, ""))
                }
            }
        }
    };
    // "24/7 lines only" keeps services with a phone answered around the clock.
    let always = form.get("always").is_some();
    let shown = |m: &&crate::matching::ServiceMatch<'_>| {
        !always || m.phones.iter().any(|p| p.available_24_7)
    };
    // Places that lately reported being full after those with room, as on the survivor
    // pages: the first card is the first call.
    let section = |title: &str, list: &[&crate::matching::ServiceMatch<'_>]| {
        let shown: Vec<&crate::matching::ServiceMatch<'_>> =
            list.iter().copied().filter(shown).collect();
        html! {
            h2 { (title) " (" (shown.len()) ")" }
            @for m in shown {
                (card(m, reader,
                    coverage_map::svg(&coverage_of(m.service_id), boundaries, &format!("Area served by {}", m.name)),
                    html! {
                    p class="muted" {
                        @for w in &m.why { (reason_words(w)) "; " }
                        @if let Some(v) = m.verified_at { "verified " (v.format("%Y-%m-%d")) } @else { "not verified" }
                    }
                    (actions(m))
                }, 3))
            }
        }
    };
    // Said above the results, so that an operator sees at once which place was searched.
    let region = request_form
        .get("region")
        .and_then(|code| state.boundaries.get(code));
    let searched = match (
        request_form.get("zip"),
        request_form.get("lat"),
        request_form.get("lon"),
    ) {
        _ if let Some(region) = region => format!("{} ({})", region.label(), region.code),
        (Some(zip), _, _) => format!("ZIP code {zip}"),
        (None, Some(lat), Some(lon)) => format!("latitude {lat}, longitude {lon}"),
        _ => String::new(),
    };
    // The page opens with focus on its heading, so a screen reader says where the operator
    // is and the keyboard starts at the results; the next Tab offers the new-search form,
    // which is below every result.
    let nearby_shown = outcome.nearby_outside_coverage.iter().any(|m| shown(&m));
    let nothing_local = !outcome.results.iter().any(|m| shown(&m));
    // Beside results, the near misses are for the needs nothing local offers.
    let nearby_title = if outcome.results.is_empty() {
        "Just outside coverage".to_string()
    } else {
        let unmet: Vec<String> = outcome
            .unmet_needs
            .iter()
            .map(|n| lowercase_first(n.describe().label.en))
            .collect();
        format!("Just outside coverage, for {}", unmet.join(", "))
    };
    let results = with_room_first(&outcome.results);
    let nearby = with_room_first(&outcome.nearby_outside_coverage);
    let national: Vec<_> = outcome.hotlines.iter().collect();
    let body = html! {
        h1 id="results" tabindex="-1" autofocus { "Search results" }
        p class="searched" {
            "Searched near " strong { (searched) } " · "
            a href="#new-search" class="no-print" { "New search" }
        }
        @if let Some(region) = region.filter(|r| r.kind == RegionKind::State) {
            (state_notice(state.boundaries, region))
        }
        (section("Results", &results))
        // Nothing local: say so, and give the nearest places first, then the national lines.
        @if nothing_local {
            p class="notice" {
                "Nothing that serves this place offers what was asked."
                @if nearby_shown { " The nearest places just outside their coverage come first, then the national lines and services." }
            }
            @if nearby_shown { (section(&nearby_title, &nearby)) }
        }
        @if local_lines.iter().any(shown) {
            (section("Local crisis lines that serve this place", &local_lines))
        }
        (section("National lines and services", &national))
        @if nearby_shown && !nothing_local {
            (section(&nearby_title, &nearby))
        }
        h2 id="new-search" tabindex="-1" { "New search" }
        (search_form(Some(&form), &[]))
    };
    Ok(signed_page(state, caller, StatusCode::OK, body))
}

/// A state is searched from one point near its middle: say what that finds, and name the
/// county that shares the state's name ("New York" is the state; New York County, NY is
/// Manhattan), which is often what was meant.
fn state_notice(boundaries: &Boundaries, state: &Region) -> Markup {
    let namesake = boundaries
        .meant(&format!(
            "{} County, {}",
            state.name,
            state.state.as_deref().unwrap_or("")
        ))
        .ok()
        .filter(|r| r.kind == RegionKind::County);
    html! {
        p class="notice" {
            "A state is searched from one point near its middle: this finds the services that serve the whole state, and local ones near that point. For a person's area, search by county, ZIP code or coordinates."
            @if let Some(county) = namesake {
                " Or did you mean " (county.label()) " (" (county.code) ")?"
            }
        }
    }
}

/// The page for a console address reached other than by its form (typed, reloaded, a tab
/// restored): 405, saying so and leading back to the console. None outside the console.
pub fn opened_without_its_form(req: &HttpRequest) -> Option<HttpResponse> {
    if !req.path().starts_with("/console/") {
        return None;
    }
    let state = req.app_data::<web::Data<AppState>>()?;
    let body = html! {
        h1 { "This page comes from a form" }
        p { "It opens when one of the console's forms is sent, and not from its address or by reloading it: nothing of it was kept." }
        p { a href="/console" { "Go to the console" } }
    };
    Some(page(
        StatusCode::METHOD_NOT_ALLOWED,
        console_page(state, None, body),
    ))
}

fn service_id(form: &Form) -> Result<Uuid, ApiError> {
    form.get("service_id")
        .and_then(|v| v.parse().ok())
        .ok_or(ApiError::NotFound)
}

/// Asks for a reason, then reveals a confidential address (audited): in a new tab from a
/// page worth keeping (results, the provider's own page), in place when asked again, with the
/// reason as typed. `name`, the service's, names the button for a screen reader's list of
/// buttons, where every card's would otherwise read alike.
fn reveal_form(service_id: Uuid, name: Option<&str>, new_tab: bool, typed: &str) -> Markup {
    let words = if new_tab {
        "Reveal address (new tab)"
    } else {
        "Reveal address"
    };
    let label = name.map(|name| format!("{words}: {name}"));
    html! {
        form method="post" action="/console/reveal" target=[new_tab.then_some("_blank")] {
            input type="hidden" name="service_id" value=(service_id);
            label { "Reason for revealing the address (audited; no client names)"
                input type="text" name="reason" required minlength="3" maxlength="500" autocomplete="off" value=(typed); }
            button type="submit" aria-label=[label] { (words) }
        }
    }
}

/// `POST /console/reveal`: the address, once, with the audit record that now names the caller.
pub async fn reveal(
    state: web::Data<AppState>,
    Signed(caller): Signed,
    ConsoleForm(form): ConsoleForm,
) -> Result<HttpResponse, ApiError> {
    form.only(&["service_id", "reason"])?;
    let id = service_id(&form)?;
    let reason = form.get("reason").unwrap_or("");
    let revealed = match reveal_location(&state, &caller, id, reason).await {
        Ok(r) => r,
        // Refused for a reason the person can act on: said, with the reason as typed, to
        // send again once put right (or after the wait).
        Err(
            e @ (ApiError::Invalid(_) | ApiError::Conflict(_) | ApiError::TooManyRequests { .. }),
        ) => {
            let message = match &e {
                ApiError::Invalid(e) => e.message.clone(),
                ApiError::Conflict(message) => sentence(message),
                ApiError::TooManyRequests { retry_after_secs } => {
                    format!("Too many reveals just now. Try again in {retry_after_secs} seconds.")
                }
                _ => String::new(),
            };
            let body = html! {
                h1 { "Reveal a confidential address" }
                p class="error" role="alert" { (message) }
                (reveal_form(id, None, false, reason))
                p { a href="/console" { "Back" } }
            };
            return Ok(refusal_page(&e, console_page(&state, Some(&caller), body)));
        }
        Err(e) => return Err(e),
    };
    // Named, so that two addresses open in two tabs are not mistaken for each other.
    let only = caller.scope().organization();
    let name = state
        .db(move |conn| Ok(service_rows::find_visible(conn, id, only)?))
        .await?
        .map(|record| record.service.name)
        .unwrap_or_default();
    let a = &revealed.address;
    let body = html! {
        h1 { "Confidential address: " (name) }
        p class="notice" role="status" { "This reveal is recorded in the audit log as entry " (revealed.audit_id) "." }
        p class="address" {
            (a.street.as_deref().unwrap_or("")) br;
            (a.city.as_deref().unwrap_or("")) " " (a.region.as_deref().unwrap_or("")) " " (a.postal_code.as_deref().unwrap_or(""))
        }
        p class="muted" { "Do not write this address down or share it beyond what the intake needs." }
        p { "Close this tab when you are done: the search results are still in the tab you came from." }
    };
    Ok(signed_page(&state, &caller, StatusCode::OK, body))
}

/// `POST /console/slip`: a discreet, printable note: the intake phone large, nothing that says
/// what the service is or whom it helps, and nothing stored about the person it is for.
pub async fn slip(
    state: web::Data<AppState>,
    Signed(caller): Signed,
    ConsoleForm(form): ConsoleForm,
) -> Result<HttpResponse, ApiError> {
    let id = service_id(&form)?;
    let only = caller.scope().organization();
    let record = state
        .db(move |conn| Ok(service_rows::find_visible(conn, id, only)?))
        .await?
        .ok_or(ApiError::NotFound)?;
    // A results page opened before the place closed still offers its note: a note printed
    // now would send someone to a door that will not open.
    let status = record.service.status();
    if !status.is_offered() {
        let body = html! {
            p class="error" role="alert" {
                (record.service.name) " is " (status.label().to_lowercase())
                ": it is not taking referrals, so there is no note to print. Search again for another place."
            }
            p { a class="button secondary" href="/console" { "Back" } }
        };
        return Ok(page(
            StatusCode::CONFLICT,
            layout::page(&CONSOLE, &state.quick_exit_url, "Note", body),
        ));
    }
    // Where to go, for a public place (a walk-in legal desk); a confidential one gives its
    // city at most. The street is public already: it is on the place's own door.
    let place = record.location.as_ref().map(|l| {
        let street = (!l.confidential).then_some(l.street.as_deref()).flatten();
        [street, l.city.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
    });
    let body = html! {
        div class="slip" {
            h1 { "Appointment note" }
            @for phone in &record.phones {
                // What it takes to use the line: a text line's keyword ("Text START to
                // 88788"), and that a TTY line is one. Never its label: providers write
                // those ("Trafficking survivors' text line"), and the note must not say
                // what the place is.
                p class="phone" {
                    @match phone.kind.as_str() {
                        "text" => {
                            @let line = PhoneWords {
                                number: &phone.number,
                                label: None,
                                keyword: phone.keyword.as_deref(),
                            };
                            (text_line(line, &EN))
                        }
                        "tty" => { "TTY " (phone.number) }
                        _ => { (phone.number) }
                    }
                }
            }
            // In the cards' words: "Every day, 24 hours", "Mon Tue 9:00 AM–5:00 PM (Central time)".
            @for hours in record.schedules.iter().filter_map(schedule_of) {
                p { (hours.describe(false)) }
            }
            @if let Some(place) = place.filter(|p| !p.is_empty()) { p { (place) } }
            p class="muted" { "Ask for intake." }
            p class="no-print" { button type="button" id="print" autofocus { "Print" } }
            p class="no-print muted" { "Close this tab when you are done: the search results are still in the tab you came from." }
        }
    };
    Ok(page(
        StatusCode::OK,
        layout::page(&CONSOLE, &state.quick_exit_url, "Note", body),
    ))
}

/// `POST /console/capacity`: a provider's bed count, with the time of the update shown back.
pub async fn capacity(
    state: web::Data<AppState>,
    Signed(caller): Signed,
    ConsoleForm(form): ConsoleForm,
) -> Result<HttpResponse, ApiError> {
    form.only(&["service_id", "available", "total"])?;
    let id = service_id(&form)?;
    let number = |name: &str| {
        form.get(name)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    let patch = ServicePatch::capacity(CapacityInput {
        available: number("available"),
        total: number("total"),
    });
    let outcome = match write_patch(&state, &caller, id, patch, None).await? {
        Ok(record) => Outcome::Done(format!(
            "Beds updated for {} at {}.",
            record.service.name,
            record
                .service
                .capacity_reported_at
                .unwrap_or_else(Utc::now)
                .format("%H:%M UTC")
        )),
        // A bed count is a report of now, written whatever changed before it.
        Err(not_written) => not_changed(id, "beds", not_written),
    };
    provider_page(&state, &caller, outcome).await
}

/// What the provider page says of a one-field form (`part`: "beds") that was not written.
fn not_changed(service: Uuid, part: &str, not_written: NotWritten) -> Outcome {
    let message = match not_written {
        NotWritten::Refused(e) => format!("{part}: {}", e.message),
        NotWritten::Overtaken(message) => message,
    };
    Outcome::Refused {
        service,
        message,
        typed: Typed::Nothing,
    }
}

/// `POST /console/status`: a provider closing a service for now, or opening it again.
pub async fn status(
    state: web::Data<AppState>,
    Signed(caller): Signed,
    ConsoleForm(form): ConsoleForm,
) -> Result<HttpResponse, ApiError> {
    form.only(&["service_id", "status"])?;
    let id = service_id(&form)?;
    let patch = form
        .get("status")
        .and_then(ServiceStatus::from_code)
        .map(|status| ServicePatch {
            status: Some(status),
            ..ServicePatch::default()
        })
        .ok_or_else(|| {
            FieldError::invalid(
                "status",
                "choose open, temporarily closed or no longer offered",
            )
        });
    let outcome = match write_patch(&state, &caller, id, patch, None).await? {
        Ok(record) => {
            let status = record.service.status();
            let effect = if status.is_offered() {
                "searches find it again"
            } else {
                "searches leave it out until you open it again"
            };
            Outcome::Done(format!(
                "{} is now {}: {effect}.",
                record.service.name,
                status.label().to_lowercase()
            ))
        }
        Err(not_written) => not_changed(id, "status", not_written),
    };
    provider_page(&state, &caller, outcome).await
}

/// A refusal or failure on a console route, as a page in the console's words instead of the
/// API's JSON: the same status and `Retry-After`. Without Postgres the console cannot check
/// who is signed in, so it says so and points to the public lookup, which still answers.
pub fn error_page(state: &AppState, error: &ApiError) -> HttpResponse {
    let status = error.status_code();
    let words = match error {
        ApiError::Unauthorized => return sign_in_page(state, "Please sign in.", &Form::default()),
        ApiError::Invalid(e) => format!("{}: {}", e.field, e.message),
        ApiError::KeysNotTaken(_) => {
            "A confidential address cannot be saved or opened just now: the data key file changed and could not be taken. An operator must put it right; other changes can be saved.".to_string()
        }
        _ if status == StatusCode::SERVICE_UNAVAILABLE => {
            let body = html! {
                h1 { "Console" }
                p class="error" role="alert" {
                    "The directory database cannot be reached just now, so the console cannot check who is signed in or save anything. Try again in a minute. Searches still work on the "
                    a href="/" { "public lookup" }
                    ", without your account's exact location and details."
                }
                p { a href="/console" { "Back to the console" } }
            };
            return refusal_page(error, console_page(state, None, body));
        }
        ApiError::NotFound => {
            "There is no such service or organization, or it is not one your account may see."
                .to_string()
        }
        ApiError::Forbidden => {
            "Your role may not do this, or the form did not come from this site.".to_string()
        }
        ApiError::TooManyRequests { retry_after_secs } => {
            format!("Too many attempts. Try again in {retry_after_secs} seconds.")
        }
        ApiError::PayloadTooLarge { .. } => "What was sent is too large.".to_string(),
        // The refusal says why in words written for people ("this service is temporarily
        // closed ...").
        ApiError::Conflict(message) => sentence(message),
        ApiError::UnsupportedMediaType => "The form was not sent as a form.".to_string(),
        _ => {
            if status.is_server_error() {
                "Something went wrong on our side. Try again.".to_string()
            } else {
                format!("This could not be done ({}).", status.as_u16())
            }
        }
    };
    let body = html! {
        h1 { "Console" }
        p class="error" role="alert" { (words) }
        p { a href="/console" { "Back to the console" } }
    };
    refusal_page(error, console_page(state, None, body))
}

/// A sign-out while Postgres is away (503): the browser forgets the session (the caller adds
/// the cookie that removes it), which lives on where it is kept until it is idle too long.
pub fn signed_out_here(state: &AppState) -> HttpResponse {
    let body = html! {
        h1 { "Signed out of this browser" }
        p role="status" {
            "The directory database cannot be reached just now, so your session could not be ended everywhere: it ends by itself after 30 minutes without use. This browser no longer holds it."
        }
        p { a href="/console" { "Go to the console" } }
    };
    refusal_page(
        &ApiError::Unavailable(anyhow::anyhow!("sign-out without Postgres")),
        console_page(state, None, body),
    )
}

/// 404 for a console address that has no page, in the console's frame.
pub fn no_such_page(state: &AppState) -> HttpResponse {
    let body = html! {
        h1 { "No such page" }
        p { "There is no console page at this address." }
        p { a href="/console" { "Go to the console" } }
    };
    page(StatusCode::NOT_FOUND, console_page(state, None, body))
}

/// A label ("Legal help") inside a sentence ("for legal help").
fn lowercase_first(label: &str) -> String {
    let mut chars = label.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `words` as a sentence: a capital first, a full stop last.
fn sentence(words: &str) -> String {
    let mut chars = words.chars();
    let first: String = chars
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default();
    let rest = chars.as_str();
    let stop = if words.ends_with('.') { "" } else { "." };
    format!("{first}{rest}{stop}")
}

/// What anything under `/console` that needs a session answers without one: 401 with the
/// sign-in form, so a browser whose session expired can sign in again where it stands. A
/// session that ended is said to have ended, and a search sent with it is carried through
/// the form, to run once signed in (an operator on a call need not type it again).
pub async fn sign_in_required(state: &AppState, req: &mut ServiceRequest) -> HttpResponse {
    // A form posted from another site never carries the session cookie (SameSite=Strict): it
    // is refused here as it would be with one, before any of it is shown back.
    if req.method() == actix_web::http::Method::POST
        && let Err(refused) = same_origin(req.request())
    {
        return error_page(state, &refused);
    }
    let ended = crate::auth::presented(req.request()).is_some();
    // Signing out of a session that already ended: signed out, and the cookie forgotten.
    if ended && req.path() == "/console/sign-out" {
        let mut response = redirect_to_console();
        response
            .add_cookie(&session_cookie(req.request(), None))
            .ok();
        return response;
    }
    let search = if req.method() == actix_web::http::Method::POST && req.path() == "/console/search"
    {
        match req.extract::<Form>().await {
            Ok(form) => search_fields(&form, ""),
            Err(_) => Form::default(),
        }
    } else {
        Form::default()
    };
    let message = match (ended, search.0.is_empty()) {
        (false, _) => "Please sign in.",
        (true, true) => {
            "Your session has ended (after 30 minutes without use, or 12 hours in all). Please sign in again."
        }
        (true, false) => {
            "Your session has ended (after 30 minutes without use, or 12 hours in all). Sign in again and the search you sent will run."
        }
    };
    sign_in_page(state, message, &search)
}

/// 401 with the sign-in form, saying `message`, carrying `search`.
fn sign_in_page(state: &AppState, message: &str, search: &Form) -> HttpResponse {
    page(
        StatusCode::UNAUTHORIZED,
        console_page(state, None, sign_in_form(Some(message), "", search)),
    )
}
