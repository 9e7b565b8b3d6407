//! Authorization (SAFETY.md rules 10 and 12): every endpoint of the route table, called by every
//! kind of caller, answers what this file says it should; a refused call writes nothing.

use diesel::prelude::*;
use haven::auth::Role;
use haven::routes::ENDPOINTS;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    TestApp, create_session, create_token, create_user, intake_phone, into_response, service_body,
    spawn_app,
};

/// Who calls. Providers come twice: staff of the organization that owns the objects the
/// requests name, and staff of another one.
#[derive(Debug, Clone, Copy)]
enum Who {
    Anonymous,
    Admin,
    Hotline,
    Caseworker,
    OwnProvider,
    OtherProvider,
}

const CALLERS: [Who; 6] = [
    Who::Anonymous,
    Who::Admin,
    Who::Hotline,
    Who::Caseworker,
    Who::OwnProvider,
    Who::OtherProvider,
];

/// What a call must answer: 2xx, or a refusal.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Ok,
    /// 401: sign in first.
    Anon,
    /// 403: the role may not call this route.
    Deny,
    /// 404: the object is not the caller's, and answers as if absent.
    Hide,
    /// 422 naming the organization: a provider naming another organization's id gets what an
    /// unknown id gets.
    Unknown,
}

use Want::{Anon, Deny, Hide, Ok as Yes, Unknown};

/// The expected answer per endpoint, in `CALLERS` order:
/// anonymous, admin, hotline, caseworker, own provider, other provider.
const EXPECTED: &[(&str, &str, [Want; 6])] = &[
    ("GET", "/healthz", [Yes, Yes, Yes, Yes, Yes, Yes]),
    ("GET", "/readyz", [Yes, Yes, Yes, Yes, Yes, Yes]),
    (
        "GET",
        "/api/v1/openapi.json",
        [Yes, Yes, Yes, Yes, Yes, Yes],
    ),
    ("GET", "/api/v1/needs", [Yes, Yes, Yes, Yes, Yes, Yes]),
    ("POST", "/api/v1/match", [Yes, Yes, Yes, Yes, Yes, Yes]),
    ("GET", "/api/v1/regions", [Yes, Yes, Yes, Yes, Yes, Yes]),
    (
        "POST",
        "/api/v1/regions/search",
        [Yes, Yes, Yes, Yes, Yes, Yes],
    ),
    ("POST", "/api/v1/session", [Yes, Yes, Yes, Yes, Yes, Yes]),
    ("GET", "/api/v1/session", [Anon, Yes, Yes, Yes, Yes, Yes]),
    ("DELETE", "/api/v1/session", [Anon, Yes, Yes, Yes, Yes, Yes]),
    (
        "GET",
        "/api/v1/organizations",
        [Anon, Yes, Yes, Yes, Yes, Yes],
    ),
    (
        "POST",
        "/api/v1/organizations",
        [Anon, Yes, Deny, Deny, Deny, Deny],
    ),
    (
        "GET",
        "/api/v1/organizations/{id}",
        [Anon, Yes, Yes, Yes, Yes, Hide],
    ),
    (
        "PATCH",
        "/api/v1/organizations/{id}",
        [Anon, Yes, Deny, Deny, Deny, Deny],
    ),
    (
        "DELETE",
        "/api/v1/organizations/{id}",
        [Anon, Yes, Deny, Deny, Deny, Deny],
    ),
    ("GET", "/api/v1/services", [Anon, Yes, Yes, Yes, Yes, Yes]),
    (
        "POST",
        "/api/v1/services",
        [Anon, Yes, Deny, Deny, Yes, Unknown],
    ),
    (
        "GET",
        "/api/v1/services/{id}",
        [Anon, Yes, Yes, Yes, Yes, Hide],
    ),
    (
        "PUT",
        "/api/v1/services/{id}",
        [Anon, Yes, Deny, Deny, Yes, Hide],
    ),
    (
        "PATCH",
        "/api/v1/services/{id}",
        [Anon, Yes, Deny, Deny, Yes, Hide],
    ),
    (
        "DELETE",
        "/api/v1/services/{id}",
        [Anon, Yes, Deny, Deny, Deny, Deny],
    ),
    (
        "PATCH",
        "/api/v1/services/{id}/capacity",
        [Anon, Yes, Deny, Deny, Yes, Hide],
    ),
    // Hotline and caseworker reveals are off unless the deployment enables them
    // (tests/api/reveal.rs covers that); admins maintain the directory and never need them.
    (
        "POST",
        "/api/v1/services/{id}/reveal",
        [Anon, Deny, Deny, Deny, Yes, Hide],
    ),
    ("GET", "/api/v1/audit", [Anon, Yes, Deny, Deny, Deny, Deny]),
    // Pages. The survivor lookup is for everyone; console actions follow the API's rules.
    ("GET", "/", [Yes, Yes, Yes, Yes, Yes, Yes]),
    ("POST", "/", [Yes, Yes, Yes, Yes, Yes, Yes]),
    ("GET", "/es/", [Yes, Yes, Yes, Yes, Yes, Yes]),
    ("POST", "/es/", [Yes, Yes, Yes, Yes, Yes, Yes]),
    ("GET", "/assets/{file}", [Yes, Yes, Yes, Yes, Yes, Yes]),
    ("GET", "/favicon.ico", [Yes, Yes, Yes, Yes, Yes, Yes]),
    ("GET", "/console", [Yes, Yes, Yes, Yes, Yes, Yes]),
    ("POST", "/console/sign-in", [Yes, Yes, Yes, Yes, Yes, Yes]),
    ("POST", "/console/sign-out", [Anon, Yes, Yes, Yes, Yes, Yes]),
    ("POST", "/console/search", [Anon, Yes, Yes, Yes, Yes, Yes]),
    (
        "POST",
        "/console/reveal",
        [Anon, Deny, Deny, Deny, Yes, Hide],
    ),
    ("POST", "/console/slip", [Anon, Yes, Yes, Yes, Yes, Hide]),
    (
        "POST",
        "/console/capacity",
        [Anon, Yes, Deny, Deny, Yes, Hide],
    ),
    (
        "POST",
        "/console/front-door",
        [Anon, Yes, Deny, Deny, Yes, Hide],
    ),
    (
        "POST",
        "/console/status",
        [Anon, Yes, Deny, Deny, Yes, Hide],
    ),
    (
        "POST",
        "/console/directory",
        [Anon, Yes, Deny, Deny, Deny, Deny],
    ),
    (
        "POST",
        "/console/organizations",
        [Anon, Yes, Deny, Deny, Deny, Deny],
    ),
    (
        "POST",
        "/console/services/edit",
        [Anon, Yes, Deny, Deny, Deny, Deny],
    ),
    (
        "POST",
        "/console/services/save",
        [Anon, Yes, Deny, Deny, Deny, Deny],
    ),
];

