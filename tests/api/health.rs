use reqwest::{Method, StatusCode};

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_answer_when_postgres_is_up() {
    let app = spawn_app().await;
    let res = app.send(Method::GET, "/healthz", None, None).await;
    assert_eq!(res.status, StatusCode::OK);
    let res = app.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["database"], "ok");
}

#[tokio::test]
async fn readyz_is_503_with_retry_after_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.drop_now();
    let res = app.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers.contains_key("retry-after"));
    assert_eq!(res.code(), "service_unavailable");
    // Nothing internal leaks: no database names or driver messages.
    let text = res.body.to_string();
    assert!(
        !text.contains(&app.db.name) && !text.to_lowercase().contains("database \""),
        "{text}"
    );
    assert!(res.body["error"]["correlation_id"].is_string());
    // The process itself is still alive.
    assert_eq!(
        app.send(Method::GET, "/healthz", None, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_paths_are_404_and_wrong_methods_405_in_the_envelope() {
    let app = spawn_app().await;
    let res = app
        .send(Method::GET, "/api/v1/nothing-here", None, None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.code(), "not_found");
    let res = app.send(Method::DELETE, "/api/v1/needs", None, None).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.code(), "method_not_allowed");
    let res = app.send(Method::POST, "/healthz", None, None).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
}
