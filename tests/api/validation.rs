//! Bad input of every kind gets a clear 4xx and writes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use haven::auth::Role;
use uuid::Uuid;

use crate::helpers::{TestApp, create_token, service_body, spawn_app};

fn assert_nothing_written(app: &TestApp, services: i64, changes: i64) {
    assert_eq!(
        app.db.count("service"),
        services,
        "a service row was written"
    );
    assert_eq!(
        app.db.count("coverage"),
        services,
        "a coverage row was written"
    );
    assert_eq!(app.db.count("change_log"), changes, "a change was logged");
}

/// Every error answer, not only a 5xx, carries a correlation id of its own (SAFETY.md rule 14),
/// so that a caller's report can be matched to the server's line.
#[tokio::test]
async fn every_error_answer_carries_its_own_correlation_id() {
    let app = spawn_app().await;
    let org = app.create_organization("Refused Often").await;
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let huge = json!({"name": "x", "description": "y".repeat(70 * 1024)});
    let answers = [
        app.admin_raw(
            Method::POST,
            "/api/v1/match",
            "application/json",
            b"{".to_vec(),
        )
        .await,
        app.send(Method::GET, "/api/v1/services", None, None).await,
        app.send(Method::GET, "/api/v1/audit", Some(&provider), None)
            .await,
        app.admin(
            Method::GET,
            &format!("/api/v1/services/{}", Uuid::new_v4()),
            None,
        )
        .await,
        app.send(Method::GET, "/api/v1/match", None, None).await,
        app.admin(Method::POST, "/api/v1/organizations", Some(&huge))
            .await,
        app.admin_raw(Method::POST, "/api/v1/match", "text/plain", b"{}".to_vec())
            .await,
        app.find(&json!({"location": {"postal_code": "94110"}, "needs": ["nope"]}))
            .await,
    ];
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(statuses, [400, 401, 403, 404, 405, 413, 415, 422]);
    let ids: std::collections::HashSet<&str> = answers
        .iter()
        .map(|a| {
            let id = a.body["error"]["correlation_id"].as_str().unwrap_or("");
            assert!(
                id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
                "{}: {}",
                a.status,
                a.body
            );
            id
        })
        .collect();
    assert_eq!(ids.len(), answers.len(), "ids are not reused");
}

#[tokio::test]
async fn malformed_json_is_400_wrong_type_415_huge_413() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let changes = app.db.count("change_log");

    let res = app
        .admin_raw(
            Method::POST,
            "/api/v1/services",
            "application/json",
            b"{\"name\": ".to_vec(),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.code(), "malformed_json");

    let res = app
        .admin_raw(
            Method::POST,
            "/api/v1/services",
            "application/json",
            b"{} trailing".to_vec(),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);

    let body = serde_json::to_vec(&service_body(org)).unwrap();
    let res = app
        .admin_raw(Method::POST, "/api/v1/services", "text/plain", body.clone())
        .await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(res.code(), "unsupported_media_type");
    let res = app
        .admin_raw(
            Method::POST,
            "/api/v1/organizations",
            "application/x-www-form-urlencoded",
            b"name=x".to_vec(),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Organizations take 64 KiB; service bodies (which may carry areas) 4 MiB.
    let big = json!({"name": "x", "description": "y".repeat(70 * 1024)});
    let res = app
        .admin(Method::POST, "/api/v1/organizations", Some(&big))
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.code(), "payload_too_large");
    let mut huge = service_body(org);
    huge["description"] = Value::String("z".repeat(5 * 1024 * 1024));
    let res = app.create_service(&huge).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);

    assert_nothing_written(&app, 0, changes);
}

