use diesel::prelude::*;
use haven::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{create_token, intake_phone, service_body, spawn_app};

fn full_service(org: &str) -> Value {
    json!({
        "organization_id": org,
        "name": "Bayview Safe Nights",
        "description": "Emergency shelter for women and their children.",
        "needs": ["shelter", "case_management", "shelter"],
        "eligibility": {"min_age": 18, "genders": ["female", "nonbinary"], "dv_specialized": true, "accepts_children": true, "no_id_required": true},
        "languages": ["en", "ES"],
        "phones": [
            {"number": "415-555-0142", "type": "voice", "label": "Intake", "available_24_7": true, "languages": ["en", "es"]},
            {"number": "415-555-0143", "type": "text"}
        ],
        "location": {"lat": 37.7096, "lon": -122.3825, "confidential": true,
                     "address": {"street": "17 Hidden Orchard Way", "city": "San Francisco", "region": "CA", "postal_code": "94124", "country": "US"}},
        "coverage": [
            {"type": "radius", "center": {"lat": 37.76, "lon": -122.42}, "radius_km": 30},
            {"type": "area", "geometry": {"type": "Polygon", "coordinates": [[[-122.52, 37.70], [-122.46, 37.70], [-122.46, 37.75], [-122.52, 37.75], [-122.52, 37.70]]]}},
            {"type": "area", "geometry": {"type": "MultiPolygon", "coordinates": [
                [[[-122.30, 37.80], [-122.25, 37.80], [-122.25, 37.85], [-122.30, 37.85], [-122.30, 37.80]],
                 [[-122.29, 37.81], [-122.29, 37.82], [-122.28, 37.82], [-122.28, 37.81], [-122.29, 37.81]]],
                [[[-122.20, 37.80], [-122.15, 37.80], [-122.15, 37.85], [-122.20, 37.80]]]
            ]}},
            {"type": "region", "code": "US-06075"},
            {"type": "region", "code": "us-ca"},
            {"type": "national", "country": "US"}
        ],
        "schedules": [
            {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "opens_at": "00:00", "closes_at": "24:00", "timezone": "America/Los_Angeles"},
            {"days": ["fri", "sat"], "opens_at": "20:00", "closes_at": "08:00", "timezone": "America/Los_Angeles"}
        ],
        "capacity": {"available": 2, "total": 14},
        "verified_at": "2026-10-01T12:00:00Z"
    })
}

