//! Tiered disclosure (SAFETY.md rules 1, 2 and 4): a confidential address is sealed in the
//! database, absent from every list, match and read, and comes out only through an audited
//! reveal by the roles allowed to make one.

use diesel::connection::SimpleConnection;
use haven::auth::Role;
use haven::routes::{Access, ENDPOINTS};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{
    TestApp, TestDb, create_session, create_token, create_user, intake_phone, service_body,
    spawn_app, spawn_app_with,
};

const STREET: &str = "417 Quietwater Lane";
const POSTAL: &str = "77019";
const LAT: f64 = 29.701_234;
const LON: f64 = -95.421_234;

/// Values that must never appear outside a reveal.
fn planted() -> [String; 4] {
    [
        STREET.to_string(),
        POSTAL.to_string(),
        "29.701".to_string(),
        "95.421".to_string(),
    ]
}

fn assert_no_secret(context: &str, body: &Value) {
    let text = body.to_string();
    for secret in planted() {
        assert!(!text.contains(&secret), "{context} shows {secret}: {text}");
    }
}

async fn confidential_service(app: &TestApp, org: Uuid) -> Uuid {
    let mut body = service_body(org);
    body["phones"] = intake_phone();
    body["location"] = json!({"lat": LAT, "lon": LON, "confidential": true,
        "address": {"street": STREET, "postal_code": POSTAL, "city": "Houston", "region": "TX"}});
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    res.body["id"].as_str().unwrap().parse().unwrap()
}

async fn reveal(
    app: &TestApp,
    id: Uuid,
    credential: &str,
    reason: Value,
) -> crate::helpers::TestResponse {
    app.send(
        Method::POST,
        &format!("/api/v1/services/{id}/reveal"),
        Some(credential),
        Some(&json!({ "reason": reason })),
    )
    .await
}

#[tokio::test]
async fn a_providers_own_staff_reveal_with_a_reason_and_the_audit_trail_records_it() {
    let app = spawn_app().await;
    let org = app.create_organization("Safe House").await;
    let id = confidential_service(&app, org).await;
    let user = create_user(
        &app.db,
        "intake@example.org",
        "intake passphrase",
        Role::Provider,
        Some(org),
    );
    let session = create_session(&app.db, user);

    // No reason, a throwaway one, or one that shows nothing: 422, and nothing audited.
    for reason in [
        json!(""),
        json!("  x "),
        json!(null),
        json!("\u{200b}\u{200b}\u{200b}\u{200b}"),
        json!("\u{feff}\u{2060}a\u{200d}\u{00ad}"),
        json!("\u{115f}\u{115f}\u{115f}"),
        json!("\u{034f}\u{034f}\u{034f}ab"),
        json!("\u{0301}\u{0301}\u{0301}"),
        json!("\u{202e}intake call"),
    ] {
        let res = reveal(&app, id, &session, reason.clone()).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{reason}: {}",
            res.body
        );
        assert_eq!(res.field(), "reason");
        assert_no_secret("a refused reveal", &res.body);
    }
    assert_eq!(app.db.sealed_site_records(), 0);

    let res = reveal(&app, id, &session, json!("confirming intake for a caller")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["address"]["street"], STREET);
    assert_eq!(res.body["address"]["postal_code"], POSTAL);
    assert_eq!(res.body["address"]["lat"], LAT);
    assert_eq!(res.body["address"]["lon"], LON);
    assert_eq!(res.headers["cache-control"], "no-store");
    let audit_id = res.body["audit_id"].as_i64().unwrap();

    let admin = &app.admin_token.clone();
    let res = app
        .send(
            Method::GET,
            &format!("/api/v1/audit?service_id={id}&action=reveal_location"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["total"], 1);
    let event = &res.body["data"][0];
    assert_eq!(event["id"], audit_id);
    assert_eq!(event["action"], "reveal_location");
    assert_eq!(event["actor_user_id"], user.to_string());
    assert_eq!(event["actor_role"], "provider");
    assert_eq!(event["actor_organization_id"], org.to_string());
    assert_eq!(event["service_id"], id.to_string());
    assert_eq!(event["reason"], "confirming intake for a caller");
    assert!(event["at"].is_string());
    assert_no_secret("the audit trail", &res.body);

    // The trail is append-only, even for someone with SQL access as the app's user.
    use diesel::connection::SimpleConnection;
    let mut conn = app.db.connect();
    assert!(
        conn.batch_execute("UPDATE audit_event SET reason = 'x'")
            .is_err()
    );
    assert!(conn.batch_execute("DELETE FROM audit_event").is_err());
    assert!(conn.batch_execute("TRUNCATE audit_event").is_err());
    assert_eq!(app.db.sealed_site_records(), 1);

    // A service without a confidential location has nothing to reveal.
    let public = app.create_service(&service_body(org)).await;
    let public: Uuid = public.body["id"].as_str().unwrap().parse().unwrap();
    let res = reveal(&app, public, &session, json!("checking the address")).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(app.db.sealed_site_records(), 1);
}