#[tokio::test]
async fn invalid_service_fields_are_422_naming_the_field_and_write_nothing() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let changes = app.db.count("change_log");
    let square = json!([[
        [-95.4, 29.7],
        [-95.3, 29.7],
        [-95.3, 29.8],
        [-95.4, 29.8],
        [-95.4, 29.7]
    ]]);
    let area = |geometry: Value| json!([{"type": "area", "geometry": geometry}]);

    // (member to set, value, expected field, expected code)
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("needs", json!([]), "needs", "invalid_field"),
        (
            "needs",
            json!(["shelter", "spa_day"]),
            "needs[1]",
            "unknown_need",
        ),
        (
            "organization_id",
            json!("not-a-uuid"),
            "organization_id",
            "invalid_field",
        ),
        (
            "organization_id",
            json!("7d9a3b0c-0000-4000-8000-000000000000"),
            "organization_id",
            "unknown_organization",
        ),
        ("name", json!("   "), "name", "invalid_field"),
        (
            "languages",
            json!(["en", "xx"]),
            "languages[1]",
            "unknown_language",
        ),
        (
            "location",
            json!({"lat": 91.0, "lon": 0.0}),
            "location.lat",
            "invalid_coordinates",
        ),
        (
            "location",
            json!({"lat": 10.0, "lon": -181.0}),
            "location.lon",
            "invalid_coordinates",
        ),
        (
            "location",
            json!({"lat": 29.7, "lon": -95.4, "confidential": false, "address": {"country": "XX"}}),
            "location.address.country",
            "unknown_country",
        ),
        (
            "location",
            json!({"lat": 29.7, "lon": -95.4, "confidential": false, "address": {"region": "Texas"}}),
            "location.address.region",
            "unknown_region",
        ),
        (
            "location",
            json!({"lat": 29.7, "lon": -95.4, "confidential": false, "address": {"postal_code": "7700x"}}),
            "location.address.postal_code",
            "invalid_field",
        ),
        (
            "location",
            json!({"lat": 10.0, "lon": 10.0, "address": {"street": "1 Main", "floor": 2}}),
            "location.address.floor",
            "invalid_field",
        ),
        ("coverage", json!([]), "coverage", "invalid_field"),
        (
            "coverage",
            json!([{"type": "circle"}]),
            "coverage[0].type",
            "invalid_field",
        ),
        (
            "coverage",
            json!([{"radius_km": 3}]),
            "coverage[0].type",
            "invalid_field",
        ),
        (
            "coverage",
            json!([{"type": "radius", "center": {"lat": 95, "lon": 0}, "radius_km": 5}]),
            "coverage[0].center.lat",
            "invalid_coordinates",
        ),
        (
            "coverage",
            json!([{"type": "radius", "center": {"lat": 5, "lon": 0}, "radius_km": 501}]),
            "coverage[0].radius_km",
            "invalid_field",
        ),
        (
            "coverage",
            json!([{"type": "radius", "center": {"lat": 5, "lon": 0}, "radius_km": -1}]),
            "coverage[0].radius_km",
            "invalid_field",
        ),
        (
            "coverage",
            json!([{"type": "radius", "center": {"lat": 5, "lon": 0}}]),
            "coverage[0].radius_km",
            "invalid_field",
        ),
        (
            "coverage",
            json!([{"type": "region", "code": "US-ZZ"}]),
            "coverage[0].code",
            "unknown_region",
        ),
        (
            "coverage",
            json!([{"type": "region", "code": "US-99999"}]),
            "coverage[0].code",
            "unknown_region",
        ),
        (
            "coverage",
            json!([{"type": "national", "country": "Atlantis"}]),
            "coverage[0].country",
            "unknown_country",
        ),
        (
            "coverage",
            json!([{"type": "national", "country": "US"}, {"type": "region", "code": "US-CA", "extra": true}]),
            "coverage[1].extra",
            "invalid_field",
        ),
        // Geometry: unclosed ring, self-intersection, out of range, too few positions, wrong type.
        (
            "coverage",
            area(
                json!({"type": "Polygon", "coordinates": [[[-95.4, 29.7], [-95.3, 29.7], [-95.3, 29.8], [-95.4, 29.8]]]}),
            ),
            "coverage[0].geometry.coordinates[0]",
            "invalid_geometry",
        ),
        (
            "coverage",
            area(
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}),
            ),
            "coverage[0].geometry.coordinates[0]",
            "invalid_geometry",
        ),
        (
            "coverage",
            area(
                json!({"type": "Polygon", "coordinates": [[[-95.4, 29.7], [-195.3, 29.7], [-95.3, 29.8], [-95.4, 29.7]]]}),
            ),
            "coverage[0].geometry.coordinates[0][1]",
            "invalid_geometry",
        ),
        (
            "coverage",
            area(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]})),
            "coverage[0].geometry.coordinates[0]",
            "invalid_geometry",
        ),
        (
            "coverage",
            area(json!({"type": "Point", "coordinates": [0, 0]})),
            "coverage[0].geometry.type",
            "invalid_geometry",
        ),
        (
            "coverage",
            area(json!({"type": "Polygon", "coordinates": "nope"})),
            "coverage[0].geometry.coordinates",
            "invalid_field",
        ),
        (
            "coverage",
            area(json!({"type": "MultiPolygon", "coordinates": [square.clone(), square.clone()]})),
            "coverage[0].geometry.coordinates[1]",
            "invalid_geometry",
        ),
        (
            "coverage",
            area(
                json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]], [[5, 5], [6, 5], [6, 6], [5, 5]]]}),
            ),
            "coverage[0].geometry.coordinates[1]",
            "invalid_geometry",
        ),
        // A ring with no area (three points on a line), and one that runs back over itself.
        (
            "coverage",
            area(
                json!({"type": "Polygon", "coordinates": [[[-122.5, 37.7], [-122.4, 37.7], [-122.3, 37.7], [-122.5, 37.7]]]}),
            ),
            "coverage[0].geometry.coordinates[0]",
            "invalid_geometry",
        ),
        (
            "coverage",
            area(
                json!({"type": "MultiPolygon", "coordinates": [square.clone(), [[[0, 0], [1, 0], [1, 1], [1, 2], [1, 1], [0, 1], [0, 0]]]]}),
            ),
            "coverage[0].geometry.coordinates[1][0]",
            "invalid_geometry",
        ),
        // A hole touching the exterior at two points cuts the inside in two (OGC: invalid).
        (
            "coverage",
            area(
                json!({"type": "Polygon", "coordinates": [[[-100, 40], [-99, 40], [-99, 41], [-100, 41], [-100, 40]], [[-100, 40.5], [-99.5, 40.7], [-99, 40.5], [-100, 40.5]]]}),
            ),
            "coverage[0].geometry.coordinates[1]",
            "invalid_geometry",
        ),
        // Whether a location is confidential is never guessed.
        (
            "location",
            json!({"lat": 29.7, "lon": -95.4, "address": {"street": "1 Hidden Way"}}),
            "location.confidential",
            "invalid_field",
        ),
        (
            "phones",
            json!([{"number": "call me", "type": "voice"}]),
            "phones[0].number",
            "invalid_field",
        ),
        (
            "phones",
            json!([{"number": "988", "type": "pager"}]),
            "phones[0].type",
            "invalid_field",
        ),
        (
            "schedules",
            json!([{"days": ["mon"], "opens_at": "9am", "closes_at": "17:00", "timezone": "America/Chicago"}]),
            "schedules[0].opens_at",
            "invalid_field",
        ),
        (
            "schedules",
            json!([{"days": ["sun"], "opens_at": "24:00", "closes_at": "04:00", "timezone": "UTC"}]),
            "schedules[0].opens_at",
            "invalid_field",
        ),
        (
            "schedules",
            json!([{"days": ["mon"], "opens_at": "09:00", "closes_at": "17:00", "timezone": "Mars/Base"}]),
            "schedules[0].timezone",
            "unknown_timezone",
        ),
        (
            "eligibility",
            json!({"min_age": 18, "max_age": 12}),
            "eligibility.max_age",
            "invalid_field",
        ),
        (
            "eligibility",
            json!({"genders": ["robot"]}),
            "eligibility.genders[0]",
            "invalid_field",
        ),
        (
            "eligibility",
            json!({"accepts_dragons": true}),
            "eligibility.accepts_dragons",
            "invalid_field",
        ),
        (
            "capacity",
            json!({"available": 5, "total": 3}),
            "capacity.available",
            "invalid_field",
        ),
        (
            "verified_at",
            json!("2999-01-01T00:00:00Z"),
            "verified_at",
            "invalid_field",
        ),
        (
            "verified_at",
            json!("1970-01-01T00:00:00Z"),
            "verified_at",
            "invalid_field",
        ),
        (
            "verified_at",
            json!("yesterday"),
            "verified_at",
            "invalid_field",
        ),
        (
            "verified_at",
            json!("2026-10-01T12:00:00"),
            "verified_at",
            "invalid_field",
        ),
        ("colour", json!("blue"), "colour", "invalid_field"),
    ];
    for (member, value, field, code) in cases {
        let mut body = service_body(org);
        body[member] = value.clone();
        let res = app.create_service(&body).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{member} = {value}: {}",
            res.body
        );
        assert_eq!(
            (res.field(), res.code()),
            (field, code),
            "{member} = {value}: {}",
            res.body
        );
        let message = res.body["error"]["message"].as_str().unwrap();
        assert!(
            !message.is_empty() && !message.contains("line 1"),
            "{message}"
        );
    }
    // A date without its offset is told what form is wanted.
    let mut body = service_body(org);
    body["verified_at"] = json!("2026-10-01T12:00:00");
    let res = app.create_service(&body).await;
    assert!(
        res.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("RFC 3339"),
        "{}",
        res.body
    );
    assert_nothing_written(&app, 0, changes);

    // The same checks guard replacement: a bad PUT leaves the service as it was.
    let created = app.create_service(&service_body(org)).await;
    let id = created.body["id"].as_str().unwrap();
    let changes = app.db.count("change_log");
    let mut body = service_body(org);
    body["coverage"] =
        area(json!({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}));
    body["name"] = json!("Should not stick");
    let res = app
        .admin(Method::PUT, &format!("/api/v1/services/{id}"), Some(&body))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = app
        .admin(Method::GET, &format!("/api/v1/services/{id}"), None)
        .await;
    assert_eq!(res.body["name"], "Test Shelter");
    assert_nothing_written(&app, 1, changes);
}

