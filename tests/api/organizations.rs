use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{service_body, spawn_app};

#[tokio::test]
async fn create_read_patch_list_delete() {
    let app = spawn_app().await;
    let res = app
        .admin(
            Method::POST,
            "/api/v1/organizations",
            Some(&json!({"name": "  Harbor Test Org ", "description": "Help", "website": "https://example.org", "email": "intake@example.org"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let id = res.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        res.headers["location"],
        format!("/api/v1/organizations/{id}").as_str()
    );
    assert_eq!(res.body["name"], "Harbor Test Org");
    assert_eq!(res.body["demo"], false);

    let res = app
        .admin(Method::GET, &format!("/api/v1/organizations/{id}"), None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["email"], "intake@example.org");

    // Absent members stay; null clears.
    let res = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/organizations/{id}"),
            Some(&json!({"name": "Renamed", "website": null})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.body["name"], "Renamed");
    assert_eq!(res.body["website"], serde_json::Value::Null);
    assert_eq!(res.body["description"], "Help");
    // A name cannot be cleared: `null` is refused, not ignored.
    let refused = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/organizations/{id}"),
            Some(&json!({"name": null})),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(refused.field(), "name");
    // Nor is a PATCH that changes nothing taken as a change.
    let before = app
        .admin(Method::GET, &format!("/api/v1/organizations/{id}"), None)
        .await;
    let refused = app
        .admin(
            Method::PATCH,
            &format!("/api/v1/organizations/{id}"),
            Some(&json!({})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at least one of name"),
        "{}",
        refused.body
    );
    let after = app
        .admin(Method::GET, &format!("/api/v1/organizations/{id}"), None)
        .await;
    assert_eq!(after.body["updated_at"], before.body["updated_at"]);

    app.create_organization("Another").await;
    let res = app
        .admin(Method::GET, "/api/v1/organizations?per_page=1&page=2", None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["total"], 2);
    assert_eq!(res.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(res.body["data"][0]["name"], "Renamed");

    let res = app
        .admin(Method::DELETE, &format!("/api/v1/organizations/{id}"), None)
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = app
        .admin(Method::GET, &format!("/api/v1/organizations/{id}"), None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.code(), "not_found");
    let res = app
        .admin(Method::DELETE, &format!("/api/v1/organizations/{id}"), None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // Every write went to the change log.
    assert_eq!(app.db.count("change_log"), 4);
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/organizations/4b7f2f2e-0000-4000-8000-000000000000",
        "/api/v1/organizations/not-a-uuid",
    ] {
        let res = app.admin(Method::GET, path, None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        let res = app
            .admin(Method::PATCH, path, Some(&json!({"name": "x"})))
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn an_organization_with_services_is_not_deleted() {
    let app = spawn_app().await;
    let org = app.create_organization("Busy").await;
    let res = app.create_service(&service_body(org)).await;
    assert_eq!(res.status, StatusCode::CREATED);
    let res = app
        .admin(
            Method::DELETE,
            &format!("/api/v1/organizations/{org}"),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.code(), "conflict");
    assert_eq!(app.db.count("organization"), 1);
}

#[tokio::test]
async fn invalid_members_are_422_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(201)}), "name"),
        (json!({"name": "A", "email": "not-an-email"}), "email"),
        (
            json!({"name": "A", "website": "ftp://example.org"}),
            "website",
        ),
        (json!({"name": "A", "colour": "blue"}), "colour"),
        (json!({"name": 5}), "name"),
        (json!({}), "name"),
    ];
    for (body, field) in cases {
        let res = app
            .admin(Method::POST, "/api/v1/organizations", Some(&body))
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(res.field(), field, "{body}: {}", res.body);
        assert!(!res.body["error"]["message"].as_str().unwrap().is_empty());
    }
    let res = app
        .admin(Method::POST, "/api/v1/organizations", Some(&json!({})))
        .await;
    assert!(
        res.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("name"),
        "{}",
        res.body
    );
    assert_eq!(app.db.count("organization"), 0);
    assert_eq!(app.db.count("change_log"), 0);
}

/// A new organization the console refuses comes back open, with what was typed, next to what
/// was wrong: an admin fixes one member instead of typing all of them again.
#[tokio::test]
async fn a_refused_new_organization_in_the_console_keeps_what_was_typed() {
    let app = spawn_app().await;
    let (status, page) = app
        .console(
            &app.admin_token.clone(),
            "/console/organizations",
            Some(
                "name=Harbor+Light+Legal&description=Typed+with+care&website=not+a+website".into(),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("website"), "{page}");
    assert!(page.contains("<details open>"), "{page}");
    assert!(page.contains(r#"value="Harbor Light Legal""#), "{page}");
    assert!(page.contains(">Typed with care</textarea>"), "{page}");
    assert!(page.contains(r#"value="not a website""#), "{page}");
    assert_eq!(app.db.count("organization"), 0);
}