/// A request body: JSON for the API, a form for the pages.
enum Body {
    Json(Value),
    Form(String),
}

const PASSWORD: &str = "matrix password 1";

struct World {
    app: TestApp,
    own_org: Uuid,
    users: Vec<(Who, Uuid)>,
}

impl World {
    async fn new() -> World {
        let app = spawn_app().await;
        let own_org = app.create_organization("Own").await;
        let other_org = app.create_organization("Other").await;
        let mut users = Vec::new();
        for (who, role, org) in [
            (Who::Admin, Role::Admin, None),
            (Who::Hotline, Role::Hotline, None),
            (Who::Caseworker, Role::Caseworker, None),
            (Who::OwnProvider, Role::Provider, Some(own_org)),
            (Who::OtherProvider, Role::Provider, Some(other_org)),
        ] {
            let email = format!("{who:?}@example.org").to_lowercase();
            users.push((who, create_user(&app.db, &email, PASSWORD, role, org)));
        }
        World {
            app,
            own_org,
            users,
        }
    }

    /// A fresh session for `who` (so that signing out in one cell does not affect the next).
    fn credential(&self, who: Who) -> Option<String> {
        let (_, user) = self
            .users
            .iter()
            .find(|(w, _)| std::mem::discriminant(w) == std::mem::discriminant(&who))?;
        Some(create_session(&self.app.db, *user))
    }