#[tokio::test]
async fn a_service_with_every_coverage_type_round_trips() {
    let app = spawn_app().await;
    let org = app.create_organization("Bayview Org").await.to_string();
    let res = app.create_service(&full_service(&org)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        res.headers["location"],
        format!("/api/v1/services/{id}").as_str()
    );

    let res = app
        .admin(Method::GET, &format!("/api/v1/services/{id}"), None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let s = &res.body;
    assert_eq!(s["needs"], json!(["case_management", "shelter"]));
    assert_eq!(s["languages"], json!(["en", "es"]));
    assert_eq!(s["eligibility"]["genders"], json!(["female", "nonbinary"]));
    assert_eq!(s["eligibility"]["min_age"], 18);
    assert_eq!(s["eligibility"]["dv_specialized"], true);
    assert_eq!(s["eligibility"]["accepts_pets"], false);
    assert_eq!(s["phones"][0]["available_24_7"], true);
    assert_eq!(s["phones"][1]["type"], "text");
    let kinds: Vec<&str> = s["coverage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["radius", "area", "area", "region", "region", "national"]
    );
    assert_eq!(s["coverage"][4]["code"], "US-CA");
    assert_eq!(s["coverage"][2]["geometry"]["type"], "MultiPolygon");
    assert_eq!(
        s["coverage"][1]["geometry"]["coordinates"][0][0],
        json!([-122.52, 37.70])
    );
    assert_eq!(s["schedules"][0]["closes_at"], "00:00");
    assert_eq!(s["schedules"][1]["days"], json!(["fri", "sat"]));
    assert_eq!(s["capacity"]["available"], 2);
    assert!(s["capacity"]["reported_at"].is_string());
    assert_eq!(s["verified_at"], "2026-10-01T12:00:00Z");
    assert_eq!(s["demo"], false);

    // A confidential location shows only its front door.
    assert_eq!(
        s["location"],
        json!({"confidential": true, "address": {"city": "San Francisco", "region": "CA", "country": "US"}})
    );
    let text = s.to_string();
    assert!(
        !text.contains("Hidden Orchard") && !text.contains("94124") && !text.contains("37.7096"),
        "{text}"
    );

    // ... and the database holds the street and coordinates only sealed.
    use haven::db::schema::location;
    let (street, lat, sealed, key_id): (
        Option<String>,
        Option<f64>,
        Option<Vec<u8>>,
        Option<String>,
    ) = location::table
        .select((
            location::street,
            location::lat,
            location::sealed,
            location::key_id,
        ))
        .first(&mut app.db.connect())
        .unwrap();
    assert_eq!((street, lat), (None, None));
    let sealed = sealed.unwrap();
    assert!(!sealed.windows(6).any(|w| w == b"Hidden"));
    assert_eq!(key_id.as_deref(), Some(app.data_key.current().id()));

    // Coverage bounding boxes were stored for every entry.
    use haven::db::schema::coverage;
    let boxes: Vec<(String, f64, f64)> = coverage::table
        .select((coverage::kind, coverage::min_lat, coverage::max_lat))
        .order(coverage::position)
        .load(&mut app.db.connect())
        .unwrap();
    assert_eq!(boxes.len(), 6);
    assert!(boxes[0].1 < 37.76 && boxes[0].2 > 37.76);
    assert!(
        boxes[4].1 > 32.0 && boxes[4].2 < 42.5,
        "California's box: {boxes:?}"
    );
}

#[tokio::test]
async fn public_locations_are_shown_in_full() {
    let app = spawn_app().await;
    let org = app.create_organization("Public Org").await;
    let mut body = service_body(org);
    body["location"] = json!({"lat": 29.75, "lon": -95.36, "confidential": false, "address": {"street": "500 Open Ave", "city": "Houston", "region": "TX", "postal_code": "77002", "country": "US"}});
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(res.body["location"]["lat"], 29.75);
    assert_eq!(res.body["location"]["address"]["street"], "500 Open Ave");
    assert_eq!(res.body["location"]["confidential"], false);
}

#[tokio::test]
async fn put_replaces_delete_removes_and_every_write_is_logged() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let res = app.create_service(&full_service(&org.to_string())).await;
    let id = res.body["id"].as_str().unwrap().to_string();
    let created_at = res.body["created_at"].clone();

    let mut body = service_body(org);
    body["name"] = json!("Renamed Shelter");
    body["coverage"] = json!([{"type": "region", "code": "US-48201"}]);
    body["phones"] = intake_phone();
    let res = app
        .admin(Method::PUT, &format!("/api/v1/services/{id}"), Some(&body))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["name"], "Renamed Shelter");
    assert_eq!(
        res.body["coverage"],
        json!([{"type": "region", "code": "US-48201"}])
    );
    assert_eq!(res.body["phones"].as_array().unwrap().len(), 1);
    // The sealed location, which no read shows, is kept (see reveal.rs).
    assert_eq!(res.body["location"]["confidential"], true);
    assert_eq!(res.body["created_at"], created_at);
    assert_eq!(app.db.count("phone"), 1);
    assert_eq!(app.db.count("location"), 1);
    assert_eq!(app.db.count("coverage"), 1);

    let res = app
        .admin(
            Method::PUT,
            "/api/v1/services/0e0e0e0e-0000-4000-8000-000000000000",
            Some(&body),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    let res = app
        .admin(Method::DELETE, &format!("/api/v1/services/{id}"), None)
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert_eq!(app.db.count("service"), 0);
    assert_eq!(app.db.count("coverage"), 0);
    let res = app
        .admin(Method::GET, &format!("/api/v1/services/{id}"), None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = app
        .admin(Method::DELETE, &format!("/api/v1/services/{id}"), None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    use haven::db::schema::change_log;
    let log: Vec<(String, String)> = change_log::table
        .select((change_log::entity, change_log::action))
        .order(change_log::id)
        .load(&mut app.db.connect())
        .unwrap();
    let expected = [
        ("organization", "upsert"),
        ("service", "upsert"),
        ("service", "upsert"),
        ("service", "delete"),
    ];
    assert_eq!(log, expected.map(|(e, a)| (e.to_string(), a.to_string())));
}

#[tokio::test]
async fn services_list_by_organization_with_paging() {
    let app = spawn_app().await;
    let a = app.create_organization("A").await;
    let b = app.create_organization("B").await;
    for name in ["Charlie", "Alpha", "Bravo"] {
        let mut body = service_body(a);
        body["name"] = json!(name);
        assert_eq!(app.create_service(&body).await.status, StatusCode::CREATED);
    }
    assert_eq!(
        app.create_service(&service_body(b)).await.status,
        StatusCode::CREATED
    );

    let res = app
        .admin(
            Method::GET,
            &format!("/api/v1/services?organization_id={a}&per_page=2"),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["total"], 3);
    let names: Vec<&str> = res.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alpha", "Bravo"]);
    let res = app
        .admin(
            Method::GET,
            &format!("/api/v1/services?organization_id={a}&per_page=2&page=2"),
            None,
        )
        .await;
    assert_eq!(res.body["data"][0]["name"], "Charlie");
    assert_eq!(res.body["data"][0]["coverage"][0]["type"], "radius");
    let res = app.admin(Method::GET, "/api/v1/services", None).await;
    assert_eq!(res.body["total"], 4);
}

#[tokio::test]
async fn the_demo_directory_loads_once_and_says_it_is_demo() {
    let app = spawn_app().await;
    let boundaries = haven::boundaries::Boundaries::bundled();
    let mut conn = app.db.connect();
    let hotlines = haven::seed::load(
        &mut conn,
        haven::seed::Dataset::Hotlines,
        app.data_key.current(),
        boundaries,
    )
    .unwrap();
    let demo = haven::seed::load(
        &mut conn,
        haven::seed::Dataset::Demo,
        app.data_key.current(),
        boundaries,
    )
    .unwrap();
    assert!(hotlines.services_added >= 6);
    assert!(demo.services_added >= 20);
    let again = haven::seed::load(
        &mut conn,
        haven::seed::Dataset::Demo,
        app.data_key.current(),
        boundaries,
    )
    .unwrap();
    assert_eq!((again.organizations_added, again.services_added), (0, 0));

    let res = app
        .admin(Method::GET, "/api/v1/services?per_page=100", None)
        .await;
    let services = res.body["data"].as_array().unwrap();
    assert_eq!(services.len() as u64, res.body["total"].as_u64().unwrap());
    let trafficking = services
        .iter()
        .find(|s| s["name"].as_str().unwrap().contains("Trafficking"))
        .unwrap();
    assert_eq!(trafficking["demo"], false);
    assert!(
        trafficking["phones"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["number"] == "233733" && p["type"] == "text")
    );
    let demo_services: Vec<&Value> = services.iter().filter(|s| s["demo"] == true).collect();
    assert_eq!(demo_services.len(), demo.services_added);
    let confidential: Vec<&&Value> = demo_services
        .iter()
        .filter(|s| s["location"]["confidential"] == true)
        .collect();
    assert!(confidential.len() >= 2);
    for s in confidential {
        assert!(
            s["location"].get("lat").is_none() && s["location"]["address"].get("street").is_none(),
            "{s}"
        );
    }
    let res = app
        .admin(Method::GET, "/api/v1/organizations?per_page=100", None)
        .await;
    assert!(
        res.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["demo"] == true)
    );
}

/// A confidential service's radius coverage must not be centred on its site: which points a
/// service comes back for shows where its circle is, and so its centre (SAFETY.md rules 2
/// and 3). A public site may be the centre of its own circle.
#[tokio::test]
async fn a_confidential_site_cannot_be_the_centre_of_its_coverage() {
    let app = spawn_app().await;
    let org = app.create_organization("Quiet Harbor").await;
    let site = json!({"lat": 29.7612, "lon": -95.3702, "confidential": true,
        "address": {"street": "9 Unlisted Rd", "city": "Houston", "region": "TX"}});
    let mut body = service_body(org);
    body["phones"] = intake_phone();
    body["location"] = site.clone();
    body["coverage"] = json!([
        {"type": "region", "code": "US-48201"},
        {"type": "radius", "center": {"lat": 29.77, "lon": -95.38}, "radius_km": 40}
    ]);
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.code(), "reveals_confidential_location");
    assert_eq!(res.field(), "coverage[1].center");
    assert!(!res.body.to_string().contains("29.7612"), "{}", res.body);
    assert_eq!(app.db.count("service"), 0);

    // Centred on the town it serves, some 6 km away, it is taken; and a replacement may not
    // move the centre back onto the site.
    body["coverage"][1]["center"] = json!({"lat": 29.80, "lon": -95.42});
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_str().unwrap().to_string();
    body["coverage"][1]["center"] = json!({"lat": 29.7612, "lon": -95.3702});
    let res = app
        .admin(Method::PUT, &format!("/api/v1/services/{id}"), Some(&body))
        .await;
    assert_eq!(res.code(), "reveals_confidential_location");

    // A public site at the centre of its own circle is fine.
    body["location"]["confidential"] = json!(false);
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(app.db.count("service"), 2);
}