/// An area of 100,000 vertices (the most allowed) is checked in reasonable time, off the HTTP
/// workers: searches sent meanwhile are answered, and the area then matches. Checking every
/// pair of segments took 47 s in a release build.
#[tokio::test]
async fn the_largest_area_allowed_is_checked_without_holding_up_searches() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let n = 99_999;
    let ring: Vec<[f64; 2]> = (0..=n)
        .map(|i| {
            let a = std::f64::consts::TAU * f64::from(i % n) / f64::from(n);
            [-95.37 + 0.5 * a.cos(), 29.76 + 0.5 * a.sin()]
        })
        .collect();
    let mut body = service_body(org);
    body["coverage"] =
        json!([{"type": "area", "geometry": {"type": "Polygon", "coordinates": [ring]}}]);
    let search = json!({"location": {"lat": 29.9, "lon": -95.3}, "needs": ["shelter"]});
    let work = async {
        let (created, searched) = tokio::join!(app.create_service(&body), async {
            let mut statuses = Vec::new();
            for _ in 0..5 {
                statuses.push(app.find(&search).await.status);
            }
            statuses
        });
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert!(
            searched.iter().all(|s| *s == StatusCode::OK),
            "{searched:?}"
        );
        app.wait_for_index().await;
        let found = app.find(&search).await;
        let kinds: Vec<&str> = found.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["coverage_type"].as_str())
            .collect();
        assert!(kinds.contains(&"area"), "{}", found.body);
    };
    tokio::time::timeout(std::time::Duration::from_secs(60), work)
        .await
        .expect("checking the area took over a minute");
}