/// One person, or one stolen session, cannot copy out every sealed address: after ten
/// reveals the next waits (429 with Retry-After), refused reveals count too, and another
/// person's allowance is their own.
#[tokio::test]
async fn reveals_are_limited_per_person() {
    let app = spawn_app().await;
    let org = app.create_organization("Safe House").await;
    let id = confidential_service(&app, org).await;
    let first = create_token(&app.db, Role::Provider, Some(org));
    let second = create_token(&app.db, Role::Provider, Some(org));
    let elsewhere = Uuid::new_v4();
    let mut revealed = 0;
    for i in 0..10 {
        // Every third attempt names a service that is not there.
        let target = if i % 3 == 2 { elsewhere } else { id };
        let res = reveal(&app, target, &first, json!("confirming intake")).await;
        if target == id {
            assert_eq!(res.status, StatusCode::OK, "{i}: {}", res.body);
            revealed += 1;
        } else {
            assert_eq!(res.status, StatusCode::NOT_FOUND, "{i}: {}", res.body);
        }
    }
    let res = reveal(&app, id, &first, json!("confirming intake")).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.body);
    assert!(res.retry_after() > 60, "{}", res.retry_after());
    assert_no_secret("a reveal over the limit", &res.body);
    assert_eq!(app.db.sealed_site_records(), revealed);
    let res = reveal(&app, id, &second, json!("confirming intake")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

#[tokio::test]
async fn hotline_and_caseworker_reveal_only_where_the_deployment_allows() {
    let db = TestDb::new();
    let app = spawn_app_with(db, |s| s.reveal_roles = vec![Role::Hotline]).await;
    let org = app.create_organization("Safe House").await;
    let id = confidential_service(&app, org).await;
    let hotline = create_token(&app.db, Role::Hotline, None);
    let caseworker = create_token(&app.db, Role::Caseworker, None);
    let other_provider = {
        let other = app.create_organization("Other").await;
        create_token(&app.db, Role::Provider, Some(other))
    };

    let res = reveal(&app, id, &caseworker, json!("referral for a client")).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = reveal(&app, id, &other_provider, json!("curious")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = reveal(&app, id, &app.admin_token.clone(), json!("maintenance")).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(app.db.sealed_site_records(), 0);

    let res = reveal(&app, id, &hotline, json!("warm transfer, caller in danger")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["address"]["street"], STREET);
    let res = app
        .send(
            Method::GET,
            "/api/v1/audit",
            Some(&app.admin_token.clone()),
            None,
        )
        .await;
    assert_eq!(res.body["data"][0]["actor_role"], "hotline");
    assert!(res.body["data"][0]["actor_token_id"].is_string());
}

#[tokio::test]
async fn the_database_holds_no_plaintext_and_no_other_route_shows_the_address() {
    let app = spawn_app().await;
    let org = app.create_organization("Safe House").await;
    let id = confidential_service(&app, org).await;
    app.wait_for_index().await;

    // Postgres has the front door only; the rest is sealed bytes.
    use diesel::prelude::*;
    use haven::db::schema::location;
    let (street, lat, sealed): (Option<String>, Option<f64>, Option<Vec<u8>>) = location::table
        .select((location::street, location::lat, location::sealed))
        .first(&mut app.db.connect())
        .unwrap();
    assert_eq!((street, lat), (None, None));
    let sealed = sealed.unwrap();
    assert!(!sealed.windows(STREET.len()).any(|w| w == STREET.as_bytes()));

    // Every public route, anonymously.
    let match_body = json!({"location": {"lat": LAT, "lon": LON}, "needs": ["shelter"]});
    for endpoint in ENDPOINTS.iter().filter(|e| e.access == Access::Public) {
        let (path, body) = match endpoint.path {
            "/api/v1/match" => (endpoint.path.to_string(), Some(match_body.clone())),
            "/api/v1/regions/search" => (endpoint.path.to_string(), Some(json!({"q": "harris"}))),
            "/api/v1/session" => (
                endpoint.path.to_string(),
                Some(json!({"email": "x@example.org", "password": "wrong password"})),
            ),
            other => (other.to_string(), None),
        };
        let method: Method = endpoint.method.parse().unwrap();
        let res = app.send(method, &path, None, body.as_ref()).await;
        assert_no_secret(
            &format!("anonymous {} {}", endpoint.method, endpoint.path),
            &res.body,
        );
        assert!(res.headers.get("set-cookie").is_none(), "{}", endpoint.path);
    }
    // The anonymous match does find the shelter, by its front door.
    let res = app.find(&match_body).await;
    let hit = &res.body["results"][0];
    assert_eq!(hit["service_id"], id.to_string());
    assert_eq!(hit["confidential_location"], true);
    assert!(hit["distance_km"].is_null() && hit["distance_band"].is_string());

    // Signed-in staff and the owning provider, by every read and list, get the front door too.
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let hotline = create_token(&app.db, Role::Hotline, None);
    for credential in [app.admin_token.clone(), provider, hotline] {
        for path in [
            format!("/api/v1/services/{id}"),
            "/api/v1/services".to_string(),
            format!("/api/v1/services?organization_id={org}"),
        ] {
            let res = app.send(Method::GET, &path, Some(&credential), None).await;
            assert_eq!(res.status, StatusCode::OK);
            assert_no_secret(&format!("GET {path}"), &res.body);
        }
        let res = app
            .send(
                Method::POST,
                "/api/v1/match",
                Some(&credential),
                Some(&match_body),
            )
            .await;
        assert_eq!(res.body["results"][0]["service_id"], id.to_string());
        assert_no_secret("a signed-in match", &res.body);
    }
    let res = app
        .send(
            Method::GET,
            &format!("/api/v1/services/{id}"),
            Some(&app.admin_token.clone()),
            None,
        )
        .await;
    assert_eq!(res.body["location"]["address"]["city"], "Houston");
}

/// The editor of a service at a sealed site does not offer radius or area inputs, which would
/// only be refused; a public service's does.
#[tokio::test]
async fn the_editor_offers_no_radius_or_area_inputs_for_a_sealed_site() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let sealed = confidential_service(&app, org).await;
    let public = app.create_service(&service_body(org)).await;
    let public = public.body["id"].as_str().unwrap().to_string();
    let editor = |id: String| {
        app.console(
            &app.admin_token,
            "/console/services/edit",
            Some(format!("service_id={id}")),
        )
    };
    let (_, page) = editor(sealed.to_string()).await;
    assert!(!page.contains(r#"name="radius_lat""#), "{page}");
    assert!(!page.contains(r#"name="geojson""#), "{page}");
    assert!(page.contains(r#"name="region""#), "{page}");
    assert!(
        page.contains("its own staff add them through the API"),
        "{page}"
    );
    let (_, page) = editor(public).await;
    assert!(page.contains(r#"name="radius_lat""#), "{page}");
    assert!(page.contains(r#"name="geojson""#), "{page}");
}

/// Saves in the console editor of the confidential service `id`, as the admin: its body
/// (the stored coverage, unchanged) plus `extra` form fields.
async fn save_sealed(
    app: &TestApp,
    org: Uuid,
    id: Uuid,
    extra: &[(&str, String)],
) -> (StatusCode, String) {
    let mut body = service_body(org);
    body["phones"] = intake_phone();
    let version = app.editor_version(id).await;
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("service_id", &id.to_string())
        .append_pair("version", &version)
        .append_pair("organization_id", &org.to_string())
        .append_pair("body", &body.to_string());
    for (name, value) in extra {
        form.append_pair(name, value);
    }
    app.console(
        &app.admin_token,
        "/console/services/save",
        Some(form.finish()),
    )
    .await
}

/// The console editor keeps a sealed site it cannot show. Checking new coverage against it
/// would tell the editor a bit of where it is with each save (a passing save at no cost), so
/// it draws no new radius or area for such a service, near the site or far from it, and says
/// why the same way; region coverage may be added. No check ran, so nothing is audited.
#[tokio::test]
async fn the_console_draws_no_new_coverage_around_a_sealed_site() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let id = confidential_service(&app, org).await;
    let radius = |lat: f64, lon: f64| {
        vec![
            ("radius_lat", lat.to_string()),
            ("radius_lon", lon.to_string()),
            ("radius_km", "10".to_string()),
        ]
    };
    let mut answers = Vec::new();
    for (lat, lon) in [(LAT + 0.01, LON), (30.2, -95.0), (LAT + 0.01, LON)] {
        let (status, page) = save_sealed(&app, org, id, &radius(lat, lon)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let said = page
            .split("role=\"alert\">")
            .nth(1)
            .and_then(|rest| rest.split("</p>").next())
            .unwrap_or_else(|| panic!("{page}"))
            .to_string();
        answers.push(said);
    }
    assert!(
        answers[0].contains("no new radius or area coverage can be drawn"),
        "{answers:?}"
    );
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert_eq!(app.db.sealed_site_records(), 0);
    // A region, and the stored radius kept as it was: saved.
    let (status, page) = save_sealed(&app, org, id, &[("region", "US-TX".to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let stored = app
        .admin(Method::GET, &format!("/api/v1/services/{id}"), None)
        .await;
    assert_eq!(stored.body["coverage"].as_array().unwrap().len(), 2);
}

/// Coverage stored before the 5 km rule can still be refused when the editor saves it again:
/// the refusal names no entry or part, is audited, and after 3 for one service a person waits
/// half an hour before the check runs again, whatever they send.
#[tokio::test]
async fn refusals_of_coverage_stored_before_the_rule_are_audited_and_few() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let id = confidential_service(&app, org).await;
    centre_coverage_on_the_site(&app, id);
    let edit = app
        .console(
            &app.admin_token,
            "/console/services/edit",
            Some(format!("service_id={id}")),
        )
        .await
        .1;
    let body = edit
        .split("name=\"body\" rows=\"18\" spellcheck=\"false\">")
        .nth(1)
        .and_then(|rest| rest.split("</textarea>").next())
        .unwrap_or_else(|| panic!("{edit}"));
    let body = body.replace("&quot;", "\"").replace("&amp;", "&");
    let version = app.editor_version(id).await;
    let save = || {
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("service_id", &id.to_string())
            .append_pair("version", &version)
            .append_pair("organization_id", &org.to_string())
            .append_pair("body", &body)
            .finish();
        app.console(&app.admin_token, "/console/services/save", Some(form))
    };
    let mut statuses = Vec::new();
    let mut page = String::new();
    for _ in 0..4 {
        let (status, text) = save().await;
        statuses.push(status.as_u16());
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert!(
                text.contains("coverage: a radius centre or an area"),
                "{text}"
            );
            assert!(!text.contains("coverage[0]"), "{text}");
        }
        page = text;
    }
    assert_eq!(statuses, [422, 422, 422, 429]);
    assert!(page.contains("Wait 30 minutes"), "{page}");
    let trail = sealed_site_refusals(&app, id).await;
    let events = trail["data"].as_array().unwrap();
    // The fourth was not checked at all, so there is nothing more to audit.
    assert_eq!(events.len(), 3, "{}", trail);
    for event in events {
        assert_eq!(event["action"], "sealed_site_check_refused");
        assert_eq!(event["actor_role"], "admin");
        // Not which entry: the admin who tried reads the audit trail too.
        assert_eq!(event["reason"], "edit refused: coverage");
    }
    assert_no_secret("the audit trail", &trail);
}

/// The API's `PUT` that keeps a sealed site (the service as read, or without `location`) is
/// held to the console's rule: a refusal of stored coverage near the site is audited, and a
/// person gets three before waiting, whichever way they write.
#[tokio::test]
async fn api_refusals_of_coverage_stored_before_the_rule_are_audited_and_few_too() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let id = confidential_service(&app, org).await;
    centre_coverage_on_the_site(&app, id);
    let path = format!("/api/v1/services/{id}");
    let read = app.admin(Method::GET, &path, None).await.body;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let res = app.admin(Method::PUT, &path, Some(&read)).await;
        statuses.push(res.status.as_u16());
        assert_no_secret("a refused PUT", &res.body);
    }
    assert_eq!(statuses, [422, 422, 422, 429]);
    let trail = sealed_site_refusals(&app, id).await;
    let events = trail["data"].as_array().unwrap();
    assert_eq!(events.len(), 3, "{}", trail);
    assert!(
        events
            .iter()
            .all(|e| e["reason"] == "edit refused: coverage"),
        "{}",
        trail
    );
}

/// The audit trail's sealed-site refusals of service `id`, as the admin reads them.
async fn sealed_site_refusals(app: &TestApp, id: Uuid) -> Value {
    let path = format!("/api/v1/audit?service_id={id}&action=sealed_site_check_refused");
    app.admin(Method::GET, &path, None).await.body
}

/// Moves a service's radius onto its sealed site behind the API's back, as a row from before
/// the 5 km rule would be.
fn centre_coverage_on_the_site(app: &TestApp, id: Uuid) {
    app.db
        .connect()
        .batch_execute(&format!(
            "UPDATE coverage SET spec = jsonb_set(spec, '{{center}}', '{{\"lat\": {}, \"lon\": {}}}') WHERE service_id = '{id}'",
            LAT + 0.01,
            LON
        ))
        .unwrap();
}

/// An area of many small squares, one of them on the site, in an order of the editor's
/// choosing: the index of the one refused would say where the site is within a save or two.
/// It is refused as any new area is, naming no part.
#[tokio::test]
async fn an_area_of_many_parts_near_a_sealed_site_says_nothing_of_which() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let id = confidential_service(&app, org).await;
    let square = |lat: f64| {
        json!([[
            [LON - 0.01, lat],
            [LON + 0.01, lat],
            [LON + 0.01, lat + 0.01],
            [LON - 0.01, lat + 0.01],
            [LON - 0.01, lat]
        ]])
    };
    let parts = json!({"type": "MultiPolygon",
        "coordinates": [square(LAT - 0.5), square(LAT), square(LAT + 0.5)]});
    let (status, page) = save_sealed(&app, org, id, &[("geojson", parts.to_string())]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("no new radius or area coverage can be drawn"),
        "{page}"
    );
    assert!(!page.contains("coordinates["), "{page}");
    assert_eq!(app.db.sealed_site_records(), 0);
}

/// A provider's own staff may reveal their service's sealed address, and their console page
/// offers it beside the service; a reason too short is asked for again with the form, not a
/// bare message.
#[tokio::test]
async fn providers_reveal_their_own_sealed_address_from_their_console_page() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let id = confidential_service(&app, org).await;
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let console = |path: &'static str, form: Option<String>| app.console(&provider, path, form);
    let (_, page) = console("/console", None).await;
    assert!(page.contains("action=\"/console/reveal\""), "{page}");
    // The browser keeps no list of reasons typed (they may name who an address was for).
    assert!(
        page.contains(r#"name="reason" required minlength="3" maxlength="500" autocomplete="off""#),
        "{page}"
    );
    assert!(!page.contains(STREET), "{page}");
    let (status, page) =
        console("/console/reveal", Some(format!("service_id={id}&reason=x"))).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("action=\"/console/reveal\"") && page.contains("Back"),
        "{page}"
    );
    assert_eq!(app.db.sealed_site_records(), 0);
    let (status, page) = console(
        "/console/reveal",
        Some(format!("service_id={id}&reason=confirming+intake")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(STREET), "{page}");
    // Named, so that two addresses open in two tabs cannot be mixed up.
    assert!(
        page.contains("<h1>Confidential address: Test Shelter</h1>"),
        "{page}"
    );
    assert_eq!(app.db.sealed_site_records(), 1);
}

/// No read shows a sealed address, so no client could send it back: a `PUT` that leaves
/// `location` out keeps a confidential one (with its rules: no new radius or area drawn
/// around it), where it would have deleted a shelter's front door. A public location left
/// out goes, as a replacement says.
#[tokio::test]
async fn a_put_without_location_keeps_a_sealed_one() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let id = confidential_service(&app, org).await;
    let path = format!("/api/v1/services/{id}");
    let mut body = service_body(org);
    body["phones"] = intake_phone();
    body["name"] = json!("Renamed Shelter");
    let res = app.admin(Method::PUT, &path, Some(&body)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["location"]["confidential"], true, "{}", res.body);
    assert_no_secret("a replacement's answer", &res.body);
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let res = reveal(&app, id, &provider, json!("confirming intake")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["address"]["street"], STREET);

    // Kept, its rules hold: no new radius drawn around it by a body that cannot see it.
    body["coverage"] =
        json!([{"type": "radius", "center": {"lat": 29.9, "lon": -95.6}, "radius_km": 20}]);
    let res = app.admin(Method::PUT, &path, Some(&body)).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.field(), "coverage", "{}", res.body);

    // A public location left out is removed.
    let mut public = service_body(org);
    public["location"] = json!({"lat": 29.76, "lon": -95.37, "confidential": false,
        "address": {"street": "1 Main St", "city": "Houston", "region": "TX"}});
    let created = app.create_service(&public).await;
    let public_id = created.body["id"].as_str().unwrap().to_string();
    public.as_object_mut().unwrap().remove("location");
    let res = app
        .admin(
            Method::PUT,
            &format!("/api/v1/services/{public_id}"),
            Some(&public),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["location"], Value::Null, "{}", res.body);
}

/// A sealed site is revealed only to its own organization's staff, so a service moved to
/// another organization does not take it along unless the move sends it again: moved
/// silently (a `PUT` without `location`, an admin merging organizations), it would be opened
/// to the new organization's staff.
#[tokio::test]
async fn a_sealed_site_follows_a_service_to_another_organization_only_when_sent() {
    let app = spawn_app().await;
    let org = app.create_organization("Safe House").await;
    let other = app.create_organization("Other House").await;
    let id = confidential_service(&app, org).await;
    let path = format!("/api/v1/services/{id}");
    let mut body = service_body(other);
    body["phones"] = intake_phone();
    body["name"] = json!("Moved Shelter");
    let res = app.admin(Method::PUT, &path, Some(&body)).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.field(), "organization_id", "{}", res.body);
    assert_no_secret("a refused move", &res.body);
    let newcomer = create_token(&app.db, Role::Provider, Some(other));
    let res = reveal(&app, id, &newcomer, json!("checking the move")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    let res = app.admin(Method::GET, &path, None).await;
    assert_eq!(res.body["organization_id"], json!(org), "{}", res.body);

    // Sent again, the site moves with it.
    body["location"] = json!({"lat": LAT, "lon": LON, "confidential": true,
        "address": {"street": STREET, "postal_code": POSTAL, "city": "Houston"}});
    let res = app.admin(Method::PUT, &path, Some(&body)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = reveal(&app, id, &newcomer, json!("checking the move")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["address"]["street"], STREET);
}
