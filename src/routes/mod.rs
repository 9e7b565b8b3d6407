//! The HTTP surface: one table of every endpoint with who may call it, from which the router
//! is built, so a route cannot exist without an access rule. [`gate`] enforces the rule before
//! any handler or body extractor runs; handlers then check objects against the caller's scope.

pub(crate) mod audit;
mod health;
pub(crate) mod idempotency;
pub(crate) mod matching;
mod needs;
mod openapi;
pub(crate) mod organizations;
pub(crate) mod regions;
mod service_changes;
pub(crate) mod services;
pub(crate) mod session;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, Resource, ResponseError, guard, web};
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::auth::{self, Caller, Presented, Role};
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::startup::{self, AppState, DB_DEADLINE};
use crate::web::{self as pages, console, directory};

pub use session::normalize_email;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Everyone, anonymous callers included (rate-limited when anonymous).
    Public,
    /// Any signed-in caller.
    SignedIn,
    /// Only these roles; others get 403, anonymous callers 401.
    Roles(&'static [Role]),
}

const ADMIN: Access = Access::Roles(&[Role::Admin]);
const STAFF_AND_PROVIDERS: Access = Access::Roles(&Role::ALL);
const MAINTAINERS: Access = Access::Roles(&[Role::Admin, Role::Provider]);
/// Reveal: a provider's own staff, and hotline or caseworker users where the deployment allows
/// (`HAVEN_REVEAL_ROLES`, checked by the handler).
const REVEALERS: Access = Access::Roles(&[Role::Provider, Role::Hotline, Role::Caseworker]);

#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