    /// A confidential service of the own organization, new for each call.
    async fn service(&self) -> Uuid {
        let mut body = service_body(self.own_org);
        body["phones"] = intake_phone();
        body["location"] = json!({"lat": 37.8, "lon": -122.27, "confidential": true,
            "address": {"street": "1 Hidden Way", "city": "Oakland"}});
        let res = self.app.create_service(&body).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        res.body["id"].as_str().unwrap().parse().unwrap()
    }

    /// The concrete request for an endpoint: path (ids filled in) and body.
    async fn request(&self, method: &str, pattern: &str, who: Who) -> (String, Option<Body>) {
        let own = self.own_org;
        match (method, pattern) {
            ("POST", "/api/v1/match") => (
                pattern.into(),
                Some(Body::Json(
                    json!({"location": {"postal_code": "94110"}, "needs": ["shelter"]}),
                )),
            ),
            ("POST", "/api/v1/regions/search") => {
                (pattern.into(), Some(Body::Json(json!({"q": "alameda"}))))
            }
            ("POST", "/api/v1/session") => {
                let email = format!("matrix-{}@example.org", Uuid::new_v4());
                create_user(&self.app.db, &email, PASSWORD, Role::Hotline, None);
                (
                    pattern.into(),
                    Some(Body::Json(json!({"email": email, "password": PASSWORD}))),
                )
            }
            ("POST", "/api/v1/organizations") => {
                (pattern.into(), Some(Body::Json(json!({"name": "New"}))))
            }
            ("PATCH", "/api/v1/organizations/{id}") => (
                format!("/api/v1/organizations/{own}"),
                Some(Body::Json(json!({"description": "changed"}))),
            ),
            ("DELETE", "/api/v1/organizations/{id}") => {
                // Deletable only when empty: a fresh organization without services or users.
                let empty = self.app.create_organization("Empty").await;
                (format!("/api/v1/organizations/{empty}"), None)
            }
            ("GET", "/api/v1/organizations/{id}") => (format!("/api/v1/organizations/{own}"), None),
            ("POST", "/api/v1/services") => (pattern.into(), Some(Body::Json(service_body(own)))),
            ("PUT", "/api/v1/services/{id}") => {
                let id = self.service().await;
                // Its sealed location is kept, and with it the need of an intake line.
                let mut body = service_body(own);
                body["phones"] = intake_phone();
                (format!("/api/v1/services/{id}"), Some(Body::Json(body)))
            }
            ("PATCH", "/api/v1/services/{id}") => {
                let id = self.service().await;
                (
                    format!("/api/v1/services/{id}"),
                    Some(Body::Json(
                        json!({"phones": [{"number": "+1 510 555 0100", "type": "voice"}]}),
                    )),
                )
            }
            ("PATCH", "/api/v1/services/{id}/capacity") => {
                let id = self.service().await;
                (
                    format!("/api/v1/services/{id}/capacity"),
                    Some(Body::Json(json!({"available": 2, "total": 10}))),
                )
            }
            ("POST", "/api/v1/services/{id}/reveal") => {
                let id = self.service().await;
                (
                    format!("/api/v1/services/{id}/reveal"),
                    Some(Body::Json(json!({"reason": "intake call, warm transfer"}))),
                )
            }
            (_, "/api/v1/services/{id}") => {
                let id = self.service().await;
                (format!("/api/v1/services/{id}"), None)
            }
            ("POST", "/" | "/es/") => (
                pattern.into(),
                Some(Body::Form("zip=94110&need=shelter&age=17".into())),
            ),
            ("GET", "/assets/{file}") => ("/assets/haven.css".into(), None),
            ("POST", "/console/sign-in") => {
                let email = format!("console-{}@example.org", Uuid::new_v4());
                create_user(&self.app.db, &email, PASSWORD, Role::Caseworker, None);
                (
                    pattern.into(),
                    Some(Body::Form(format!(
                        "email={}&password={}",
                        email.replace('@', "%40"),
                        PASSWORD.replace(' ', "+")
                    ))),
                )
            }
            ("POST", "/console/sign-out") => (pattern.into(), Some(Body::Form(String::new()))),
            ("POST", "/console/search") => (
                pattern.into(),
                Some(Body::Form("zip=94110&need=shelter".into())),
            ),
            ("POST", "/console/reveal") => {
                let id = self.service().await;
                (
                    pattern.into(),
                    Some(Body::Form(format!("service_id={id}&reason=warm+transfer"))),
                )
            }
            ("POST", "/console/slip") => {
                let id = self.service().await;
                (pattern.into(), Some(Body::Form(format!("service_id={id}"))))
            }
            ("POST", "/console/directory") => (pattern.into(), Some(Body::Form("q=Own".into()))),
            ("POST", "/console/organizations") => (
                pattern.into(),
                Some(Body::Form("name=Made+in+the+console".into())),
            ),
            ("POST", "/console/services/edit") => {
                let id = self.service().await;
                (pattern.into(), Some(Body::Form(format!("service_id={id}"))))
            }
            ("POST", "/console/services/save") => {
                let id = self.service().await;
                let version = self.app.editor_version(id).await;
                let form = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("service_id", &id.to_string())
                    .append_pair("version", &version)
                    .append_pair("organization_id", &own.to_string())
                    .append_pair(
                        "body",
                        &{
                            let mut body = service_body(own);
                            body["phones"] = intake_phone();
                            body
                        }
                        .to_string(),
                    )
                    .append_pair("region", "US-06001")
                    .finish();
                (pattern.into(), Some(Body::Form(form)))
            }
            ("POST", "/console/front-door") => {
                let id = self.service().await;
                // The version of the phones and hours the form was made from.
                let stored = haven::db::services::find(&mut self.app.db.connect(), id)
                    .unwrap()
                    .unwrap();
                let shown = haven::web::console::front_door_version(&stored);
                (
                    pattern.into(),
                    Some(Body::Form(format!(
                        "service_id={id}&shown={shown}&phones=713-555-0100%2C+voice&hours=mon+09%3A00-17%3A00+America%2FChicago"
                    ))),
                )
            }
            ("POST", "/console/status") => {
                let id = self.service().await;
                (
                    pattern.into(),
                    Some(Body::Form(format!(
                        "service_id={id}&status=temporarily_closed"
                    ))),
                )
            }
            ("POST", "/console/capacity") => {
                let id = self.service().await;
                (
                    pattern.into(),
                    Some(Body::Form(format!("service_id={id}&available=1&total=4"))),
                )
            }
            _ => {
                assert!(
                    !pattern.contains('{'),
                    "{method} {pattern}: no request written for it ({who:?})"
                );
                (pattern.into(), None)
            }
        }
    }
}

