//! A service's status: one temporarily closed or no longer offered stays in the directory and
//! leaves every search, on every instance, until it is open again.

use haven::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    TestApp, TestDb, create_token, intake_phone, names, service_body, spawn_app, spawn_app_on,
    spawn_app_with,
};

const HOUSTON: fn() -> Value =
    || json!({"location": {"lat": 29.76, "lon": -95.37}, "needs": ["shelter"], "limit": 50});

/// The names `app` answers for a shelter search in Houston, once it has every change, in name
/// order (places at one spot rank by id, which is random).
async fn found(app: &TestApp) -> Vec<String> {
    app.wait_for_index().await;
    let res = app.find(&HOUSTON()).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let mut found = names(&res.body["results"]);
    found.sort();
    found
}

async fn shelter(app: &TestApp, org: Uuid, name: &str, status: Option<&str>) -> String {
    let mut body = service_body(org);
    body["name"] = json!(name);
    if let Some(status) = status {
        body["status"] = json!(status);
    }
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(res.body["status"], status.unwrap_or("active"));
    res.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_closed_service_leaves_every_search_until_it_is_opened_again() {
    let a = spawn_app().await;
    let b = spawn_app_on(a.db.shared()).await;
    let org = a.create_organization("Harbor Org").await;
    let flooded = shelter(&a, org, "Flooded Shelter", None).await;
    shelter(&a, org, "Dry Shelter", None).await;
    shelter(&a, org, "Ended Program", Some("inactive")).await;
    // HSDS's spelling is taken, and stored in Haven's.
    let mut hsds = service_body(org);
    hsds["name"] = json!("Closed For Repairs");
    hsds["status"] = json!("temporarily closed");
    let res = a.create_service(&hsds).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(res.body["status"], "temporarily_closed");
    assert_eq!(found(&b).await, ["Dry Shelter", "Flooded Shelter"]);

    // Its provider closes it for now: both instances leave it out.
    let provider = create_token(&a.db, Role::Provider, Some(org));
    let path = format!("/api/v1/services/{flooded}");
    let closed = json!({"status": "temporarily_closed"});
    let res = a
        .send(Method::PATCH, &path, Some(&provider), Some(&closed))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["status"], "temporarily_closed");
    assert_eq!(found(&b).await, ["Dry Shelter"]);
    assert_eq!(found(&a).await, ["Dry Shelter"]);

    // A replacement that does not say its status keeps it: a client that knows nothing of
    // statuses does not open a closed place again.
    let mut renamed = service_body(org);
    renamed["name"] = json!("Flooded Shelter (Harbor St)");
    let res = a.admin(Method::PUT, &path, Some(&renamed)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["status"], "temporarily_closed");
    // An instance started now loads the directory without it.
    let c = spawn_app_on(a.db.shared()).await;
    assert_eq!(found(&c).await, ["Dry Shelter"]);

    // The maintainers find what is closed.
    let res = a
        .admin(
            Method::GET,
            "/api/v1/services?status=temporarily_closed",
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(
        names(&res.body["data"]),
        ["Closed For Repairs", "Flooded Shelter (Harbor St)"]
    );
    let res = a
        .admin(Method::GET, "/api/v1/services?status=closed", None)
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.field(), "status", "{}", res.body);

    // A status of another type is told what to send.
    let res = a
        .send(
            Method::PATCH,
            &path,
            Some(&provider),
            Some(&json!({"status": 1})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.field(), "status", "{}", res.body);
    let message = res.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("expected a string: one of the codes"),
        "{message}"
    );
    // An unknown status is refused and writes nothing.
    let res = a
        .send(
            Method::PATCH,
            &path,
            Some(&provider),
            Some(&json!({"status": "closed"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.field(), "status", "{}", res.body);
    let res = a.admin(Method::GET, &path, None).await;
    assert_eq!(res.body["status"], "temporarily_closed");

    // Opened again, it is found again, under its new name.
    let open = json!({"status": "active"});
    let res = a
        .send(Method::PATCH, &path, Some(&provider), Some(&open))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(
        found(&b).await,
        ["Dry Shelter", "Flooded Shelter (Harbor St)"]
    );
    assert_eq!(
        found(&c).await,
        ["Dry Shelter", "Flooded Shelter (Harbor St)"]
    );
}

/// A provider closes and opens a service from the console, and the page says what that does.
#[tokio::test]
async fn a_provider_closes_a_service_from_the_console() {
    let app = spawn_app().await;
    let org = app.create_organization("Harbor Org").await;
    let id = shelter(&app, org, "Flooded Shelter", None).await;
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let (_, page) = app.console(&provider, "/console", None).await;
    assert!(page.contains(r#"action="/console/status""#), "{page}");
    assert!(
        page.contains(r#"<option value="active" selected>Open</option>"#),
        "{page}"
    );

    let form = |status: &str| Some(format!("service_id={id}&status={status}"));
    let (status, page) = app
        .console(&provider, "/console/status", form("temporarily_closed"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Flooded Shelter is now temporarily closed: searches leave it out"),
        "{page}"
    );
    assert!(
        page.contains(r#"<option value="temporarily_closed" selected>"#),
        "{page}"
    );
    assert_eq!(found(&app).await, Vec::<String>::new());
    // A results page opened before it closed offers its referral note: none is printed.
    let (status, note) = app
        .console(&provider, "/console/slip", Some(format!("service_id={id}")))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{note}");
    assert!(
        note.contains("is temporarily closed: it is not taking referrals"),
        "{note}"
    );
    // The admin's directory says so beside its name.
    let (_, directory) = app
        .console(
            &app.admin_token,
            "/console/directory",
            Some("q=Harbor".into()),
        )
        .await;
    assert!(
        directory.contains(r#"<span class="tag closed">Temporarily closed</span>"#),
        "{directory}"
    );

    let (status, page) = app
        .console(&provider, "/console/status", form("shut"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("Not updated: status: choose open"), "{page}");

    let (status, page) = app
        .console(&provider, "/console/status", form("active"))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("searches find it again"), "{page}");
    assert_eq!(found(&app).await, ["Flooded Shelter"]);
    let (status, note) = app
        .console(&provider, "/console/slip", Some(format!("service_id={id}")))
        .await;
    assert_eq!(status, StatusCode::OK, "{note}");
    assert!(note.contains("Appointment note"), "{note}");
}

/// A sealed address is revealed to send someone there: while the place takes no referrals,
/// only its own staff may see it.
#[tokio::test]
async fn a_closed_places_sealed_address_is_for_its_own_staff_only() {
    let app = spawn_app_with(TestDb::new(), |s| s.reveal_roles = vec![Role::Hotline]).await;
    let org = app.create_organization("Harbor Org").await;
    let mut body = service_body(org);
    body["phones"] = intake_phone();
    body["coverage"] = json!([{"type": "region", "code": "US-48201"}]);
    body["location"] = json!({"lat": 29.75, "lon": -95.40, "confidential": true,
        "address": {"street": "1 Quietwater Lane", "city": "Houston", "region": "TX"}});
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let path = format!("/api/v1/services/{}", res.body["id"].as_str().unwrap());
    let hotline = create_token(&app.db, Role::Hotline, None);
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let reveal = |token: &str| {
        let (token, path, app) = (token.to_string(), format!("{path}/reveal"), &app);
        async move {
            let reason = json!({"reason": "warm transfer of a caller"});
            app.send(Method::POST, &path, Some(&token), Some(&reason))
                .await
        }
    };
    assert_eq!(reveal(&hotline).await.status, StatusCode::OK);

    let closed = json!({"status": "temporarily_closed"});
    let res = app.admin(Method::PATCH, &path, Some(&closed)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = reveal(&hotline).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.body);
    assert!(!res.body.to_string().contains("Quietwater"), "{}", res.body);
    // The console says why, as the note does, not just "This could not be done (409)".
    let id = path.rsplit('/').next().unwrap();
    let (status, page) = app
        .console(
            &hotline,
            "/console/reveal",
            Some(format!("service_id={id}&reason=warm+transfer+of+a+caller")),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(
        page.contains("This service is temporarily closed or no longer offered"),
        "{page}"
    );
    assert!(
        page.contains(r#"value="warm transfer of a caller""#),
        "{page}"
    );
    assert!(!page.contains("Quietwater"), "{page}");
    let res = reveal(&provider).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["address"]["street"], "1 Quietwater Lane");
}
