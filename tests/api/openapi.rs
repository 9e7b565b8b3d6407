//! `GET /api/v1/openapi.json`: the document lists every API route, and what the app really
//! accepts and answers fits the schemas it gives.

use std::collections::BTreeSet;

use haven::auth::Role;
use haven::openapi::is_api;
use haven::routes::ENDPOINTS;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{TestApp, create_session, create_user, service_body, spawn_app_with};

/// A validator for the schema at `pointer` in `doc` (its `$ref`s resolve inside `doc`).
fn schema_at(doc: &Value, pointer: &str) -> jsonschema::Validator {
    let mut schema = doc
        .pointer(pointer)
        .unwrap_or_else(|| panic!("the document has no {pointer}"))
        .clone();
    schema["components"] = doc["components"].clone();
    jsonschema::draft202012::new(&schema).unwrap()
}

fn pointer(path: &str, method: &str) -> String {
    format!(
        "/paths/{}/{method}",
        path.replace('~', "~0").replace('/', "~1")
    )
}

/// `schema` with every object closed to members it does not list, so that an answer carrying
/// a member the document does not describe fails.
fn closed(mut schema: Value) -> Value {
    fn close(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                    map.insert("additionalProperties".into(), Value::Bool(false));
                }
                map.values_mut().for_each(close);
            }
            Value::Array(items) => items.iter_mut().for_each(close),
            _ => {}
        }
    }
    close(&mut schema);
    schema
}

