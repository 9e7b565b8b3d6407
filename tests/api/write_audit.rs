//! Who wrote which service: every write through the API and the console leaves a record in
//! the append-only audit trail, naming the members it changed but none of their values.

use haven::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, create_token, intake_phone, service_body, spawn_app};

/// The trail of one service, oldest first: (action, actor role, reason).
async fn trail(app: &TestApp, id: &str) -> Vec<(String, String, String)> {
    let res = app
        .admin(
            Method::GET,
            &format!("/api/v1/audit?service_id={id}&per_page=100"),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let mut entries: Vec<(String, String, String)> = res.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |member: &str| e[member].as_str().unwrap().to_string();
            (text("action"), text("actor_role"), text("reason"))
        })
        .collect();
    entries.reverse();
    entries
}

fn entry(action: &str, role: &str, reason: &str) -> (String, String, String) {
    (action.into(), role.into(), reason.into())
}

#[tokio::test]
async fn every_write_of_a_service_is_recorded_with_the_members_it_changed() {
    let app = spawn_app().await;
    let org = app.create_organization("Harbor Org").await;
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let created = app.create_service(&service_body(org)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/services/{id}");
    let as_provider = |method: Method, path: &str, body: Value| {
        let (provider, path, app) = (provider.clone(), path.to_string(), &app);
        async move { app.send(method, &path, Some(&provider), Some(&body)).await }
    };

    // A bed report alone is not recorded; a change of status is, by its provider.
    let beds = json!({"available": 2, "total": 10});
    let res = as_provider(Method::PATCH, &format!("{path}/capacity"), beds).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let closed = json!({"status": "temporarily_closed", "capacity": {"available": 0, "total": 10}});
    let res = as_provider(Method::PATCH, &path, closed).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // Beds reported again with a status it already has: nothing but beds, not recorded.
    let again = json!({"status": "temporarily_closed", "capacity": {"available": 0, "total": 10}});
    let res = as_provider(Method::PATCH, &path, again).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // A refused write leaves no record.
    let res = as_provider(Method::PATCH, &path, json!({"phones": [{"number": "1"}]})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);

    // A replacement names what it changed; one that changed nothing says so.
    let mut renamed = service_body(org);
    renamed["name"] = json!("Harbor Shelter");
    renamed["capacity"] = json!({"available": 0, "total": 10});
    let res = app.admin(Method::PUT, &path, Some(&renamed)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = app.admin(Method::PUT, &path, Some(&renamed)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // A confidential site sent again counts as changed: reads cannot show its sealed parts.
    let mut sealed = renamed.clone();
    sealed["phones"] = intake_phone();
    sealed["coverage"] = json!([{"type": "region", "code": "US-48201"}]);
    sealed["location"] = json!({"lat": 29.75, "lon": -95.40, "confidential": true,
        "address": {"street": "1 Quietwater Lane", "city": "Houston", "region": "TX"}});
    let res = app.admin(Method::PUT, &path, Some(&sealed)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    sealed["location"]["address"]["street"] = json!("9 Stillwater Court");
    let res = app.admin(Method::PUT, &path, Some(&sealed)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    // Who published an address is told without it.
    sealed["location"]["confidential"] = json!(false);
    let res = app.admin(Method::PUT, &path, Some(&sealed)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = app.admin(Method::DELETE, &path, None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.body);

    let recorded = trail(&app, &id).await;
    assert_eq!(
        recorded,
        [
            entry("service_created", "admin", "created"),
            entry(
                "service_updated",
                "provider",
                "changed capacity, status to temporarily_closed"
            ),
            entry("service_replaced", "admin", "changed name"),
            entry("service_replaced", "admin", "changed nothing"),
            entry(
                "service_replaced",
                "admin",
                "changed coverage, location, phones"
            ),
            entry("service_replaced", "admin", "changed location"),
            entry("service_replaced", "admin", "changed location, made public"),
            entry("service_deleted", "admin", "deleted"),
        ]
    );
    // No value reaches the trail: not the street (sealed, then public), nor the front door,
    // nor the name.
    let raw = app
        .admin(Method::GET, "/api/v1/audit?per_page=100", None)
        .await
        .body
        .to_string();
    for value in [
        "Quietwater",
        "Stillwater",
        "Houston",
        "Harbor Shelter",
        "415-555-0143",
    ] {
        assert!(!raw.contains(value), "{value} in {raw}");
    }
    // The provider's record names its organization; the admin's token has none.
    let res = app
        .admin(Method::GET, &format!("/api/v1/audit?service_id={id}"), None)
        .await;
    let by_provider = res.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["actor_role"] == "provider")
        .unwrap();
    assert_eq!(by_provider["actor_organization_id"], json!(org));
    assert!(by_provider["actor_token_id"].is_string());
}

/// The console's forms write through the same paths, and so are recorded too.
#[tokio::test]
async fn the_consoles_writes_are_recorded_too() {
    let app = spawn_app().await;
    let org = app.create_organization("Harbor Org").await;
    let created = app.create_service(&service_body(org)).await;
    let id = created.body["id"].as_str().unwrap().to_string();
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let (status, page) = app
        .console(
            &provider,
            "/console/status",
            Some(format!("service_id={id}&status=inactive")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, page) = app
        .console(
            &provider,
            "/console/capacity",
            Some(format!("service_id={id}&available=1&total=4")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        trail(&app, &id).await,
        [
            entry("service_created", "admin", "created"),
            entry("service_updated", "provider", "changed status to inactive"),
        ]
    );
}