/// Text holding a NUL character (which Postgres cannot store), a member sent twice, a missing
/// member and a body that is not an object are each 422 naming the member, on anonymous and
/// signed-in routes alike, and write nothing. A NUL was a 500.
#[tokio::test]
async fn nul_characters_repeated_and_missing_members_are_named() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let created = app.create_service(&service_body(org)).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let (services, organizations) = (app.db.count("service"), app.db.count("organization"));
    let changes = app.db.count("change_log");
    let raw = |method: Method, path: String, body: &'static str| {
        let app = &app;
        async move {
            app.admin_raw(method, &path, "application/json", body.as_bytes().to_vec())
                .await
        }
    };
    let cases = [
        (
            raw(
                Method::POST,
                "/api/v1/session".into(),
                r#"{"email": "a\u0000@example.org", "password": "correct horse battery"}"#,
            )
            .await,
            "email",
        ),
        (
            raw(Method::POST, "/api/v1/organizations".into(), r#"{"name": "a\u0000b"}"#).await,
            "name",
        ),
        (
            raw(
                Method::PATCH,
                format!("/api/v1/services/{id}"),
                r#"{"phones": [{"number": "415-555-0100", "type": "voice", "label": "a\u0000"}]}"#,
            )
            .await,
            "phones[0].label",
        ),
        (
            raw(
                Method::POST,
                "/api/v1/match".into(),
                r#"{"location": {"postal_code": "94110"}, "needs": ["shelter"], "needs": ["legal_aid"]}"#,
            )
            .await,
            "needs",
        ),
        (
            raw(Method::POST, "/api/v1/organizations".into(), r#"{"description": "x"}"#).await,
            "name",
        ),
        (
            raw(Method::POST, "/api/v1/match".into(), r#"{"location": {"lat": 37.7}, "needs": ["shelter"]}"#)
                .await,
            "location.lon",
        ),
        (
            raw(Method::POST, "/api/v1/organizations".into(), r#"["Array Org", "desc"]"#).await,
            "",
        ),
    ];
    for (res, field) in cases {
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            res.body
        );
        assert_eq!(res.field(), field, "{}", res.body);
    }
    // Inside members read as values before they are checked (a match's location, coverage
    // entries), a member sent twice is named too: the last one used to win without a word.
    let entry = |coverage: &str| {
        format!(
            r#"{{"organization_id": "{org}", "name": "S", "needs": ["shelter"], "coverage": [{coverage}]}}"#
        )
    };
    for (method, path, body, field) in [
        (Method::POST, "/api/v1/match".to_string(),
         r#"{"location": {"lat": 37.7, "lat": 38.1, "lon": -122.4}, "needs": ["shelter"]}"#.to_string(),
         "location.lat"),
        (Method::POST, "/api/v1/match".to_string(),
         r#"{"location": {"postal_code": "94110", "postal_code": "10001"}, "needs": ["shelter"]}"#.to_string(),
         "location.postal_code"),
        (Method::POST, "/api/v1/services".to_string(),
         entry(r#"{"type": "region", "code": "US-CA", "code": "US-TX"}"#), "coverage[0].code"),
        (Method::PUT, format!("/api/v1/services/{id}"),
         entry(r#"{"type": "national", "country": "US"}, {"type": "radius", "center": {"lat": 37, "lat": 38, "lon": -122}, "radius_km": 5}"#),
         "coverage[1].center.lat"),
        (Method::POST, "/api/v1/services".to_string(),
         entry(r#"{"type": "area", "geometry": {"type": "Polygon", "type": "MultiPolygon", "coordinates": []}}"#),
         "coverage[0].geometry.type"),
    ] {
        let res = app
            .admin_raw(method, &path, "application/json", body.into_bytes())
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", res.body);
        assert_eq!(res.field(), field, "{}", res.body);
        assert!(
            res.body["error"]["message"].as_str().unwrap().contains("more than once"),
            "{}",
            res.body
        );
    }
    // A form: the survivor page answers with itself.
    let res = app
        .client
        .post(format!("{}/", app.address))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("zip=94110%00&need=shelter")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("could not be read"));
    assert_eq!(app.db.count("service"), services);
    assert_eq!(app.db.count("organization"), organizations);
    assert_eq!(app.db.count("change_log"), changes);
}

/// A query parameter that cannot be read, or is given twice, is named, as a body's member is.
#[tokio::test]
async fn bad_query_parameters_are_named() {
    let app = spawn_app().await;
    for (path, field) in [
        ("/api/v1/services?page=abc", "page"),
        ("/api/v1/services?per_page=1e2", "per_page"),
        ("/api/v1/services?page=1&page=2", "page"),
        ("/api/v1/organizations?per_page=-", "per_page"),
        ("/api/v1/audit?service_id=7&page=1", "service_id"),
        ("/api/v1/regions?page=x", "page"),
        ("/api/v1/services?colour=blue", "colour"),
    ] {
        let res = app.admin(Method::GET, path, None).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            res.body
        );
        assert_eq!(res.field(), field, "{path}: {}", res.body);
    }
    let res = app
        .admin(Method::GET, "/api/v1/services?page=2&per_page=5", None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // Routes that read no query string refuse one rather than ignore it: a search's place or
    // a password put in the address must not be answered as if all were well. Nothing of it
    // is said back.
    let search = json!({"location": {"postal_code": "94110"}, "needs": ["shelter"]});
    let sign_in = json!({"email": "a@example.org", "password": "planted-secret-771"});
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/match?postal_code=94117&needs=shelter",
            Some(&search),
        ),
        (
            Method::POST,
            "/api/v1/session?password=planted-secret-771",
            Some(&sign_in),
        ),
        (Method::GET, "/api/v1/needs?x=1", None),
    ] {
        let res = app.send(method, path, None, body).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            res.body
        );
        assert_eq!(res.field(), "query", "{}", res.body);
        let text = res.body.to_string();
        assert!(
            !text.contains("94117") && !text.contains("planted"),
            "{text}"
        );
    }
    assert_eq!(app.db.count("user_session"), 0);
}

/// An error answer names the member and the kind of value it got, never the value: 4xx
/// bodies end up in proxies' and clients' logs, and the value may be a password or a sealed
/// site's coordinates or street.
#[tokio::test]
async fn error_answers_do_not_quote_the_value_sent() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let mut service = service_body(org);
    service["location"] = json!({
        "confidential": true, "lat": "29.751234", "lon": -95.401234,
        "address": {"street": "4410 Elm St", "city": "Houston", "region": "TX", "postal_code": "77019"}
    });
    let cases = [
        (
            app.send(
                Method::POST,
                "/api/v1/session",
                None,
                Some(&json!({"email": "a@example.org", "password": 123456789012_u64})),
            )
            .await,
            "password",
            "123456789012",
        ),
        (
            app.admin(Method::POST, "/api/v1/services", Some(&service))
                .await,
            "location.lat",
            "29.751234",
        ),
    ];
    for (res, field, value) in cases {
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert_eq!(res.field(), field);
        let message = res.body["error"]["message"].as_str().unwrap();
        assert!(message.contains("invalid type"), "{message}");
        assert!(!res.body.to_string().contains(value), "{}", res.body);
    }
    // A search's own words either: a mistyped need, facet or language is part of it.
    let search = |extra: Value| {
        let mut body = json!({"location": {"postal_code": "94110"}, "needs": ["shelter"]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    for (extra, field, value) in [
        (
            json!({"needs": ["shelter", "sheltre_tonight"]}),
            "needs[1]",
            "sheltre_tonight",
        ),
        (
            json!({"require": ["no_papers_asked"]}),
            "require[0]",
            "no_papers_asked",
        ),
        (json!({"languages": ["qq"]}), "languages[0]", "qq"),
    ] {
        let res = app.find(&search(extra)).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert_eq!(res.field(), field);
        assert!(!res.body.to_string().contains(value), "{}", res.body);
    }
    service["location"]["lat"] = json!(29.751234);
    service["location"]["address"]["street"] = json!(4410);
    let res = app
        .admin(Method::POST, "/api/v1/services", Some(&service))
        .await;
    assert_eq!(res.field(), "location.address.street", "{}", res.body);
    assert!(!res.body.to_string().contains("4410"), "{}", res.body);
    // A phone's kind, and an id, the same: serde and the uuid crate quote them.
    let mut lines = service_body(org);
    lines["phones"] = json!([{"number": "988", "type": "Zq-planted-kind"}]);
    let res = app
        .admin(Method::POST, "/api/v1/services", Some(&lines))
        .await;
    assert_eq!(res.field(), "phones[0].type", "{}", res.body);
    assert!(!res.body.to_string().contains("Zq-planted"), "{}", res.body);
    lines = service_body(org);
    lines["organization_id"] = json!("nqz-planted-id");
    let res = app
        .admin(Method::POST, "/api/v1/services", Some(&lines))
        .await;
    assert_eq!(res.field(), "organization_id", "{}", res.body);
    assert!(!res.body.to_string().contains("`n`"), "{}", res.body);
    let res = app
        .admin(Method::GET, "/api/v1/services?organization_id=nqz", None)
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.field(), "organization_id", "{}", res.body);
    assert!(!res.body.to_string().contains("`n`"), "{}", res.body);
    assert!(
        res.body.to_string().contains("must be a UUID"),
        "{}",
        res.body
    );
    assert_eq!(app.db.count("service"), 0);
}

/// A body that never arrives in full (its `Content-Length` promises more than is sent) is
/// refused with 408 in the envelope once its time is up, instead of holding the request open.
#[tokio::test]
async fn a_body_that_never_arrives_is_408_in_time() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = spawn_app().await;
    let body = br#"{"location": {"postal_code": "94110"}, "needs": ["shelter"]}"#;
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /api/v1/match HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len() + 50
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "no answer within 30 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    assert!(answer.contains("cache-control: no-store"), "{answer}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(9));
}

#[tokio::test]
async fn bad_paging_and_unknown_query_parameters_are_422_naming_them() {
    let app = spawn_app().await;
    let res = app
        .admin(Method::GET, "/api/v1/services?per_page=101", None)
        .await;
    assert_eq!(
        (res.status, res.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "per_page")
    );
    let res = app
        .admin(Method::GET, "/api/v1/services?page=0", None)
        .await;
    assert_eq!(
        (res.status, res.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "page")
    );
    let res = app
        .admin(Method::GET, "/api/v1/services?organisation=x", None)
        .await;
    assert_eq!(
        (res.status, res.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "organisation")
    );
    let res = app
        .admin(Method::GET, "/api/v1/services?organization_id=nope", None)
        .await;
    assert_eq!(
        (res.status, res.field()),
        (StatusCode::UNPROCESSABLE_ENTITY, "organization_id")
    );
}

/// A name made of characters that show nothing is no name, and the marks that override the
/// direction of what follows make a name read as another: both refused where they are, with
/// nothing written. A right-to-left mark, which Hebrew and Arabic text uses, is kept.
#[tokio::test]
async fn names_that_show_nothing_or_read_as_another_are_refused() {
    let app = spawn_app().await;
    let before = app.db.count("organization");
    for name in [
        "\u{200b}\u{feff}\u{2060}",
        " \u{00ad} ",
        "\u{202e}ecivreS laeR",
        "\u{3164}",
        "\u{2800}\u{115f}",
        "\u{0301}\u{0301}\u{fe0f}",
    ] {
        let res = app
            .admin(
                Method::POST,
                "/api/v1/organizations",
                Some(&json!({"name": name})),
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert_eq!(res.field(), "name", "{}", res.body);
        assert!(!res.body.to_string().contains("laeR"), "{}", res.body);
    }
    assert_eq!(app.db.count("organization"), before);
    let org = app
        .create_organization("\u{5de}\u{5e7}\u{5dc}\u{5d8} \u{200f}7")
        .await;
    let mut body = service_body(org);
    body["name"] = json!("\u{202d}Shelter");
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.field(), "name", "{}", res.body);
    // An isolate (how mixed Arabic and Latin text is written) is kept; a blank at either end
    // of a name goes, so that it cannot pass for another.
    body["name"] = json!("\u{200b}\u{2067}\u{645}\u{623}\u{648}\u{649}\u{2069} Shelter");
    body["description"] = json!("\u{200b}");
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(
        res.body["name"],
        "\u{2067}\u{645}\u{623}\u{648}\u{649}\u{2069} Shelter"
    );
    assert_eq!(
        res.body.get("description"),
        Some(&Value::Null),
        "{}",
        res.body
    );
}

/// A name, a phone's label or a part of an address is one line: a line break inside would
/// be read as two lines by the provider's phones box (one line a phone), and saved from it
/// would become an intake number nobody entered. A description keeps its paragraphs.
#[tokio::test]
async fn one_line_fields_refuse_line_breaks_and_descriptions_keep_them() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let cases = [
        (
            "/phones/0/label",
            json!("Line one\n408-555-0999, voice"),
            "phones[0].label",
        ),
        ("/name", json!("Shelter\tAnnex"), "name"),
        (
            "/location/address/street",
            json!("1 Main St\u{2028}Apt 2"),
            "location.address.street",
        ),
        ("/name", json!("Shelter\r\nAnnex"), "name"),
    ];
    for (pointer, value, field) in cases {
        let mut body = service_body(org);
        body["phones"] = json!([{"number": "408-555-0131", "type": "voice", "label": "Intake"}]);
        body["location"] = json!({"lat": 29.76, "lon": -95.37, "confidential": false,
            "address": {"street": "1 Main St", "city": "Houston"}});
        *body.pointer_mut(pointer).unwrap() = value;
        let res = app.create_service(&body).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            res.body
        );
        assert_eq!(res.field(), field, "{}", res.body);
    }
    assert_eq!(app.db.count("service"), 0);
    let mut body = service_body(org);
    body["description"] = json!("Walk-in hours.\n\nCall first after 6 PM.");
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(
        res.body["description"],
        "Walk-in hours.\n\nCall first after 6 PM."
    );
}