/// Asserts that `value` fits the answer the document gives for `status` at `path`, and has no
/// member the document leaves out.
/// Every `$ref` in `value`.
fn references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (name, member) in members {
                match (name.as_str(), member) {
                    ("$ref", Value::String(target)) => found.push(target.clone()),
                    _ => references(member, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

fn assert_answer_fits(doc: &Value, path: &str, method: &str, status: u16, value: &Value) {
    let at = format!(
        "{}/responses/{status}/content/application~1json/schema",
        pointer(path, method)
    );
    let validator = schema_at(&closed(doc.clone()), &at);
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not fit the document: {errors:?}"
    );
}

fn request_schema(doc: &Value, path: &str, method: &str) -> jsonschema::Validator {
    let at = format!(
        "{}/requestBody/content/application~1json/schema",
        pointer(path, method)
    );
    schema_at(doc, &at)
}

async fn get_json(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let res = app.send(Method::GET, path, token, None).await;
    assert_eq!(res.status, StatusCode::OK, "{path}: {}", res.body);
    res.body
}

#[tokio::test]
async fn the_document_lists_every_api_route_and_the_real_answers_fit_it() {
    let app = spawn_app_with(crate::helpers::TestDb::new(), |s| {
        s.reveal_roles = vec![Role::Caseworker];
    })
    .await;
    // Served to anyone, as JSON.
    let res = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers["content-type"], "application/json");
    let doc = res.body;
    assert_eq!(doc["openapi"], "3.1.0");
    // Every reference names a part of the document: a schema only a query parameter uses
    // is registered too, or generated clients lose the parameter.
    let mut refs = Vec::new();
    references(&doc, &mut refs);
    assert!(refs.len() > 20, "{refs:?}");
    for target in refs {
        let found = target
            .strip_prefix('#')
            .and_then(|pointer| doc.pointer(pointer));
        assert!(found.is_some(), "{target} is not in the document");
    }
    haven::seed::load(
        &mut app.db.connect(),
        haven::seed::Dataset::Hotlines,
        app.data_key.current(),
        haven::boundaries::Boundaries::bundled(),
    )
    .unwrap();

    // Exactly the API routes of the routing table, each with its method.
    let routed: BTreeSet<String> = ENDPOINTS
        .iter()
        .filter(|e| is_api(e.path))
        .map(|e| format!("{} {}", e.method.to_lowercase(), e.path))
        .collect();
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{method} {path}"))
        })
        .collect();
    assert_eq!(documented, routed);
    assert!(routed.contains("post /api/v1/match"), "{routed:?}");
    // Staff routes say how to authenticate; public ones do not ask.
    assert!(
        doc.pointer("/paths/~1api~1v1~1services/post/security")
            .is_some()
    );
    assert!(
        doc.pointer("/paths/~1api~1v1~1match/post/security")
            .is_none()
    );

    // Requests: what the tests send fits; a broken one does not.
    let org_body = json!({"name": "Harbor Light", "website": "https://example.org"});
    assert!(request_schema(&doc, "/api/v1/organizations", "post").is_valid(&org_body));
    let res = app
        .admin(Method::POST, "/api/v1/organizations", Some(&org_body))
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_answer_fits(&doc, "/api/v1/organizations", "post", 201, &res.body);
    let org: Uuid = res.body["id"].as_str().unwrap().parse().unwrap();

    let mut service = service_body(org);
    service["needs"] = json!(["shelter", "legal_aid"]);
    service["languages"] = json!(["es"]);
    service["eligibility"] = json!({"min_age": 12, "max_age": 24, "genders": ["female"]});
    service["phones"] =
        json!([{"number": "+1 713 555 0100", "type": "voice", "available_24_7": true}]);
    service["schedules"] = json!([{"days": ["mon", "tue"], "opens_at": "09:00", "closes_at": "17:00", "timezone": "America/Chicago"}]);
    service["capacity"] = json!({"available": 3, "total": 10});
    service["location"] = json!({"lat": 29.70, "lon": -95.40, "confidential": true,
        "address": {"street": "1 Quiet Way", "city": "Houston", "region": "TX"}});
    service["coverage"] = json!([
        {"type": "radius", "center": {"lat": 29.76, "lon": -95.37}, "radius_km": 25},
        {"type": "region", "code": "US-48201"},
        {"type": "area", "geometry": {"type": "Polygon", "coordinates":
            [[[-95.5, 29.6], [-95.2, 29.6], [-95.2, 29.9], [-95.5, 29.9], [-95.5, 29.6]]]}}
    ]);
    let service_schema = request_schema(&doc, "/api/v1/services", "post");
    assert!(service_schema.is_valid(&service));
    for coverage in [
        json!([{"type": "radius", "center": {"lat": 29.76}}]),
        json!([]),
    ] {
        let mut broken = service.clone();
        broken["coverage"] = coverage;
        assert!(!service_schema.is_valid(&broken), "{broken}");
    }
    let res = app.create_service(&service).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/services", "post", 201, &res.body);
    let id = res.body["id"].as_str().unwrap().to_string();
    let mut public = service_body(org);
    public["location"] = json!({"lat": 29.74, "lon": -95.38, "confidential": false,
        "address": {"street": "200 Main St", "city": "Houston", "region": "TX", "postal_code": "77002"}});
    assert_eq!(
        app.create_service(&public).await.status,
        StatusCode::CREATED
    );

    // Answers: each fits what the document says for it.
    let admin = app.admin_token.clone();
    let one = format!("/api/v1/services/{id}");
    for (path, documented_as) in [
        ("/api/v1/organizations".to_string(), "/api/v1/organizations"),
        (
            format!("/api/v1/organizations/{org}"),
            "/api/v1/organizations/{id}",
        ),
        ("/api/v1/services".to_string(), "/api/v1/services"),
        (one.clone(), "/api/v1/services/{id}"),
        ("/api/v1/needs".to_string(), "/api/v1/needs"),
        ("/api/v1/regions?per_page=5".to_string(), "/api/v1/regions"),
        ("/api/v1/session".to_string(), "/api/v1/session"),
        ("/readyz".to_string(), "/readyz"),
        ("/healthz".to_string(), "/healthz"),
    ] {
        let body = get_json(&app, &path, Some(&admin)).await;
        assert_answer_fits(&doc, documented_as, "get", 200, &body);
    }
    let region_search = json!({"q": "Harris County, TX", "limit": 3});
    let region_schema = request_schema(&doc, "/api/v1/regions/search", "post");
    assert!(region_schema.is_valid(&region_search));
    assert!(!region_schema.is_valid(&json!({"q": "harris", "state": "TX"})));
    let res = app
        .send(
            Method::POST,
            "/api/v1/regions/search",
            None,
            Some(&region_search),
        )
        .await;
    assert_eq!(res.body["data"][0]["code"], "US-48201");
    assert_answer_fits(&doc, "/api/v1/regions/search", "post", 200, &res.body);

    let patch = json!({"capacity": {"available": 2, "total": 10}});
    let patch_schema = request_schema(&doc, "/api/v1/services/{id}", "patch");
    assert!(patch_schema.is_valid(&patch));
    assert!(
        !patch_schema.is_valid(&json!({})),
        "an empty patch changes nothing"
    );
    let res = app.admin(Method::PATCH, &one, Some(&patch)).await;
    assert_answer_fits(&doc, "/api/v1/services/{id}", "patch", 200, &res.body);

    app.wait_for_index().await;
    let search = json!({"location": {"lat": 29.76, "lon": -95.37},
        "needs": ["shelter", "legal_aid"], "age": 16, "gender": "female", "limit": 5});
    let match_schema = request_schema(&doc, "/api/v1/match", "post");
    assert!(match_schema.is_valid(&search));
    // The document's own example is a request the app takes.
    let example = &doc["components"]["schemas"]["MatchRequest"]["examples"][0];
    assert!(match_schema.is_valid(example), "{example}");
    assert_eq!(app.find(example).await.status, StatusCode::OK);
    let mut broken = search.clone();
    broken["needs"] = json!(["shelter", "a_place_to_stay"]);
    assert!(!match_schema.is_valid(&broken));
    let careful = json!({"location": {"region": "US-48201"}, "needs": ["shelter"],
        "languages": ["es"], "require": ["no_id_required"], "open_now": true});
    assert!(match_schema.is_valid(&careful));
    let res = app.find(&careful).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/match", "post", 200, &res.body);
    let res = app.find(&search).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.body["results"].as_array().unwrap().len(),
        2,
        "{}",
        res.body
    );
    assert_answer_fits(&doc, "/api/v1/match", "post", 200, &res.body);
    let by_zip = json!({"location": {"postal_code": "77002"}, "needs": ["shelter"]});
    assert!(match_schema.is_valid(&by_zip));
    let res = app
        .find(&json!({"location": {"postal_code": "00000"}, "needs": ["shelter"]}))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_answer_fits(&doc, "/api/v1/match", "post", 422, &res.body);

    // Sign-in, reveal and the audit trail.
    create_user(
        &app.db,
        "case@example.org",
        "case passphrase 42",
        Role::Caseworker,
        None,
    );
    let res = app.sign_in("case@example.org", "case passphrase 42").await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_answer_fits(&doc, "/api/v1/session", "post", 201, &res.body);
    let caseworker = create_session(
        &app.db,
        create_user(
            &app.db,
            "b@example.org",
            "another passphrase",
            Role::Caseworker,
            None,
        ),
    );
    let reason = json!({"reason": "confirming a referral by phone"});
    assert!(request_schema(&doc, "/api/v1/services/{id}/reveal", "post").is_valid(&reason));
    let res = app
        .send(
            Method::POST,
            &format!("{one}/reveal"),
            Some(&caseworker),
            Some(&reason),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/services/{id}/reveal", "post", 200, &res.body);
    let body = get_json(&app, "/api/v1/audit", Some(&admin)).await;
    assert_answer_fits(&doc, "/api/v1/audit", "get", 200, &body);
}

