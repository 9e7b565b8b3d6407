//! Accounts and sessions (SAFETY.md rules 10 and 11): sign-in, cookies, sign-out, expiry,
//! disabling, throttling, and secrets kept only as hashes.

use diesel::prelude::*;
use haven::auth::Role;
use haven::db::schema::{app_user, user_session};
use reqwest::{Method, StatusCode};

use crate::helpers::{
    TestApp, TestDb, TestResponse, create_user, into_response, spawn_app, spawn_app_with,
};

const EMAIL: &str = "operator@example.org";
const PASSWORD: &str = "a long enough passphrase";

async fn app_with_user() -> TestApp {
    let app = spawn_app().await;
    create_user(&app.db, EMAIL, PASSWORD, Role::Hotline, None);
    app
}

async fn who(app: &TestApp, token: &str) -> StatusCode {
    app.send(Method::GET, "/api/v1/session", Some(token), None)
        .await
        .status
}

#[tokio::test]
async fn sign_in_gives_a_session_and_a_strict_http_only_cookie_and_sign_out_ends_it() {
    let app = app_with_user().await;
    // Emails are matched case-insensitively.
    let res = app.sign_in(" Operator@Example.org ", PASSWORD).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(res.body["role"], "hotline");
    assert_eq!(res.body["idle_timeout_minutes"], 30);
    let token = res.body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("hvs_") && token.len() >= 40);
    let cookie = res.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("haven_session={token}")),
        "{cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    // On plain-HTTP localhost the cookie cannot be Secure (browsers would not send it back).
    assert!(!cookie.contains("Secure"), "{cookie}");

    // The session works as a bearer token and as the cookie.
    assert_eq!(who(&app, &token).await, StatusCode::OK);
    let res = app
        .client
        .get(app.url("/api/v1/session"))
        .header("Cookie", format!("haven_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // Only the hash is stored.
    let hashes: Vec<Vec<u8>> = user_session::table
        .select(user_session::token_hash)
        .load(&mut app.db.connect())
        .unwrap();
    assert_eq!(hashes.len(), 1);
    assert_ne!(hashes[0], token.as_bytes());
    let stored: String = app_user::table
        .select(app_user::password_hash)
        .first(&mut app.db.connect())
        .unwrap();
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );

    let res = app
        .send(Method::DELETE, "/api/v1/session", Some(&token), None)
        .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let cleared = res.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(who(&app, &token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_cookie_is_host_prefixed_and_secure_away_from_localhost() {
    let app = app_with_user().await;
    let res = app
        .client
        .post(app.url("/api/v1/session"))
        .header("Host", "haven.example.org")
        .json(&serde_json::json!({"email": EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("__Host-haven_session="), "{cookie}");
    assert!(
        cookie.contains("Secure") && !cookie.contains("Domain"),
        "{cookie}"
    );
}

#[tokio::test]
async fn wrong_password_unknown_email_and_disabled_account_look_the_same() {
    let app = app_with_user().await;
    create_user(
        &app.db,
        "gone@example.org",
        PASSWORD,
        Role::Caseworker,
        None,
    );
    haven::db::accounts::disable_user(&mut app.db.connect(), "gone@example.org").unwrap();
    let mut bodies = Vec::new();
    for (email, password) in [
        (EMAIL, "not the passphrase"),
        ("nobody@example.org", PASSWORD),
        ("gone@example.org", PASSWORD),
    ] {
        let res = app.sign_in(email, password).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{email}");
        assert!(res.headers.get("set-cookie").is_none());
        // The same answer but for its correlation id, fresh for every error.
        let mut body = res.body;
        let id = body["error"]
            .as_object_mut()
            .unwrap()
            .remove("correlation_id");
        assert!(id.is_some_and(|id| id.is_string()), "{body}");
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert_eq!(app.db.count("user_session"), 0);
}

/// Moves a session's `column` (`created_at` or `last_seen_at`) `minutes` into the past.
fn set_minutes_ago(conn: &mut PgConnection, token: &str, column: &str, minutes: i32) {
    diesel::sql_query(format!(
        "UPDATE user_session SET {column} = now() - make_interval(mins => $1) WHERE token_hash = $2"
    ))
    .bind::<diesel::sql_types::Integer, _>(minutes)
    .bind::<diesel::sql_types::Bytea, _>(haven::auth::hash_token(token))
    .execute(conn)
    .unwrap();
}

#[tokio::test]
async fn sessions_expire_after_30_idle_minutes_or_12_hours_and_when_the_user_is_disabled() {
    let app = app_with_user().await;
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let res = app.sign_in(EMAIL, PASSWORD).await;
        assert_eq!(res.status, StatusCode::CREATED);
        tokens.push(res.body["token"].as_str().unwrap().to_string());
    }
    let mut conn = app.db.connect();
    // Idle: last used 31 minutes ago.
    set_minutes_ago(&mut conn, &tokens[0], "last_seen_at", 31);
    // Absolute: signed in 12 hours and a minute ago, though used just now.
    set_minutes_ago(&mut conn, &tokens[1], "created_at", 721);
    assert_eq!(who(&app, &tokens[0]).await, StatusCode::UNAUTHORIZED);
    assert_eq!(who(&app, &tokens[1]).await, StatusCode::UNAUTHORIZED);
    assert_eq!(who(&app, &tokens[2]).await, StatusCode::OK);

    // 29 idle minutes is still within the limit.
    set_minutes_ago(&mut conn, &tokens[2], "last_seen_at", 29);
    assert_eq!(who(&app, &tokens[2]).await, StatusCode::OK);

    haven::db::accounts::disable_user(&mut conn, EMAIL).unwrap();
    assert_eq!(who(&app, &tokens[2]).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.sign_in(EMAIL, PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// An app behind a trusted proxy (the tests' 127.0.0.1), so each test client can be another
/// address through `X-Forwarded-For`, with the operator's account.
async fn app_with_user_behind_a_proxy() -> TestApp {
    let app = spawn_app_with(TestDb::new(), |s| {
        s.trusted_proxies = haven::client_ip::TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    create_user(&app.db, EMAIL, PASSWORD, Role::Hotline, None);
    app
}

async fn sign_in_from(app: &TestApp, client: &str, password: &str) -> TestResponse {
    let res = app
        .client
        .post(app.url("/api/v1/session"))
        .header("X-Forwarded-For", client)
        .json(&serde_json::json!({"email": EMAIL, "password": password}))
        .send()
        .await
        .unwrap();
    into_response(res).await
}

const WRONG: &str = "wrong passphrase here";

#[tokio::test]
async fn failed_sign_ins_hold_back_the_client_that_made_them_not_the_account() {
    let app = app_with_user_behind_a_proxy().await;
    let guesser = "198.51.100.7";
    for _ in 0..5 {
        let res = sign_in_from(&app, guesser, WRONG).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    // The guesser waits now, even with the right password.
    let res = sign_in_from(&app, guesser, PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.body);
    assert_eq!(res.code(), "too_many_requests");
    assert!(
        (1..=61).contains(&res.retry_after()),
        "{}",
        res.retry_after()
    );
    // The operator, somewhere else, is not locked out by it.
    let res = sign_in_from(&app, "203.0.113.20", PASSWORD).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
}

#[tokio::test]
async fn a_sign_in_forgets_the_failures_before_it() {
    let app = app_with_user_behind_a_proxy().await;
    let (failed, signed_in) = (
        (WRONG, StatusCode::UNAUTHORIZED),
        (PASSWORD, StatusCode::CREATED),
    );
    // Four mistakes and in; in again (not an attempt used up); four more mistakes, which
    // start the count again, and in.
    let steps = [
        [failed; 4].as_slice(),
        &[signed_in; 2],
        &[failed; 4],
        &[signed_in],
    ]
    .concat();
    for (i, (password, status)) in steps.into_iter().enumerate() {
        let res = sign_in_from(&app, "203.0.113.20", password).await;
        assert_eq!(res.status, status, "step {i}: {}", res.body);
    }
}

#[tokio::test]
async fn guesses_spread_over_many_clients_hold_the_account_but_not_where_it_signed_in_from() {
    let app = app_with_user_behind_a_proxy().await;
    let office = "203.0.113.20";
    assert_eq!(
        sign_in_from(&app, office, PASSWORD).await.status,
        StatusCode::CREATED
    );
    // 20 guesses from five addresses, each under its own limit of 5.
    for guesser in 1..=5 {
        for _ in 0..4 {
            let res = sign_in_from(&app, &format!("198.51.100.{guesser}"), WRONG).await;
            assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        }
    }
    // A sixth address, even with the right password, waits: the account has had enough.
    let res = sign_in_from(&app, "198.51.100.6", PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.body);
    assert!(
        (1..=61).contains(&res.retry_after()),
        "{}",
        res.retry_after()
    );
    // The office the operator signed in from before still gets in.
    let res = sign_in_from(&app, office, PASSWORD).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    // Another account is not affected.
    create_user(
        &app.db,
        "second@example.org",
        PASSWORD,
        Role::Caseworker,
        None,
    );
    assert_eq!(
        app.sign_in("second@example.org", PASSWORD).await.status,
        StatusCode::CREATED
    );
}

/// A mistyped password in the console keeps the email typed (never the password) and puts
/// the cursor in the password box; the first visit puts it in the email box.
#[tokio::test]
async fn a_refused_console_sign_in_keeps_the_email_and_not_the_password() {
    let app = crate::helpers::spawn_app().await;
    crate::helpers::create_user(
        &app.db,
        "op@example.org",
        "the right passphrase",
        haven::auth::Role::Hotline,
        None,
    );
    let page = app
        .client
        .get(app.url("/console"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"name="email" autocomplete="username" required value="" autofocus"#),
        "{page}"
    );
    // Staff are signed in with a cookie: the console does not say "this site saves nothing",
    // and its brand leads back to it.
    assert!(page.contains("sign out when you leave"), "{page}");
    assert!(!page.contains("saves nothing"), "{page}");
    assert!(page.contains(r#"class="brand" href="/console""#), "{page}");
    let res = app
        .client
        .post(app.url("/console/sign-in"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("email=op%40example.org&password=a+wrong+passphrase")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);
    let page = res.text().await.unwrap();
    assert!(page.contains("Email or password is wrong."), "{page}");
    assert!(page.contains(r#"value="op@example.org""#), "{page}");
    assert!(
        page.contains(r#"name="password" autocomplete="current-password" required autofocus"#),
        "{page}"
    );
    assert!(!page.contains("wrong passphrase"), "{page}");
}

/// A sign-in opens its session only if the password it checked is still the account's and
/// the account is still enabled: one that checked the old password while a maintainer set a
/// new one (`haven user password`, which ends the sessions there are) cannot open a session
/// after the reset and keep it.
#[test]
fn a_session_opens_only_with_the_password_the_sign_in_checked() {
    use haven::db::accounts;
    let db = TestDb::new();
    let user = create_user(&db, EMAIL, PASSWORD, Role::Hotline, None);
    let mut conn = db.connect();
    let stored = |conn: &mut PgConnection| -> String {
        app_user::table
            .find(user)
            .select(app_user::password_hash)
            .first(conn)
            .unwrap()
    };
    let checked = stored(&mut conn);
    let open = |conn: &mut PgConnection, hash: &str| {
        accounts::insert_session(conn, uuid::Uuid::new_v4(), &[7; 32], user, hash)
            .unwrap()
            .is_some()
    };
    // The reset lands between the check and the session.
    assert!(accounts::set_password(&mut conn, EMAIL, "$argon2id$another", false).unwrap());
    assert!(
        !open(&mut conn, &checked),
        "opened with the password reset away"
    );
    assert_eq!(
        user_session::table
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap(),
        0
    );
    let current = stored(&mut conn);
    assert!(open(&mut conn, &current));
    diesel::Connection::transaction(&mut conn, |conn| accounts::disable_user(conn, EMAIL)).unwrap();
    assert!(!open(&mut conn, &current), "opened for a disabled account");
}

/// An operator whose session ended during a long call (30 minutes idle) and who sends a search
/// is told the session ended, not just "Please sign in", and the search is carried through
/// the sign-in form (never the address) and runs once signed in again.
#[tokio::test]
async fn a_search_sent_as_the_session_ended_runs_after_signing_in_again() {
    let app = app_with_user().await;
    let res = app.sign_in(EMAIL, PASSWORD).await;
    let token = res.body["token"].as_str().unwrap().to_string();
    diesel::update(user_session::table)
        .set(user_session::last_seen_at.eq(diesel::dsl::sql("now() - interval '31 minutes'")))
        .execute(&mut app.db.connect())
        .unwrap();
    let post = |path: &str, body: String, cookie: Option<&str>| {
        let mut req = app
            .client
            .post(app.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Sec-Fetch-Site", "same-origin")
            .body(body);
        if let Some(token) = cookie {
            req = req.header("Cookie", format!("haven_session={token}"));
        }
        req.send()
    };
    let search = "zip=77006&need=shelter&need=legal_aid&age=34&form_key=x";
    let res = post("/console/search", search.into(), Some(&token))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let page = res.text().await.unwrap();
    assert!(page.contains("Your session has ended"), "{page}");
    for carried in [
        r#"name="search.zip" value="77006""#,
        r#"name="search.need" value="shelter""#,
        r#"name="search.need" value="legal_aid""#,
        r#"name="search.age" value="34""#,
    ] {
        assert!(page.contains(carried), "{carried}: {page}");
    }
    assert!(!page.contains("form_key"), "only a search's fields: {page}");

    let email = EMAIL.replace('@', "%40");
    let password = PASSWORD.replace(' ', "+");
    let sign_in = format!(
        "email={email}&password={password}&search.zip=77006&search.need=shelter&search.need=legal_aid&search.age=34"
    );
    let res = post("/console/sign-in", sign_in, None).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("haven_session=hvs_"), "{cookie}");
    let page = res.text().await.unwrap();
    assert!(
        page.contains("Searched near <strong>ZIP code 77006</strong>"),
        "{page}"
    );
    assert!(
        page.contains(r#"name="need" value="legal_aid" checked"#),
        "{page}"
    );

    // Without a session at all (signed out in another tab): asked to sign in, search kept.
    let res = post("/console/search", search.into(), None).await.unwrap();
    let page = res.text().await.unwrap();
    assert!(page.contains("Please sign in."), "{page}");
    assert!(!page.contains("Your session has ended"), "{page}");
    assert!(
        page.contains(r#"name="search.zip" value="77006""#),
        "{page}"
    );
    // A sign-in carrying something a search does not take is refused.
    let res = post(
        "/console/sign-in",
        format!("email={email}&password={password}&search.password=x"),
        None,
    )
    .await
    .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    // A form posted from another site carries no cookie (SameSite=Strict): refused as it
    // would be with one, and nothing of it is shown back.
    let res = app
        .client
        .post(app.url("/console/search"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Sec-Fetch-Site", "cross-site")
        .body(search)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(!res.text().await.unwrap().contains("search.zip"));
    // Signing out of a session that already ended: signed out, the cookie forgotten.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/console/sign-out"))
        .header("Cookie", format!("haven_session={token}"))
        .header("Sec-Fetch-Site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("haven_session=;"), "{cookie}");
}