/// Declares every endpoint once: method, path, access rule and handler. Expands to the public
/// [`ENDPOINTS`] table and to [`router`].
macro_rules! endpoints {
    ($($method:ident $path:literal $access:expr => $handler:path;)*) => {
        pub const ENDPOINTS: &[Endpoint] = &[
            $(Endpoint { method: stringify!($method), path: $path, access: $access },)*
        ];

        /// Every route Haven answers. A path with a method it does not take answers 405; an
        /// unknown path 404; both in the error envelope.
        pub fn router(cfg: &mut web::ServiceConfig) {
            let mut resources: Vec<(&'static str, Resource)> = Vec::new();
            $(add_route(&mut resources, $path, route(Method::$method).to($handler));)*
            cfg.app_data(web::PathConfig::default().error_handler(|_, _| ApiError::NotFound.into()));
            for (_, resource) in resources {
                cfg.service(resource);
            }
            cfg.default_service(web::to(not_found));
        }
    };
}

endpoints! {
    GET "/healthz" Access::Public => health::healthz;
    GET "/readyz" Access::Public => health::readyz;
    GET "/api/v1/openapi.json" Access::Public => openapi::document;
    GET "/api/v1/needs" Access::Public => needs::list;
    POST "/api/v1/match" Access::Public => matching::find;
    GET "/api/v1/regions" Access::Public => regions::list;
    POST "/api/v1/regions/search" Access::Public => regions::search;
    POST "/api/v1/session" Access::Public => session::create;
    GET "/api/v1/session" Access::SignedIn => session::show;
    DELETE "/api/v1/session" Access::SignedIn => session::delete;
    GET "/api/v1/organizations" STAFF_AND_PROVIDERS => organizations::list;
    POST "/api/v1/organizations" ADMIN => organizations::create;
    GET "/api/v1/organizations/{id}" STAFF_AND_PROVIDERS => organizations::get;
    PATCH "/api/v1/organizations/{id}" ADMIN => organizations::update;
    DELETE "/api/v1/organizations/{id}" ADMIN => organizations::delete;
    GET "/api/v1/services" STAFF_AND_PROVIDERS => services::list;
    POST "/api/v1/services" MAINTAINERS => services::create;
    GET "/api/v1/services/{id}" STAFF_AND_PROVIDERS => services::get;
    PUT "/api/v1/services/{id}" MAINTAINERS => services::replace;
    PATCH "/api/v1/services/{id}" MAINTAINERS => services::update;
    DELETE "/api/v1/services/{id}" ADMIN => services::delete;
    PATCH "/api/v1/services/{id}/capacity" MAINTAINERS => services::update_capacity;
    POST "/api/v1/services/{id}/reveal" REVEALERS => services::reveal;
    GET "/api/v1/audit" ADMIN => audit::list;
    GET "/" Access::Public => pages::lookup_form;
    POST "/" Access::Public => pages::lookup_results;
    GET "/es/" Access::Public => pages::lookup_form;
    POST "/es/" Access::Public => pages::lookup_results;
    GET "/assets/{file}" Access::Public => pages::asset;
    GET "/favicon.ico" Access::Public => pages::no_icon;
    GET "/console" Access::Public => console::home;
    POST "/console/sign-in" Access::Public => console::sign_in_post;
    POST "/console/sign-out" Access::SignedIn => console::sign_out;
    POST "/console/search" STAFF_AND_PROVIDERS => console::search;
    POST "/console/reveal" REVEALERS => console::reveal;
    POST "/console/slip" STAFF_AND_PROVIDERS => console::slip;
    POST "/console/capacity" MAINTAINERS => console::capacity;
    POST "/console/status" MAINTAINERS => console::status;
    POST "/console/front-door" MAINTAINERS => console::front_door;
    POST "/console/directory" ADMIN => directory::directory;
    POST "/console/organizations" ADMIN => directory::create_organization;
    POST "/console/services/edit" ADMIN => directory::edit;
    POST "/console/services/save" ADMIN => directory::save;
}

/// A route for `method`. `GET` routes answer `HEAD` too, as HTTP expects (link checkers and
/// monitors ask with it); actix-http sends the head of the answer without its body.
fn route(method: Method) -> actix_web::Route {
    if method == Method::GET {
        web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
    } else {
        web::method(method)
    }
}

/// The method whose endpoint answers a request: `HEAD` is answered as `GET`.
fn endpoint_method(method: &Method) -> &str {
    if method == Method::HEAD {
        Method::GET.as_str()
    } else {
        method.as_str()
    }
}

/// Adds `route` to the resource for `path`, creating it (with its 405 fallback) on first use.
fn add_route(
    resources: &mut Vec<(&'static str, Resource)>,
    path: &'static str,
    route: actix_web::Route,
) {
    let index = resources
        .iter()
        .position(|(p, _)| *p == path)
        .unwrap_or_else(|| {
            resources.push((path, resource(path)));
            resources.len() - 1
        });
    let existing = std::mem::replace(&mut resources[index].1, web::resource(path));
    resources[index].1 = existing.route(route);
}

/// The access rule of the endpoint this request is for; `None` when no endpoint matches
/// (the request then ends in 404 or 405).
fn access_for(req: &ServiceRequest) -> Option<Access> {
    let pattern = req.match_pattern()?;
    let method = endpoint_method(req.method());
    ENDPOINTS
        .iter()
        .find(|e| e.path == pattern && e.method == method)
        .map(|e| e.access)
}

/// Runs before every handler: limits anonymous clients, resolves the caller, and applies the
/// endpoint's access rule, so a caller without the right role learns nothing about the body it
/// sent. Leaves [`Caller`] in the request for handlers.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let signing_out = matches!(
        (req.method(), req.path()),
        (&Method::POST, "/console/sign-out") | (&Method::DELETE, "/api/v1/session")
    );
    let mut res = admit_and_call(req, next).await?;
    // Signing out while Postgres is away: the session cannot be ended where it is kept (it
    // ends by itself when idle), but this browser can forget it, which is what matters on a
    // shared computer.
    if signing_out && res.status() == actix_web::http::StatusCode::SERVICE_UNAVAILABLE {
        if is_console(res.request().path())
            && let Some(state) = res.request().app_data::<web::Data<AppState>>().cloned()
        {
            let (req, _) = res.into_parts();
            res = ServiceResponse::new(req, console::signed_out_here(&state)).map_into_right_body();
        }
        let forget = session::session_cookie(res.request(), None);
        res.response_mut().add_cookie(&forget)?;
    }
    Ok(res)
}