/// Form posts answer 303 on success: the answer to the post itself is what is checked.
fn no_redirects() -> reqwest::Client {
    crate::helpers::client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn written(app: &TestApp) -> (i64, i64, i64, i64) {
    (
        app.db.count("change_log"),
        app.db.count("service"),
        app.db.count("organization"),
        app.db.count("audit_event"),
    )
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_table_says() {
    // The table here and the route table in the code must name the same endpoints: a new route
    // without an expectation (or an expectation for a route that is gone) fails.
    for endpoint in ENDPOINTS {
        assert!(
            EXPECTED
                .iter()
                .any(|(m, p, _)| *m == endpoint.method && *p == endpoint.path),
            "{} {} has no expected answers in tests/api/auth.rs",
            endpoint.method,
            endpoint.path
        );
    }
    for (method, path, _) in EXPECTED {
        assert!(
            ENDPOINTS
                .iter()
                .any(|e| e.method == *method && e.path == *path),
            "{method} {path} is expected but is not in the route table"
        );
    }

    let world = World::new().await;
    let client = no_redirects();
    let mut failures = Vec::new();
    for (method, pattern, wants) in EXPECTED {
        for (who, want) in CALLERS.iter().zip(wants) {
            let (path, body) = world.request(method, pattern, *who).await;
            let credential = world.credential(*who);
            let before = written(&world.app);
            let mut req = client.request(method.parse::<Method>().unwrap(), world.app.url(&path));
            if let Some(credential) = &credential {
                req = req.bearer_auth(credential);
            }
            req = match body {
                Some(Body::Json(value)) => req.json(&value),
                Some(Body::Form(text)) => req
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(text),
                None => req,
            };
            let res = into_response(req.send().await.unwrap()).await;
            // The console answers a refusal with a page, the API with its envelope.
            let page = res.body.as_str().unwrap_or_default();
            let console = pattern.starts_with("/console");
            let ok = match want {
                Want::Ok => res.status.is_success() || res.status == StatusCode::SEE_OTHER,
                Want::Anon => res.status == StatusCode::UNAUTHORIZED,
                Want::Deny => res.status == StatusCode::FORBIDDEN,
                Want::Hide if console => {
                    res.status == StatusCode::NOT_FOUND && page.contains("no such service")
                }
                Want::Hide => res.status == StatusCode::NOT_FOUND && res.code() == "not_found",
                Want::Unknown if console => {
                    res.status == StatusCode::UNPROCESSABLE_ENTITY
                        && page.contains("organization_id")
                }
                Want::Unknown => {
                    res.status == StatusCode::UNPROCESSABLE_ENTITY
                        && res.field() == "organization_id"
                }
            };
            if !ok {
                failures.push(format!(
                    "{method} {pattern} as {who:?}: want {want:?}, got {} {}",
                    res.status, res.body
                ));
            }
            if *want != Want::Ok && written(&world.app) != before {
                failures.push(format!(
                    "{method} {pattern} as {who:?} was refused but wrote something"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The console's write forms refuse a field they do not have, as the API's bodies do (SAFETY.md
/// rule 13), and write nothing; the same forms without it succeed in the table above.
#[tokio::test]
async fn console_write_forms_refuse_unknown_fields_and_write_nothing() {
    let world = World::new().await;
    let client = no_redirects();
    let mut failures = Vec::new();
    for (pattern, who) in [
        ("/console/sign-in", Who::Anonymous),
        ("/console/reveal", Who::OwnProvider),
        ("/console/capacity", Who::OwnProvider),
        ("/console/status", Who::OwnProvider),
        ("/console/front-door", Who::OwnProvider),
        ("/console/organizations", Who::Admin),
        ("/console/services/save", Who::Admin),
    ] {
        let (path, body) = world.request("POST", pattern, who).await;
        let Some(Body::Form(form)) = body else {
            panic!("{pattern} is a form post")
        };
        let credential = world.credential(who);
        let before = (written(&world.app), world.app.db.count("user_session"));
        let mut req = client
            .post(world.app.url(&path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("{form}&planted_field=1"));
        if let Some(credential) = credential {
            req = req.bearer_auth(credential);
        }
        let res = into_response(req.send().await.unwrap()).await;
        let page = res.body.as_str().unwrap_or_default();
        if res.status != StatusCode::UNPROCESSABLE_ENTITY || !page.contains("planted_field") {
            failures.push(format!("{pattern}: {} {}", res.status, res.body));
        }
        // Creating the request's fixtures wrote before `before`; the post itself writes nothing.
        if (written(&world.app), world.app.db.count("user_session")) != before {
            failures.push(format!("{pattern} wrote something"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn api_tokens_pass_the_same_gate_and_revoked_ones_are_refused() {
    let app = spawn_app().await;
    let own = app.create_organization("Own").await;
    let other = app.create_organization("Other").await;
    let hotline = create_token(&app.db, Role::Hotline, None);
    let provider = create_token(&app.db, Role::Provider, Some(own));
    let res = app.create_service(&service_body(other)).await;
    let foreign: Uuid = res.body["id"].as_str().unwrap().parse().unwrap();

    let res = app
        .send(
            Method::POST,
            "/api/v1/organizations",
            Some(&hotline),
            Some(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(res.code(), "forbidden");
    let res = app
        .send(
            Method::GET,
            "/api/v1/organizations",
            Some("hvn_made-up"),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers.get("www-authenticate").unwrap(), "Bearer");

    // A provider token cannot touch another organization's service, by any route.
    let before = app.db.count("change_log");
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/services/{foreign}"), None),
        (
            Method::PUT,
            format!("/api/v1/services/{foreign}"),
            Some(service_body(own)),
        ),
        (
            Method::PATCH,
            format!("/api/v1/services/{foreign}"),
            Some(json!({"schedules": []})),
        ),
        (
            Method::PATCH,
            format!("/api/v1/services/{foreign}/capacity"),
            Some(json!({"available": 0, "total": 1})),
        ),
    ] {
        let res = app
            .send(method.clone(), &path, Some(&provider), body.as_ref())
            .await;
        assert_eq!(
            res.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            res.body
        );
    }
    let res = app
        .send(
            Method::DELETE,
            &format!("/api/v1/services/{foreign}"),
            Some(&provider),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // Nor list it.
    let res = app
        .send(
            Method::GET,
            &format!("/api/v1/services?organization_id={other}"),
            Some(&provider),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["total"], 0);
    assert_eq!(app.db.count("change_log"), before);

    use haven::db::schema::api_token;
    diesel::update(api_token::table)
        .set(api_token::revoked_at.eq(diesel::dsl::now))
        .execute(&mut app.db.connect())
        .unwrap();
    let res = app
        .send(Method::GET, "/api/v1/services", Some(&provider), None)
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_provider_keeps_its_own_beds_hours_and_phones_true() {
    let app = spawn_app().await;
    let own = app.create_organization("Own").await;
    let res = app.create_service(&service_body(own)).await;
    let id = res.body["id"].as_str().unwrap().to_string();
    let provider = create_token(&app.db, Role::Provider, Some(own));

    let res = app
        .send(
            Method::PATCH,
            &format!("/api/v1/services/{id}/capacity"),
            Some(&provider),
            Some(&json!({"available": 3, "total": 12})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["capacity"]["available"], 3);
    assert!(res.body["capacity"]["reported_at"].is_string());

    let res = app
        .send(
            Method::PATCH,
            &format!("/api/v1/services/{id}"),
            Some(&provider),
            Some(&json!({
                "schedules": [{"days": ["mon", "tue"], "opens_at": "09:00", "closes_at": "17:00", "timezone": "America/Los_Angeles"}],
                "phones": [{"number": "+1 510 555 0199", "type": "text", "available_24_7": true}]
            })),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["schedules"][0]["opens_at"], "09:00");
    assert_eq!(res.body["phones"][0]["number"], "+1 510 555 0199");
    assert_eq!(res.body["capacity"]["available"], 3, "capacity stays");

    // Bad input names the field and writes nothing.
    let before = app.db.count("change_log");
    let res = app
        .send(
            Method::PATCH,
            &format!("/api/v1/services/{id}/capacity"),
            Some(&provider),
            Some(&json!({"available": 13, "total": 12})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.field(), "available");
    let res = app
        .send(
            Method::PATCH,
            &format!("/api/v1/services/{id}"),
            Some(&provider),
            Some(&json!({"name": "renamed"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.db.count("change_log"), before);

    // The next search sees the new bed count.
    app.wait_for_index().await;
    let res = app
        .find(&json!({"location": {"lat": 29.76, "lon": -95.37}, "needs": ["shelter"]}))
        .await;
    let hit = res.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["service_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{}", res.body));
    assert_eq!(hit["capacity"]["available"], 3);
}

#[tokio::test]
async fn only_admins_get_the_larger_body_limit_for_geometry() {
    let app = spawn_app().await;
    let own = app.create_organization("Own").await;
    let provider = create_token(&app.db, Role::Provider, Some(own));
    // About 100 KiB: over the 64 KiB default, well under the 4 MiB geometry limit.
    let mut body = service_body(own);
    body["description"] = json!("x".repeat(100 * 1024));
    let res = app
        .send(
            Method::POST,
            "/api/v1/services",
            Some(&provider),
            Some(&body),
        )
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.body);
    assert_eq!(app.db.count("service"), 0);
    // The admin's body gets past the size check (and fails on the description's length).
    let res = app
        .admin(Method::POST, "/api/v1/services", Some(&body))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.field(), "description");
}

#[tokio::test]
async fn the_console_editor_takes_large_pasted_areas_and_other_forms_stay_small() {
    let app = spawn_app().await;
    let own = app.create_organization("Own").await;
    let post_form = |path: &str, form: String| {
        let req = app
            .client
            .post(app.url(path))
            .bearer_auth(&app.admin_token)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form);
        async move { into_response(req.send().await.unwrap()).await }
    };
    // About 300 KiB: more than a plain form needs, well under the 4 MiB geometry limit.
    let mut body = service_body(own);
    body["description"] = json!("x".repeat(300 * 1024));
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("organization_id", &own.to_string())
        .append_pair("body", &body.to_string())
        .finish();
    let res = post_form("/console/services/save", form.clone()).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body.as_str().unwrap().contains("description"),
        "{}",
        res.body
    );
    let res = post_form("/console/search", form).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.db.count("service"), 0);
}

/// The console's service editor refuses a member given twice, as the API does: read into a
/// `Value`, the last `location` would win, and a second one saying `"confidential": false`
/// would publish a shelter's address.
#[tokio::test]
async fn the_console_editor_refuses_a_member_given_twice() {
    let app = spawn_app().await;
    let own = app.create_organization("Own").await;
    let location = |confidential: bool| {
        format!(
            r#"{{"lat": 29.76, "lon": -95.37, "confidential": {confidential}, "address": {{"street": "9 Hidden Way", "city": "Houston", "region": "TX", "postal_code": "77002", "country": "US"}}}}"#
        )
    };
    let body = format!(
        r#"{{"organization_id": "{own}", "name": "Twice", "needs": ["shelter"], "location": {}, "phones": [{{"number": "713-555-0100", "type": "voice"}}], "coverage": [{{"type": "region", "code": "US-48201"}}], "location": {}}}"#,
        location(true),
        location(false)
    );
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("organization_id", &own.to_string())
        .append_pair("body", &body)
        .finish();
    let res = app
        .client
        .post(app.url("/console/services/save"))
        .bearer_auth(&app.admin_token)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("location: appears more than once"), "{page}");
    assert!(!page.contains("has a confidential location"), "{page}");
    assert_eq!(app.db.count("service"), 0);
}

/// An editor opened before someone else changed the service (its provider updating beds) does
/// not save over that change: the save is refused with what is stored now, to be made again.
#[tokio::test]
async fn the_console_editor_does_not_save_over_a_change_made_since_it_was_opened() {
    let app = spawn_app().await;
    let own = app.create_organization("Own").await;
    let mut body = service_body(own);
    body["capacity"] = json!({"available": 1, "total": 6});
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_str().unwrap().to_string();
    let form = |pairs: &[(&str, &str)]| {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            form.append_pair(k, v);
        }
        Some(form.finish())
    };
    let version_in = |page: &str| {
        let field = r#"name="version" value=""#;
        let at = page.find(field).expect("a version") + field.len();
        page[at..at + page[at..].find('"').unwrap()].to_string()
    };
    let token = app.admin_token.clone();
    let (_, page) = app
        .console(
            &token,
            "/console/services/edit",
            form(&[("service_id", &id)]),
        )
        .await;
    let opened = version_in(&page);
    let res = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/services/{id}/capacity"),
            Some(&json!({"available": 0, "total": 6})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    body["description"] = json!("New words");
    let org = own.to_string();
    let text = body.to_string();
    let save = |version: String| {
        let sent = form(&[
            ("service_id", id.as_str()),
            ("organization_id", org.as_str()),
            ("version", version.as_str()),
            ("body", text.as_str()),
        ]);
        app.console(&token, "/console/services/save", sent)
    };
    let (status, page) = save(opened).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("Nothing was saved"), "{page}");
    // What was typed is kept on the page, to make the change again from.
    assert!(page.contains("What you typed (not saved)"), "{page}");
    assert!(page.contains("New words"), "{page}");
    // A form that does not say what it was made from is not saved either.
    let (status, page_without) = save(String::new()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page_without}");
    // Nor one that says two things: the current version and a stale one.
    let current = version_in(&page);
    let doubled = form(&[
        ("service_id", id.as_str()),
        ("organization_id", org.as_str()),
        ("version", current.as_str()),
        ("version", "2000-01-01T00:00:00.000000Z"),
        ("body", text.as_str()),
    ]);
    let (status, page_doubled) = app.console(&token, "/console/services/save", doubled).await;
    assert_eq!(status, StatusCode::CONFLICT, "{page_doubled}");
    let stored = app
        .admin(Method::GET, &format!("/api/v1/services/{id}"), None)
        .await;
    assert_eq!(stored.body["capacity"]["available"], 0);
    assert!(stored.body["description"].is_null());
    // Made again from what is stored now, it is saved.
    let (status, page) = save(version_in(&page)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Saved at"), "{page}");
}
