//! `Idempotency-Key` on the create routes (SAFETY.md rule 18): a retry returns the first
//! response and creates nothing; the same key with a different body gets 422.

use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;
use haven::auth::Role;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse, create_token, into_response, service_body, spawn_app};

/// `POST path` as `token`, with `key` as the Idempotency-Key when given.
async fn create(
    app: &TestApp,
    token: &str,
    path: &str,
    key: Option<&str>,
    body: &Value,
) -> TestResponse {
    let mut req = app.client.post(app.url(path)).bearer_auth(token).json(body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    into_response(req.send().await.unwrap()).await
}

fn replayed(res: &TestResponse) -> bool {
    res.headers.get("idempotent-replayed").is_some()
}

#[tokio::test]
async fn a_create_sent_again_with_its_key_gets_the_first_answer_and_creates_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token.clone();
    let org = json!({"name": "Harbor Light Legal"});
    let first = create(&app, &admin, "/api/v1/organizations", Some("org-1"), &org).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert!(!replayed(&first));
    let again = create(&app, &admin, "/api/v1/organizations", Some("org-1"), &org).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert!(replayed(&again));
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["location"], first.headers["location"]);
    assert_eq!(app.db.count("organization"), 1);

    let org_id = first.body["id"].as_str().unwrap().parse().unwrap();
    let service = service_body(org_id);
    let first = create(&app, &admin, "/api/v1/services", Some("svc-1"), &service).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let changes = app.db.count("change_log");
    for _ in 0..2 {
        let again = create(&app, &admin, "/api/v1/services", Some("svc-1"), &service).await;
        assert_eq!(
            (again.status, &again.body),
            (StatusCode::CREATED, &first.body)
        );
        assert!(replayed(&again));
    }
    assert_eq!(app.db.count("service"), 1);
    assert_eq!(
        app.db.count("change_log"),
        changes,
        "nothing more for the index to follow"
    );

    // Without a key, every request creates.
    for _ in 0..2 {
        let res = create(&app, &admin, "/api/v1/services", None, &service).await;
        assert_eq!(res.status, StatusCode::CREATED);
        assert!(!replayed(&res));
    }
    assert_eq!(app.db.count("service"), 3);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_and_writes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin_token.clone();
    let path = "/api/v1/organizations";
    let first = create(
        &app,
        &admin,
        path,
        Some("k"),
        &json!({"name": "North Star"}),
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let res = create(
        &app,
        &admin,
        path,
        Some("k"),
        &json!({"name": "South Star"}),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(res.code(), "idempotency_key_reused");
    assert_eq!(res.field(), "Idempotency-Key");
    // Nor on another route: a key stands for one request.
    let org_id = first.body["id"].as_str().unwrap().parse().unwrap();
    let res = create(
        &app,
        &admin,
        "/api/v1/services",
        Some("k"),
        &service_body(org_id),
    )
    .await;
    assert_eq!(res.code(), "idempotency_key_reused");
    assert_eq!(app.db.count("organization"), 1);
    assert_eq!(app.db.count("service"), 0);
}

#[tokio::test]
async fn keys_belong_to_their_caller_and_a_refused_create_does_not_use_one_up() {
    let app = spawn_app().await;
    let other = create_token(&app.db, Role::Admin, None);
    let body = json!({"name": "Riverbend Shelter Network"});
    let path = "/api/v1/organizations";
    let mine = create(&app, &app.admin_token.clone(), path, Some("same"), &body).await;
    let theirs = create(&app, &other, path, Some("same"), &body).await;
    assert_eq!(
        (mine.status, theirs.status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert!(!replayed(&theirs));
    assert_ne!(mine.body["id"], theirs.body["id"]);

    // A create refused for its body writes nothing, the key included: fixed, it goes through.
    let res = create(&app, &other, path, Some("fix-me"), &json!({"name": ""})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = create(
        &app,
        &other,
        path,
        Some("fix-me"),
        &json!({"name": "Fixed"}),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert!(!replayed(&res));
    assert_eq!(app.db.count("organization"), 3);
}

#[tokio::test]
async fn a_malformed_key_is_a_422_naming_the_header() {
    let app = spawn_app().await;
    let admin = app.admin_token.clone();
    let body = json!({"name": "Anything"});
    for key in [String::new(), "k".repeat(256), "tab\there".into()] {
        let res = create(&app, &admin, "/api/v1/organizations", Some(&key), &body).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{key:?}");
        assert_eq!(
            (res.code(), res.field()),
            ("invalid_header", "Idempotency-Key")
        );
    }
    let longest = "k".repeat(255);
    let res = create(&app, &admin, "/api/v1/organizations", Some(&longest), &body).await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(app.db.count("organization"), 1);
}

/// A retry is often a body built again: the same JSON with its members in another order or
/// other spacing is the same request.
#[tokio::test]
async fn a_retry_may_send_the_same_json_in_other_bytes() {
    let app = spawn_app().await;
    let send = |body: &'static str, key: &'static str| {
        let req = app
            .client
            .post(app.url("/api/v1/organizations"))
            .bearer_auth(&app.admin_token)
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", key)
            .body(body);
        async move { into_response(req.send().await.unwrap()).await }
    };
    let first = send(
        r#"{"name":"Tidewater Aid","website":"https://tidewater.example.org"}"#,
        "k",
    )
    .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = send(
        "{\n  \"website\": \"https://tidewater.example.org\",\n  \"name\": \"Tidewater Aid\"\n}",
        "k",
    )
    .await;
    assert_eq!(
        (again.status, replayed(&again)),
        (StatusCode::CREATED, true)
    );
    assert_eq!(again.body, first.body);
    let other = send(
        r#"{"name":"Tidewater Aid","website":"https://tidewater.example.net"}"#,
        "k",
    )
    .await;
    assert_eq!(other.code(), "idempotency_key_reused");
    assert_eq!(app.db.count("organization"), 1);
}

/// Two keys on one request leave its meaning open: refused, nothing written.
#[tokio::test]
async fn a_key_sent_twice_is_refused() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/v1/organizations"))
        .bearer_auth(&app.admin_token)
        .header("Idempotency-Key", "a1")
        .header("Idempotency-Key", "a2")
        .json(&json!({"name": "Anything"}))
        .send()
        .await
        .unwrap();
    let res = into_response(res).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert_eq!(
        (res.code(), res.field()),
        ("invalid_header", "Idempotency-Key")
    );
    assert_eq!(app.db.count("organization"), 0);
}

/// Retries racing each other (a client that timed out and sent again while the first was
/// still being written) still create once: the second waits for the first's key.
#[tokio::test]
async fn concurrent_retries_create_once() {
    let app = spawn_app().await;
    let admin = app.admin_token.clone();
    let org = create(
        &app,
        &admin,
        "/api/v1/organizations",
        None,
        &json!({"name": "Org"}),
    )
    .await;
    let org_id = org.body["id"].as_str().unwrap().parse().unwrap();
    let service = service_body(org_id);
    let answers = futures_util::future::join_all(
        (0..8).map(|_| create(&app, &admin, "/api/v1/services", Some("race"), &service)),
    )
    .await;
    for res in &answers {
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        assert_eq!(res.body["id"], answers[0].body["id"]);
    }
    assert_eq!(answers.iter().filter(|r| !replayed(r)).count(), 1);
    assert_eq!(app.db.count("service"), 1);
}

#[tokio::test]
async fn keys_are_kept_as_hashes_for_a_day() {
    let app = spawn_app().await;
    let admin = app.admin_token.clone();
    let body = json!({"name": "Lakeside Advocacy"});
    let key = "a-key-the-database-never-sees";
    let path = "/api/v1/organizations";
    assert_eq!(
        create(&app, &admin, path, Some(key), &body).await.status,
        StatusCode::CREATED
    );
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut conn = app.db.connect();
    let plain: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM idempotency_key
          WHERE position(convert_to($1, 'UTF8') IN key_hash) > 0",
    )
    .bind::<diesel::sql_types::Text, _>(key)
    .get_result(&mut conn)
    .unwrap();
    assert_eq!((plain.n, app.db.count("idempotency_key")), (0, 1));
    // Nor a plain hash of the request: a create's body may hold a sealed address, which a
    // copy of the database could then confirm.
    let request = format!("POST {path}\n{}", serde_json::to_string(&body).unwrap());
    let plain: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM idempotency_key
          WHERE request_hash = sha256(convert_to($1, 'UTF8'))",
    )
    .bind::<diesel::sql_types::Text, _>(&request)
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(plain.n, 0);

    // A day later the key is forgotten: the same request creates again.
    diesel::sql_query("UPDATE idempotency_key SET created_at = now() - interval '25 hours'")
        .execute(&mut conn)
        .unwrap();
    let res = create(&app, &admin, path, Some(key), &body).await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert!(!replayed(&res));
    assert_eq!(app.db.count("organization"), 2);
    assert_eq!(app.db.count("idempotency_key"), 1);
}

/// The console's create forms carry a one-time key: sent again (a refresh, a second click,
/// even both at once), a form shows what it made the first time instead of making a copy;
/// the same form sent with other values writes nothing.
#[tokio::test]
async fn console_create_forms_sent_twice_create_once() {
    let app = spawn_app().await;
    let post = |path: &'static str, fields: &[(&str, &str)]| {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let sent = app.admin_raw(
            Method::POST,
            path,
            "application/x-www-form-urlencoded",
            body.into_bytes(),
        );
        async move {
            let res = sent.await;
            (
                res.status,
                res.body.as_str().unwrap_or_default().to_string(),
            )
        }
    };
    let home = app
        .client
        .get(app.url("/console"))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains(r#"name="form_key""#), "{home}");

    let key = uuid::Uuid::new_v4().to_string();
    let organizations = app.db.count("organization");
    for _ in 0..2 {
        let (status, html) = post(
            "/console/organizations",
            &[("name", "Made Once"), ("form_key", &key)],
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(html.contains("Created Made Once."), "{html}");
    }
    assert_eq!(app.db.count("organization"), organizations + 1);
    let (status, html) = post(
        "/console/organizations",
        &[("name", "Something Else"), ("form_key", &key)],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("already used"), "{html}");
    assert_eq!(app.db.count("organization"), organizations + 1);

    let org = app.create_organization("Editor Org").await;
    let org = org.to_string();
    let body = service_body(org.parse().unwrap()).to_string();
    let key = uuid::Uuid::new_v4().to_string();
    let fields = [
        ("organization_id", org.as_str()),
        ("body", body.as_str()),
        ("form_key", key.as_str()),
    ];
    let (first, second) = tokio::join!(
        post("/console/services/save", &fields),
        post("/console/services/save", &fields)
    );
    let shown = |(status, html): &(StatusCode, String)| {
        assert_eq!(*status, StatusCode::OK, "{html}");
        let at = html.find(r#"name="service_id" value=""#).expect("saved") + 25;
        html[at..at + 36].to_string()
    };
    assert_eq!(shown(&first), shown(&second));
    assert_eq!(app.db.count("service"), 1);
}
