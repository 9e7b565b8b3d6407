//! Admin routes: 401 without a valid token, 403 for a valid token of another role.

use diesel::prelude::*;
use haven::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{create_token, service_body, spawn_app};

const ADMIN_ROUTES: [(&str, &str); 10] = [
    ("GET", "/api/v1/organizations"),
    ("POST", "/api/v1/organizations"),
    (
        "GET",
        "/api/v1/organizations/00000000-0000-4000-8000-000000000000",
    ),
    (
        "PATCH",
        "/api/v1/organizations/00000000-0000-4000-8000-000000000000",
    ),
    (
        "DELETE",
        "/api/v1/organizations/00000000-0000-4000-8000-000000000000",
    ),
    ("GET", "/api/v1/services"),
    ("POST", "/api/v1/services"),
    (
        "GET",
        "/api/v1/services/00000000-0000-4000-8000-000000000000",
    ),
    (
        "PUT",
        "/api/v1/services/00000000-0000-4000-8000-000000000000",
    ),
    (
        "DELETE",
        "/api/v1/services/00000000-0000-4000-8000-000000000000",
    ),
];

#[tokio::test]
async fn admin_routes_refuse_missing_invalid_and_wrong_role_tokens() {
    let app = spawn_app().await;
    let hotline = create_token(&app.db, Role::Hotline, None);
    let body = json!({"name": "x"});
    for (method, path) in ADMIN_ROUTES {
        let method: Method = method.parse().unwrap();
        let res = app.send(method.clone(), path, None, Some(&body)).await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} without token"
        );
        assert_eq!(res.code(), "unauthorized");
        assert_eq!(res.headers.get("www-authenticate").unwrap(), "Bearer");

        let res = app
            .send(
                method.clone(),
                path,
                Some("hvn_not-a-real-token"),
                Some(&body),
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with a made-up token"
        );

        let res = app
            .send(method.clone(), path, Some(&hotline), Some(&body))
            .await;
        assert_eq!(
            res.status,
            StatusCode::FORBIDDEN,
            "{method} {path} as hotline"
        );
        assert_eq!(res.code(), "forbidden");
    }
}

#[tokio::test]
async fn a_revoked_token_is_refused() {
    let app = spawn_app().await;
    let res = app.admin(Method::GET, "/api/v1/organizations", None).await;
    assert_eq!(res.status, StatusCode::OK);
    use haven::db::schema::api_token;
    diesel::update(api_token::table)
        .set(api_token::revoked_at.eq(diesel::dsl::now))
        .execute(&mut app.db.connect())
        .unwrap();
    let res = app.admin(Method::GET, "/api/v1/organizations", None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_refused_write_writes_nothing() {
    let app = spawn_app().await;
    let org = app.create_organization("Owner").await;
    let provider = create_token(&app.db, Role::Provider, Some(org));
    let before = (app.db.count("service"), app.db.count("change_log"));
    let res = app
        .send(
            Method::POST,
            "/api/v1/services",
            Some(&provider),
            Some(&service_body(org)),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(
        (app.db.count("service"), app.db.count("change_log")),
        before
    );
}