/// The same holds for area coverage: an area drawn around a confidential site, or one part of
/// a MultiPolygon drawn around it, shows the site as well as a circle would. An area that
/// contains the site with its middle far enough away is taken, as such a circle is.
#[tokio::test]
async fn a_confidential_site_cannot_be_the_middle_of_an_area_it_covers() {
    let app = spawn_app().await;
    let org = app.create_organization("Quiet Harbor").await;
    let square = |lat: f64, lon: f64, half: f64| {
        json!([[
            [lon - half, lat - half],
            [lon + half, lat - half],
            [lon + half, lat + half],
            [lon - half, lat + half],
            [lon - half, lat - half]
        ]])
    };
    let with_area = |geometry: Value| {
        let mut body = service_body(org);
        body["phones"] = intake_phone();
        body["location"] = json!({"lat": 29.7612, "lon": -95.3702, "confidential": true,
            "address": {"street": "9 Unlisted Rd", "city": "Houston", "region": "TX"}});
        body["coverage"] = json!([{"type": "area", "geometry": geometry}]);
        body
    };
    let around_site = square(29.7612, -95.3702, 0.05);
    let dallas = square(32.78, -96.80, 0.3);
    for (geometry, field) in [
        (
            json!({"type": "Polygon", "coordinates": around_site}),
            "coverage[0].geometry",
        ),
        (
            json!({"type": "MultiPolygon", "coordinates": [dallas, around_site]}),
            "coverage[0].geometry.coordinates[1]",
        ),
    ] {
        let res = app.create_service(&with_area(geometry)).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert_eq!(res.code(), "reveals_confidential_location");
        assert_eq!(res.field(), field);
        assert!(!res.body.to_string().contains("29.7612"), "{}", res.body);
    }
    assert_eq!(app.db.count("service"), 0);

    // Containing the site, its middle some 10 km north: taken.
    let north = json!({"type": "Polygon", "coordinates": [[
        [-95.45, 29.72], [-95.25, 29.72], [-95.25, 29.98], [-95.45, 29.98], [-95.45, 29.72]
    ]]});
    let res = app.create_service(&with_area(north)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
}

/// A service at a sealed site in Houston, its circle centred some 7 km away.
fn sealed_service_body(org: uuid::Uuid) -> Value {
    let mut body = service_body(org);
    body["phones"] = intake_phone();
    body["location"] = json!({"lat": 29.7612, "lon": -95.3702, "confidential": true,
        "address": {"street": "9 Unlisted Rd", "city": "Houston"}});
    body["coverage"][0]["center"] = json!({"lat": 29.80, "lon": -95.42});
    body
}

/// The console edits a confidential service without showing its sealed site (the site is
/// kept); coverage moved onto that site is refused there, as any new radius is (see
/// `reveal::the_console_draws_no_new_coverage_around_a_sealed_site`), and nothing changes.
#[tokio::test]
async fn the_console_refuses_coverage_moved_onto_a_kept_sealed_site() {
    let app = spawn_app().await;
    let org = app.create_organization("Quiet Harbor").await;
    let res = app.create_service(&sealed_service_body(org)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_str().unwrap().to_string();

    let version = app.editor_version(&id).await;
    let save = |center: Value| {
        let mut edited = service_body(org);
        edited["phones"] = intake_phone();
        edited["coverage"][0]["center"] = center;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("service_id", &id)
            .append_pair("version", &version)
            .append_pair("organization_id", &org.to_string())
            .append_pair("body", &edited.to_string())
            .finish();
        app.console(&app.admin_token, "/console/services/save", Some(form))
    };
    let (status, page) = save(json!({"lat": 29.762, "lon": -95.371})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !page.contains("coverage[0]")
            && page.contains("no new radius or area coverage can be drawn"),
        "{page}"
    );
    assert!(!page.contains("29.7612"), "{page}");
    let stored = app
        .admin(Method::GET, &format!("/api/v1/services/{id}"), None)
        .await;
    assert_eq!(stored.body["coverage"][0]["center"]["lat"], 29.8);

    // Elsewhere, the same answer: which would say nothing of where the site is.
    let (status, elsewhere) = save(json!({"lat": 29.72, "lon": -95.45})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        elsewhere.contains("no new radius or area coverage can be drawn"),
        "{elsewhere}"
    );
    // The coverage as stored: the edit is saved and the sealed site is kept.
    let (status, page) = save(json!({"lat": 29.80, "lon": -95.42})).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let stored = app
        .admin(Method::GET, &format!("/api/v1/services/{id}"), None)
        .await;
    assert_eq!(stored.body["coverage"][0]["center"]["lat"], 29.8);
    assert_eq!(stored.body["location"]["confidential"], true);
}

/// The provider's front-door form shows each phone whole (kind, 24/7, languages, label) and
/// reads it back whole, so saving it unchanged changes nothing. A confidential service keeps
/// at least one intake line (its front door); a refusal is shown as an error beside the
/// service, with what was typed, and nothing is written.
#[tokio::test]
async fn the_front_door_form_keeps_every_phone_detail_and_a_confidential_intake_line() {
    let app = spawn_app().await;
    let org = app.create_organization("Quiet Harbor").await;
    let mut body = sealed_service_body(org);
    body["phones"] = json!([
        {"number": "415-555-0143", "type": "voice", "available_24_7": true,
         "languages": ["en", "es", "zh"], "label": "24/7 intake line, ask for Sam"},
        {"number": "415-555-0144", "type": "text", "languages": ["en"], "label": "Text intake",
         "keyword": "INTAKE"}
    ]);
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/services/{id}");
    let stored = || app.admin(Method::GET, &path, None);
    let before = stored().await.body;
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let console = |path: &'static str, form: Option<String>| app.console(&provider, path, form);
    let textarea = |page: &str, name: &str| {
        let start = page
            .find(&format!("<textarea name=\"{name}\""))
            .and_then(|at| page[at..].find('>').map(|end| at + end + 1))
            .unwrap_or_else(|| panic!("no {name} box: {page}"));
        let end = start + page[start..].find("</textarea>").unwrap();
        page[start..end]
            .replace("&amp;", "&")
            .replace("&quot;", "\"")
    };
    let (_, page) = console("/console", None).await;
    let shown = hidden(&page, "shown");
    let front_door = |phones: &str, hours: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("service_id", &id)
            .append_pair("shown", &shown)
            .append_pair("phones", phones)
            .append_pair("hours", hours)
            .finish()
    };

    let phones = textarea(&page, "phones");
    assert!(
        phones.contains("24/7, languages: en es zh, label: 24/7 intake line, ask for Sam"),
        "{phones}"
    );
    assert!(
        phones.contains("text, languages: en, keyword: INTAKE, label: Text intake"),
        "{phones}"
    );
    let (status, _) = console("/console/front-door", Some(front_door(&phones, ""))).await;
    assert_eq!(status, StatusCode::OK);
    let after = stored().await.body;
    assert_eq!(after["phones"], before["phones"]);

    for (phones, refused) in [
        ("", "phones: a service at a confidential location needs"),
        ("415-555-0100, pager", "phones line 1"),
        ("415-555-0100, voice, weekends", "phones line 1"),
        ("415-555-0100, voice, keyword: START", "phones line 1"),
        ("415-555-0100, text, keyword: START NOW", "phones line 1"),
        (
            "415-555-0100, text, keyword: A, keyword: B",
            "phones line 1",
        ),
        ("415-555-0100, voice\ncall me, voice", "phones line 2:"),
    ] {
        let typed_hours = "mon 09:00-17:00 America/Chicago";
        let (status, page) =
            console("/console/front-door", Some(front_door(phones, typed_hours))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{phones}: {page}");
        assert!(
            page.contains("class=\"error\" role=\"alert\">Not updated: "),
            "{page}"
        );
        assert!(page.contains(refused), "{phones}: {page}");
        assert!(!page.contains("class=\"notice\""), "{page}");
        assert_eq!(textarea(&page, "hours"), typed_hours);
        assert_eq!(stored().await.body["phones"], before["phones"]);
    }
}

/// A text line may name the word it asks for first ("Text START to 88788"): the API keeps it,
/// matching answers carry it, and the survivor page's link opens the message with it written.
/// Only a text line has one, and it is one word.
#[tokio::test]
async fn a_text_lines_keyword_reaches_the_page_that_opens_the_message() {
    let app = spawn_app().await;
    let org = app.create_organization("Keyword Org").await;
    let mut body = service_body(org);
    body["phones"] = json!([
        {"number": "713-555-0150", "type": "voice"},
        {"number": "713-555-0151", "type": "text", "keyword": " SAFE ", "label": "Text SAFE to 713-555-0151"}
    ]);
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_str().unwrap().to_string();
    let stored = app
        .admin(Method::GET, &format!("/api/v1/services/{id}"), None)
        .await;
    assert_eq!(stored.body["phones"][1]["keyword"], "SAFE");
    assert_eq!(stored.body["phones"][0]["keyword"], Value::Null);

    app.wait_for_index().await;
    let answer = app
        .find(&json!({"location": {"lat": 29.76, "lon": -95.37}, "needs": ["shelter"]}))
        .await;
    let found = answer.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["service_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{}", answer.body));
    assert_eq!(found["phones"][1]["keyword"], "SAFE");

    let (_, page) = app
        .post_page("/", "lat=29.76&lon=-95.37&need=shelter")
        .await;
    assert!(
        page.contains(r#"href="sms:7135550151?&amp;body=SAFE">Text SAFE to 713-555-0151</a>"#),
        "{page}"
    );
    let (_, page) = app
        .post_page("/es/", "lat=29.76&lon=-95.37&need=shelter")
        .await;
    assert!(page.contains(">Enviar SAFE al 713-555-0151</a>"), "{page}");

    let before = app.db.count("phone");
    for (phones, field) in [
        (
            json!([{"number": "713-555-0150", "type": "voice", "keyword": "START"}]),
            "phones[0].keyword",
        ),
        (
            json!([{"number": "713-555-0151", "type": "tty", "keyword": "START"}]),
            "phones[0].keyword",
        ),
        (
            json!([{"number": "713-555-0151", "type": "text"}, {"number": "713-555-0152", "type": "text", "keyword": "safe now"}]),
            "phones[1].keyword",
        ),
        (
            json!([{"number": "713-555-0151", "type": "text", "keyword": 7}]),
            "phones[0].keyword",
        ),
    ] {
        let mut refused = service_body(org);
        refused["phones"] = phones;
        let res = app.create_service(&refused).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert_eq!(res.field(), field, "{}", res.body);
        let res = app
            .admin(
                Method::PATCH,
                &format!("/api/v1/services/{id}"),
                Some(&json!({"phones": refused["phones"]})),
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
        assert_eq!(res.field(), field, "{}", res.body);
    }
    assert_eq!(app.db.count("phone"), before);
}

/// The value of the first hidden input `name` on a page.
fn hidden(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} on {page}"));
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// A provider's hours-and-phones form made before someone else changed the phones is not
/// saved over their change: 422 saying so, the form showing what is stored now, and what was
/// typed kept beside it. A change of beds alone (a feed may report them every few minutes)
/// does not stop it.
#[tokio::test]
async fn the_front_door_form_does_not_save_over_a_change_made_since_it_was_shown() {
    let app = spawn_app().await;
    let org = app.create_organization("Quiet Harbor").await;
    let mut body = service_body(org);
    body["phones"] = json!([{"number": "713-555-0140", "type": "voice"}]);
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/services/{id}");
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let (_, page) = app.console(&provider, "/console", None).await;
    let shown = hidden(&page, "shown");
    let form = |phones: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("service_id", &id)
            .append_pair("shown", &shown)
            .append_pair("phones", phones)
            .append_pair("hours", "")
            .finish()
    };

    // Beds reported meanwhile: the form still saves.
    let res = app
        .admin(
            Method::PATCH,
            &format!("{path}/capacity"),
            Some(&json!({"available": 3, "total": 9})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let send = |phones: &str| app.console(&provider, "/console/front-door", Some(form(phones)));
    let (status, page) = send("713-555-0141, voice").await;
    assert_eq!(status, StatusCode::OK, "{page}");

    // Someone else adds a line; the form shown before it would drop it.
    let both = json!([{"number": "713-555-0141", "type": "voice"},
                      {"number": "713-555-0142", "type": "text", "label": "added by the office"}]);
    let res = app
        .admin(Method::PATCH, &path, Some(&json!({"phones": both})))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let (status, page) = send("713-555-0199, voice").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("after this page was shown"), "{page}");
    assert!(page.contains("What you typed (not saved)"), "{page}");
    assert!(page.contains("713-555-0199, voice</textarea>"), "{page}");
    assert!(
        page.contains("label: added by the office</textarea>"),
        "{page}"
    );
    let stored = app.admin(Method::GET, &path, None).await;
    assert_eq!(stored.body["phones"].as_array().unwrap().len(), 2);
    assert_eq!(stored.body["phones"][1]["label"], "added by the office");

    // Without the version of what it showed, a form is not saved either.
    let unversioned = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("service_id", &id)
        .append_pair("phones", "713-555-0199, voice")
        .append_pair("hours", "")
        .finish();
    let (status, _) = app
        .console(&provider, "/console/front-door", Some(unversioned))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.admin(Method::GET, &path, None).await.body["phones"],
        stored.body["phones"]
    );
}

/// A provider is asked for beds only where a service offers them (shelter, housing) or has a
/// count already, and a first count starts empty rather than at a false 0 / 0.
#[tokio::test]
async fn the_provider_page_asks_for_beds_only_where_there_are_beds() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let mut counseling = service_body(org);
    counseling["name"] = json!("Talk Rooms");
    counseling["needs"] = json!(["counseling"]);
    assert_eq!(
        app.create_service(&counseling).await.status,
        StatusCode::CREATED
    );
    let shelter = app.create_service(&service_body(org)).await;
    let shelter = shelter.body["id"].as_str().unwrap().to_string();
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let (_, page) = app.console(&provider, "/console", None).await;
    let card = |name: &str| {
        let at = page
            .find(&format!("<h2>{name}</h2>"))
            .unwrap_or_else(|| panic!("{page}"));
        let end = page[at..].find("</article>").unwrap() + at;
        page[at..end].to_string()
    };
    assert!(!card("Talk Rooms").contains("/console/capacity"), "{page}");
    let beds = card("Test Shelter");
    assert!(beds.contains(&format!("value=\"{shelter}\"")), "{beds}");
    assert!(beds.contains("No bed count yet."), "{beds}");
    assert!(
        beds.contains(r#"name="available" min="0" required>"#),
        "{beds}"
    );
}

/// A provider keeps its own listings true, but national coverage (which lists a service
/// beside every search in the country, with the crisis lines) and `verified_at` (the
/// maintainers' word) are the maintainers': a provider's `POST` or `PUT` may keep them as
/// stored, not add or change them, and a refusal writes nothing.
#[tokio::test]
async fn providers_may_not_make_a_service_national_or_verify_their_own() {
    let app = spawn_app().await;
    let org = app.create_organization("Local Org").await;
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let as_provider = |method: Method, path: String, body: Value| {
        let provider = provider.clone();
        let app = &app;
        async move { app.send(method, &path, Some(&provider), Some(&body)).await }
    };
    let national = json!([{"type": "national", "country": "US"}]);
    let mut body = service_body(org);
    body["coverage"] = national.clone();
    let res = as_provider(Method::POST, "/api/v1/services".into(), body.clone()).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(
        (res.code(), res.field()),
        ("maintainers_only", "coverage[0]")
    );
    let mut verified = service_body(org);
    verified["verified_at"] = json!("2026-12-01T00:00:00Z");
    let res = as_provider(Method::POST, "/api/v1/services".into(), verified).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.field(), "verified_at", "{}", res.body);
    assert_eq!(app.db.count("service"), 0, "a refused write writes nothing");

    // A national service the maintainers listed and verified: its provider edits it, keeping
    // both, but may not change the verification.
    body["verified_at"] = json!("2026-12-01T00:00:00Z");
    let created = app.create_service(&body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let path = format!("/api/v1/services/{}", created.body["id"].as_str().unwrap());
    body["name"] = json!("Renamed By Its Provider");
    let res = as_provider(Method::PUT, path.clone(), body.clone()).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["coverage"], national, "{}", res.body);
    body["verified_at"] = json!("2026-12-06T00:00:00Z");
    let res = as_provider(Method::PUT, path.clone(), body.clone()).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.field(), "verified_at", "{}", res.body);
    // Maintainers may.
    let res = app.admin(Method::PUT, &path, Some(&body)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

/// A `PUT` or `PATCH` made from an old read does not undo what was written since: a read
/// answers the service's version as its `ETag`, and a write that sends it back in
/// `If-Match` is refused (412, nothing written) once the service has moved on, as when a
/// provider reported beds and changed the intake line after an admin's read.
#[tokio::test]
async fn a_write_from_an_old_read_is_refused_when_it_sends_the_version_it_read() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let mut body = service_body(org);
    body["phones"] = intake_phone();
    let created = app.create_service(&body).await;
    let path = format!("/api/v1/services/{}", created.body["id"].as_str().unwrap());
    let etag = |res: &crate::helpers::TestResponse| {
        res.headers
            .get("etag")
            .unwrap_or_else(|| panic!("no ETag: {:?}", res.headers))
            .to_str()
            .unwrap()
            .to_string()
    };
    let read = app.admin(Method::GET, &path, None).await;
    let old = etag(&read);
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let send = |method: Method,
                path: String,
                token: Option<String>,
                if_match: Option<String>,
                body: Value| {
        let app = &app;
        async move {
            let token = token.unwrap_or_else(|| app.admin_token.clone());
            let mut req = app
                .client
                .request(method, app.url(&path))
                .bearer_auth(token)
                .json(&body);
            if let Some(tag) = if_match {
                req = req.header("If-Match", tag);
            }
            crate::helpers::into_response(req.send().await.unwrap()).await
        }
    };
    // The provider reports beds, giving the version it read.
    let beds = send(
        Method::PATCH,
        format!("{path}/capacity"),
        Some(provider.clone()),
        Some(old.clone()),
        json!({"available": 5, "total": 8}),
    )
    .await;
    assert_eq!(beds.status, StatusCode::OK, "{}", beds.body);
    let new = etag(&beds);
    assert_ne!(new, old);

    // The admin's replacement from the first read is refused, and writes nothing.
    body["name"] = json!("Renamed From An Old Read");
    let res = send(
        Method::PUT,
        path.clone(),
        None,
        Some(old.clone()),
        body.clone(),
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED, "{}", res.body);
    assert_eq!(res.code(), "precondition_failed");
    let res = send(
        Method::PATCH,
        path.clone(),
        None,
        Some(old.clone()),
        json!({"phones": []}),
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED, "{}", res.body);
    let read = app.admin(Method::GET, &path, None).await;
    assert_eq!(read.body["capacity"]["available"], 5, "{}", read.body);
    assert_ne!(read.body["name"], "Renamed From An Old Read");
    assert_eq!(etag(&read), new);

    // Made from the current version, or with any of several, or "*", it is written.
    let res = send(
        Method::PUT,
        path.clone(),
        None,
        Some(format!("{old}, {new}")),
        body.clone(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = send(
        Method::PUT,
        path.clone(),
        None,
        Some("*".into()),
        body.clone(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // Without If-Match a write is unconditional, as before; a malformed one is a 400.
    let res = send(Method::PUT, path.clone(), None, None, body.clone()).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = send(
        Method::PUT,
        path.clone(),
        None,
        Some("not quoted".into()),
        body.clone(),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    // A list is read whole: an unreadable item in it, or "*" beside a tag, is a 400, not
    // skipped; fields given twice are one list, so "*" in one does not pass the other's old
    // tag.
    let now = etag(&app.admin(Method::GET, &path, None).await);
    let res = send(
        Method::PUT,
        path.clone(),
        None,
        Some(format!("junk, {now}")),
        body.clone(),
    )
    .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    let twice = app
        .client
        .put(app.url(&path))
        .bearer_auth(&app.admin_token)
        .header("If-Match", "*")
        .header("If-Match", old)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
}

/// A service as read, changed and sent back, is a replacement: the members only a read has
/// are set aside, and a confidential location as read (without its coordinates, which no
/// read shows) keeps the sealed one. The same shape for a service without a sealed site, or
/// another service's id, is refused.
#[tokio::test]
async fn a_service_as_read_can_be_changed_and_put_back() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let created = app.create_service(&full_service(&org.to_string())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let path = format!("/api/v1/services/{}", created.body["id"].as_str().unwrap());
    let read = app.admin(Method::GET, &path, None).await;
    let mut body = read.body.clone();
    body["name"] = json!("Bayview Safe Nights (renamed)");
    let res = app.admin(Method::PUT, &path, Some(&body)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let mut expected = read.body.clone();
    expected["name"] = json!("Bayview Safe Nights (renamed)");
    expected["updated_at"] = res.body["updated_at"].clone();
    assert_eq!(res.body, expected, "the read, renamed, is what is stored");
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let res = app
        .send(
            Method::POST,
            &format!("{path}/reveal"),
            Some(&provider),
            Some(&json!({"reason": "intake call"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["address"]["street"], "17 Hidden Orchard Way");

    // An address changed without its coordinates would be thrown away: refused.
    for (part, value) in [("city", "Oakland"), ("street", "99 New Place")] {
        let mut moved = body.clone();
        moved["location"]["address"][part] = json!(value);
        let res = app.admin(Method::PUT, &path, Some(&moved)).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{part}: {}",
            res.body
        );
        assert_eq!(res.field(), "location.lat", "{}", res.body);
    }

    // Another service's id is not this one's.
    let mut other = body.clone();
    other["id"] = json!(uuid::Uuid::new_v4());
    let res = app.admin(Method::PUT, &path, Some(&other)).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.field(), "id", "{}", res.body);
    // A location without coordinates stands only for a sealed one stored.
    let mut public = service_body(org);
    public["location"] = json!({"lat": 29.76, "lon": -95.37, "confidential": false});
    let created = app.create_service(&public).await;
    let public_path = format!("/api/v1/services/{}", created.body["id"].as_str().unwrap());
    public["location"] = json!({"confidential": true, "address": {"city": "Houston"}});
    let res = app.admin(Method::PUT, &public_path, Some(&public)).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.field(), "location.lat", "{}", res.body);
    let res = app.admin(Method::GET, &public_path, None).await;
    assert_eq!(
        res.body["location"]["lat"], 29.76,
        "nothing written: {}",
        res.body
    );
}

/// A state may be given by its FIPS number, as county codes are: it is stored, and found,
/// by its own code, so the same state given both ways is one entry.
#[tokio::test]
async fn a_state_given_by_its_fips_number_is_stored_by_its_code() {
    let app = spawn_app().await;
    let org = app.create_organization("Org").await;
    let mut body = service_body(org);
    body["coverage"] = json!([{"type": "region", "code": "us-06"}]);
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(
        res.body["coverage"],
        json!([{"type": "region", "code": "US-CA"}])
    );
    app.wait_for_index().await;
    let found = app
        .find(&json!({"location": {"region": "US-06"}, "needs": ["shelter"]}))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(
        found.body["results"][0]["service_id"], res.body["id"],
        "{}",
        found.body
    );
}