/// Asserts that the document gives `status` at `path` with no body, and that the app's answer
/// has none.
fn assert_empty_answer(doc: &Value, path: &str, method: &str, status: u16, body: &Value) {
    let at = format!("{}/responses/{status}", pointer(path, method));
    let response = doc
        .pointer(&at)
        .unwrap_or_else(|| panic!("{method} {path} does not document {status}"));
    assert!(
        response.get("content").is_none(),
        "{method} {path} {status}"
    );
    assert_eq!(body, &Value::Null, "{method} {path} {status}");
}

/// The answers the first test does not reach: the other writes, the deletes, and an error
/// envelope for each kind of refusal. Each fits what the document gives for its status, and
/// the status is one the document lists for that operation.
#[tokio::test]
async fn the_other_answers_and_every_kind_of_refusal_fit_the_document() {
    let app = spawn_app_with(crate::helpers::TestDb::new(), |s| {
        s.rate_limit_per_minute = 3;
    })
    .await;
    let doc = app
        .send(Method::GET, "/api/v1/openapi.json", None, None)
        .await
        .body;
    let org = app.create_organization("Harbor Light").await;
    let res = app.create_service(&service_body(org)).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let one = format!("/api/v1/services/{}", res.body["id"].as_str().unwrap());
    let org_path = format!("/api/v1/organizations/{org}");

    // The other writes.
    let mut replaced = service_body(org);
    replaced["name"] = json!("Harbor Light Shelter");
    let res = app.admin(Method::PUT, &one, Some(&replaced)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/services/{id}", "put", 200, &res.body);
    let capacity = json!({"available": 4, "total": 12});
    let capacity_path = format!("{one}/capacity");
    assert!(request_schema(&doc, "/api/v1/services/{id}/capacity", "patch").is_valid(&capacity));
    let res = app
        .admin(Method::PATCH, &capacity_path, Some(&capacity))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_answer_fits(
        &doc,
        "/api/v1/services/{id}/capacity",
        "patch",
        200,
        &res.body,
    );
    let rename = json!({"name": "Harbor Light Collective"});
    assert!(request_schema(&doc, "/api/v1/organizations/{id}", "patch").is_valid(&rename));
    let res = app.admin(Method::PATCH, &org_path, Some(&rename)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/organizations/{id}", "patch", 200, &res.body);

    // Refusals, each in the error envelope.
    let json_type = "application/json";
    let res = app
        .admin_raw(
            Method::POST,
            "/api/v1/services",
            json_type,
            b"{\"name\":".to_vec(),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/services", "post", 400, &res.body);
    let res = app
        .admin_raw(
            Method::POST,
            "/api/v1/services",
            "text/plain",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        res.body
    );
    assert_answer_fits(&doc, "/api/v1/services", "post", 415, &res.body);
    let huge = vec![b' '; 5 * 1024 * 1024];
    let res = app
        .admin_raw(Method::POST, "/api/v1/services", json_type, huge)
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/services", "post", 413, &res.body);
    let mut unknown_need = service_body(org);
    unknown_need["needs"] = json!(["a_place_to_stay"]);
    let res = app.create_service(&unknown_need).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/services", "post", 422, &res.body);
    let res = app.send(Method::GET, "/api/v1/services", None, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/services", "get", 401, &res.body);
    let caseworker = create_session(
        &app.db,
        create_user(
            &app.db,
            "case@example.org",
            "case passphrase 42",
            Role::Caseworker,
            None,
        ),
    );
    let res = app
        .send(
            Method::POST,
            "/api/v1/organizations",
            Some(&caseworker),
            Some(&json!({"name": "Not Theirs To Add"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/organizations", "post", 403, &res.body);
    let nobody = format!("/api/v1/services/{}", Uuid::new_v4());
    let res = app.admin(Method::GET, &nobody, None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/services/{id}", "get", 404, &res.body);
    let res = app.admin(Method::DELETE, &org_path, None).await;
    assert_eq!(
        res.status,
        StatusCode::CONFLICT,
        "an organization with a service"
    );
    assert_answer_fits(&doc, "/api/v1/organizations/{id}", "delete", 409, &res.body);
    // Signing out an API token does not apply.
    let res = app
        .send(
            Method::DELETE,
            "/api/v1/session",
            Some(&app.admin_token.clone()),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/session", "delete", 400, &res.body);
    // Public routes are rate-limited per client (three a minute here).
    let search = json!({"location": {"lat": 29.76, "lon": -95.37}, "needs": ["shelter"]});
    let mut res = app.find(&search).await;
    for _ in 0..3 {
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        res = app.find(&search).await;
    }
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/match", "post", 429, &res.body);

    // Deletes answer 204 with no body.
    let res = app.admin(Method::DELETE, &one, None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.body);
    assert_empty_answer(&doc, "/api/v1/services/{id}", "delete", 204, &res.body);
    let res = app.admin(Method::DELETE, &org_path, None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.body);
    assert_empty_answer(&doc, "/api/v1/organizations/{id}", "delete", 204, &res.body);
    let res = app
        .send(Method::DELETE, "/api/v1/session", Some(&caseworker), None)
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.body);
    assert_empty_answer(&doc, "/api/v1/session", "delete", 204, &res.body);

    // A client over its allowance has its credentials refused unread, on any route,
    // valid ones included: so this comes last.
    let guess = format!("hvn_{}", "A".repeat(43));
    let res = app
        .send(Method::GET, "/api/v1/services", Some(&guess), None)
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.body);
    assert_answer_fits(&doc, "/api/v1/services", "get", 429, &res.body);
}