/// [`gate`]'s work: admits the caller, then runs the handler, with refusals as pages on the
/// console and the survivor page.
async fn admit_and_call(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    match admit(&req).await {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            let res = next.call(req).await?;
            // A console handler's refusal is a page for the person at the browser.
            if is_console(res.request().path())
                && let Some(error) = res
                    .response()
                    .error()
                    .and_then(|e| e.as_error::<ApiError>())
                && let Some(state) = res.request().app_data::<web::Data<AppState>>()
            {
                let page = console::error_page(state, error);
                let (req, _) = res.into_parts();
                return Ok(ServiceResponse::new(req, page).map_into_right_body());
            }
            Ok(res.map_into_left_body())
        }
        // A browser on the console without a live session gets the sign-in form.
        Err(ApiError::Unauthorized) if is_console(req.path()) => {
            let mut req = req;
            let response = match req.app_data::<web::Data<AppState>>().cloned() {
                Some(state) => console::sign_in_required(&state, &mut req).await,
                None => ApiError::Unauthorized.error_response(),
            };
            Ok(req.into_response(response).map_into_right_body())
        }
        // A person on the survivor page gets a page saying to wait, not a JSON error.
        Err(e @ ApiError::TooManyRequests { .. }) if pages::is_lookup(req.path()) => {
            let response = match req.app_data::<web::Data<AppState>>() {
                Some(state) => pages::throttled(req.request(), state, &e),
                None => e.error_response(),
            };
            Ok(req.into_response(response).map_into_right_body())
        }
        Err(e) => {
            let response = match req.app_data::<web::Data<AppState>>() {
                Some(state) if is_console(req.path()) => console::error_page(state, &e),
                _ => e.error_response(),
            };
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

/// Whether a path is the operator console's: its people use a browser, so refusals are
/// pages, and it cannot serve anyone whose session it cannot check.
fn is_console(path: &str) -> bool {
    path.starts_with("/console")
}

/// The fixed files every page loads, answered from memory (by path: the route's pattern is
/// a new string each time it is asked for, and this is asked on every anonymous request).
fn is_page_furniture(req: &ServiceRequest) -> bool {
    matches!(*req.method(), Method::GET | Method::HEAD)
        && (req.path().starts_with("/assets/") || req.path() == "/favicon.ico")
}

/// How long looking up a caller's credentials may take. A public route (matching, the pages)
/// serves an unchecked caller as an anonymous one, so it waits less than a route that cannot
/// serve at all without the lookup.
fn lookup_deadline(access: Option<Access>) -> Duration {
    if access == Some(Access::Public) {
        Duration::from_secs(2)
    } else {
        DB_DEADLINE
    }
}

/// The API routes that read a query string: the lists and their pages.
const TAKE_QUERIES: [&str; 4] = [
    "/api/v1/services",
    "/api/v1/organizations",
    "/api/v1/regions",
    "/api/v1/audit",
];

/// A query string on an API route that reads none is refused, not ignored: a client that put
/// a search's place or a password in the address (SAFETY.md rule 5: proxies, logs and
/// histories keep it) must learn it, not be answered as if all were well. Nothing of it is
/// repeated back.
fn refuse_stray_query(req: &ServiceRequest) -> Result<(), ApiError> {
    // Asked first: almost no request has a query string, and a route's pattern is a new
    // string each time it is asked for.
    if req.query_string().is_empty() || !req.path().starts_with("/api/") {
        return Ok(());
    }
    let takes_query = matches!(*req.method(), Method::GET | Method::HEAD)
        && req
            .match_pattern()
            .is_some_and(|pattern| TAKE_QUERIES.contains(&pattern.as_str()));
    // A method or path with no endpoint answers 405 or 404 as it is.
    if takes_query || access_for(req).is_none() {
        return Ok(());
    }
    Err(ApiError::Invalid(FieldError::invalid(
        "query",
        "this route takes no query parameters: a search's place and needs, and passwords, go in the body, never in the address",
    )))
}

async fn admit(req: &ServiceRequest) -> Result<Caller, ApiError> {
    refuse_stray_query(req)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
    let access = access_for(req);
    let ip = state.client_ip(req.request());
    let principal = match auth::presented(req.request()) {
        // A page's own stylesheet and script (and the icon browsers ask for) cost nothing to
        // send and come with every page: counted, a page loaded near the limit would lose its
        // styling and its Esc key.
        None if is_page_furniture(req) => None,
        None => {
            state.throttles.anonymous(ip)?;
            None
        }
        // Postgres is down: public routes serve at once, as below, rather than each waiting
        // to find that out again; a probe in the background finds when it is back.
        Some(_) if access == Some(Access::Public) && state.outage.is_down() => {
            startup::probe_if_due(&state);
            // Staff on the console are told Postgres is away, not shown the sign-in form
            // as if their session had ended.
            if is_console(req.path()) {
                return Err(ApiError::Unavailable(anyhow::anyhow!(
                    "Postgres is away; the console cannot check sessions"
                )));
            }
            state.throttles.anonymous(ip)?;
            None
        }
        // A client still refused for guessing is not looked up at all.
        Some(_) if let Err(refused) = state.throttles.credential(ip) => return Err(refused),
        // Postgres was just found unreachable, and this route cannot do without it.
        Some(_) if state.outage.is_recent() => {
            return Err(ApiError::Unavailable(anyhow::anyhow!(
                "Postgres was found unreachable moments ago"
            )));
        }
        Some(presented) => match auth::resolve(&state, &presented, lookup_deadline(access)).await {
            Ok(principal) => Some(principal),
            // A stale session cookie must not lock anyone out of the public pages.
            Err(ApiError::Unauthorized)
                if matches!(presented, Presented::Cookie(_)) && access == Some(Access::Public) =>
            {
                state.throttles.failed_credential(ip)?;
                None
            }
            Err(ApiError::Unauthorized) => {
                state.throttles.failed_credential(ip)?;
                return Err(ApiError::Unauthorized);
            }
            // Postgres is away: public routes (matching) still serve, as to an anonymous
            // caller, within the anonymous allowance (credentials that cannot be checked must
            // not be a way around it).
            Err(ApiError::Unavailable(_))
                if access == Some(Access::Public) && !is_console(req.path()) =>
            {
                state.throttles.anonymous(ip)?;
                None
            }
            Err(e) => return Err(e),
        },
    };
    match (access, &principal) {
        (None | Some(Access::Public), _) => {}
        (Some(_), None) => return Err(ApiError::Unauthorized),
        (Some(Access::SignedIn), Some(_)) => {}
        (Some(Access::Roles(roles)), Some(p)) => {
            if !roles.contains(&p.role) {
                return Err(ApiError::Forbidden);
            }
        }
    }
    Ok(Caller(principal))
}

/// A resource whose unsupported methods answer 405 in the envelope.
fn resource(path: &str) -> Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// An unknown path: in the envelope under `/api/`; elsewhere someone typed or followed an
/// address in a browser, and gets a page (quick exit, safety note, the search) instead.
async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if req.path().starts_with("/api/") {
        return Err(ApiError::NotFound);
    }
    Ok(pages::no_such_page(&req))
}

/// 405, with the `Allow` header HTTP asks for: the methods the route table has for this path.
async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let pattern = req.match_pattern();
    let mut allowed: Vec<&str> = ENDPOINTS
        .iter()
        .filter(|e| pattern.as_deref() == Some(e.path))
        .map(|e| e.method)
        .collect();
    if allowed.contains(&"GET") {
        allowed.push("HEAD");
    }
    // A console address opened by typing it, reloading it or restoring its tab: a page
    // leading back, as the console answers every refusal (never the API's JSON).
    let mut response = match crate::web::console::opened_without_its_form(&req) {
        Some(page) => page,
        None => ApiError::MethodNotAllowed.error_response(),
    };
    if let Ok(value) = header::HeaderValue::from_str(&allowed.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// `?page=&per_page=`: pages count from 1; at most 100 items a page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub page: Option<i64>,
    pub per_page: Option<i64>,
}

pub const MAX_PER_PAGE: i64 = 100;
const DEFAULT_PER_PAGE: i64 = 20;

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: i64,
    pub per_page: i64,
}

impl PageRequest {
    pub fn parse(page: Option<i64>, per_page: Option<i64>) -> Result<Self, FieldError> {
        let page = page.unwrap_or(1);
        let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE);
        if page < 1 {
            return Err(FieldError::invalid("page", "must be 1 or more"));
        }
        if !(1..=MAX_PER_PAGE).contains(&per_page) {
            return Err(FieldError::invalid(
                "per_page",
                format!("must be between 1 and {MAX_PER_PAGE}"),
            ));
        }
        Ok(PageRequest { page, per_page })
    }

    pub fn offset(self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

impl<T> Page<T> {
    pub fn new(data: Vec<T>, request: PageRequest, total: i64) -> Self {
        Page {
            data,
            page: request.page,
            per_page: request.per_page,
            total,
        }
    }
}
