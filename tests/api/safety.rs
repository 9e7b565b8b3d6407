//! Zero-trace lookup (SAFETY.md rules 5-9 and 14): headers on every answer, no cookies for
//! anonymous callers, the rate limit, and a scripted session run against the real binary at its
//! most verbose logging that must leave none of what people sent in the log.

use std::net::IpAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use haven::auth::{Role, Token};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{
    TestDb, TestResponse, create_token, create_user, into_response, spawn_app, spawn_app_with,
};

fn assert_safety_headers(what: &str, res: &TestResponse) {
    let header = |name: &str| {
        res.headers
            .get(name)
            .unwrap_or_else(|| panic!("{what}: no {name} header"))
            .to_str()
            .unwrap()
    };
    assert_eq!(header("cache-control"), "no-store", "{what}");
    assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    let csp = header("content-security-policy");
    assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        !csp.contains("http"),
        "{what}: the policy names no other host: {csp}"
    );
}

#[tokio::test]
async fn every_answer_carries_the_safety_headers_and_anonymous_ones_set_no_cookie() {
    let app = spawn_app().await;
    let token = app.admin_token.clone();
    let cases = [
        (
            Method::POST,
            "/api/v1/match",
            None,
            Some(json!({"location": {"postal_code": "94110"}, "needs": ["shelter"]})),
        ),
        (
            Method::POST,
            "/api/v1/match",
            None,
            Some(json!({"location": {"postal_code": "00000"}, "needs": ["shelter"]})),
        ),
        (Method::GET, "/api/v1/match", None, None),
        (Method::GET, "/api/v1/needs", None, None),
        (Method::GET, "/nowhere", None, None),
        (Method::GET, "/api/v1/services", None, None),
        (Method::GET, "/api/v1/services", Some(token.as_str()), None),
        (Method::GET, "/readyz", None, None),
    ];
    for (method, path, credential, body) in cases {
        let res = app
            .send(method.clone(), path, credential, body.as_ref())
            .await;
        let what = format!("{method} {path} -> {}", res.status);
        assert_safety_headers(&what, &res);
        assert!(res.headers.get("set-cookie").is_none(), "{what}");
    }
    // Searches are POST only: a location cannot travel in a URL.
    let res = app
        .send(
            Method::GET,
            "/api/v1/match?postal_code=94110&needs=shelter",
            None,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn anonymous_clients_over_the_limit_get_429_with_retry_after() {
    let app = spawn_app_with(TestDb::new(), |s| s.rate_limit_per_minute = 5).await;
    let body = json!({"location": {"postal_code": "94110"}, "needs": ["shelter"]});
    for i in 0..5 {
        let res = app.find(&body).await;
        assert_eq!(res.status, StatusCode::OK, "request {i}");
    }
    let res = app.find(&body).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.code(), "too_many_requests");
    let retry = res.retry_after();
    assert!(
        (1..=13).contains(&retry),
        "one request comes back every 12 s: {retry}"
    );
    assert_safety_headers("429", &res);
    // A page's own stylesheet, script and icon still come, so a page shown near the limit
    // keeps its look and its Esc key; they are not counted.
    for path in ["/assets/haven.css", "/assets/haven.js", "/favicon.ico"] {
        let res = app.send(Method::GET, path, None, None).await;
        assert!(res.status.is_success(), "{path}: {}", res.status);
        assert_safety_headers(path, &res);
    }
    assert_eq!(app.find(&body).await.status, StatusCode::TOO_MANY_REQUESTS);
    // Signed-in staff are not limited by anonymous searches.
    let res = app
        .send(
            Method::POST,
            "/api/v1/match",
            Some(&app.admin_token.clone()),
            Some(&body),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    // Guessing tokens draws on the same allowance.
    let res = app
        .send(Method::GET, "/api/v1/services", Some("hvn_guess"), None)
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
}

/// With Postgres away, credentials cannot be checked, and public routes serve the caller as
/// anonymous: within the anonymous allowance, whatever token it sends.
#[tokio::test]
async fn unverifiable_credentials_do_not_lift_the_limit_while_postgres_is_away() {
    let app = spawn_app_with(TestDb::new(), |s| s.rate_limit_per_minute = 3).await;
    app.wait_for_index().await;
    app.db.drop_now();
    let body = json!({"location": {"postal_code": "94110"}, "needs": ["shelter"]});
    let not_checked = Token::generate().unwrap();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let res = app
            .send(
                Method::POST,
                "/api/v1/match",
                Some(not_checked.expose()),
                Some(&body),
            )
            .await;
        statuses.push(res.status.as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
}

/// Guessed credentials draw on the anonymous allowance. Postgres is not asked about a secret
/// that cannot be one Haven made, nor about any credential from a client whose guesses used up
/// its allowance, until its `Retry-After`: with the database gone, those answer 401 and 429
/// at once instead of 503, so guessing cannot keep Postgres busy.
#[tokio::test]
async fn guessed_credentials_stop_reaching_postgres_once_the_allowance_is_spent() {
    let app = spawn_app_with(TestDb::new(), |s| s.rate_limit_per_minute = 3).await;
    let admin = app.admin_token.clone();
    app.db.drop_now();
    let app = &app;
    let list = |token: String| async move {
        let res = app
            .send(Method::GET, "/api/v1/services", Some(&token), None)
            .await;
        res.status.as_u16()
    };
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(list("hvn_guess".to_string()).await);
    }
    statuses.push(list(Token::generate().unwrap().expose().to_string()).await);
    // Staff behind the same address wait out the guesser's Retry-After too.
    statuses.push(list(admin).await);
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429]);
}

/// During an outage a signed-in caller's matches are served as an anonymous caller's. Once a
/// request has found Postgres unreachable, the next ones do not each wait out a pool
/// check-out (3 s) to find that again.
#[tokio::test]
async fn signed_in_matching_during_an_outage_does_not_wait_on_the_pool_each_time() {
    let app = spawn_app().await;
    let token = create_token(&app.db, Role::Hotline, None);
    app.db.drop_now();
    let body = json!({"location": {"postal_code": "94110"}, "needs": ["shelter"]});
    let find = || app.send(Method::POST, "/api/v1/match", Some(&token), Some(&body));
    assert_eq!(find().await.status, StatusCode::OK);
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(find().await.status, StatusCode::OK);
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "three matches took {took:?}");
}

/// A survivor search that is not a form, or far too large (never what the page itself sends),
/// gets the search page back in its language, saying so, with the status and the safety
/// headers: never a JSON error, and nothing of what was sent.
#[tokio::test]
async fn the_survivor_page_answers_an_unreadable_search_with_a_page() {
    let app = spawn_app().await;
    let padded = format!("zip=60617&need=shelter&pad={}", "x".repeat(64 * 1024));
    for (path, content_type, body, status, says) in [
        (
            "/",
            "text/plain",
            "zip=60617".to_string(),
            415,
            "could not be read",
        ),
        (
            "/es/",
            "application/x-www-form-urlencoded",
            padded,
            413,
            "No pudimos leer",
        ),
    ] {
        let res = app
            .client
            .post(app.url(path))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status, "{path}");
        let headers = res.headers().clone();
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert!(headers.contains_key("content-security-policy"), "{path}");
        let html = res.text().await.unwrap();
        assert!(
            html.contains(says) && html.contains("911"),
            "{path}: {html}"
        );
        assert!(
            !html.contains("60617"),
            "{path} shows the search back: {html}"
        );
    }
}

/// The survivor page over the limit (everyone behind a shelter's one address shares it) is a
/// page in the person's language saying to wait, with the safety headers, never a JSON error.
#[tokio::test]
async fn the_survivor_page_over_the_limit_says_to_wait_in_its_language() {
    let app = spawn_app_with(TestDb::new(), |s| s.rate_limit_per_minute = 2).await;
    let search = || {
        app.client
            .post(app.url("/es/"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("zip=94110&need=shelter")
            .send()
    };
    for _ in 0..2 {
        assert_eq!(search().await.unwrap().status(), StatusCode::OK);
    }
    let res = into_response(search().await.unwrap()).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        res.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let retry = res.retry_after();
    assert!(
        (1..=31).contains(&retry),
        "one search comes back every 30 s: {retry}"
    );
    assert_safety_headers("throttled page", &res);
    let html = res.body.as_str().unwrap();
    assert!(
        html.contains("Espere un momento") && html.contains("911"),
        "{html}"
    );
    assert!(html.contains(r#"lang="es""#), "{html}");
    // The API keeps its JSON envelope.
    let res = app
        .find(&json!({"location": {"postal_code": "94110"}, "needs": ["shelter"]}))
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.code(), "too_many_requests");
}

/// Whether `needle` appears in `text` as a value of its own (not inside a longer number).
fn appears(text: &str, needle: &str) -> bool {
    let numeric = |c: char| c.is_ascii_digit() || c == '.';
    text.match_indices(needle).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + needle.len()..].chars().next();
        !(needle.chars().all(numeric)
            && (before.is_some_and(numeric) || after.is_some_and(numeric)))
    })
}

/// Reads the server's log until it says which port it listens on.
fn wait_for_port(log: &std::path::Path) -> u16 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(port) = text
            .lines()
            .filter(|l| l.contains("haven is listening"))
            .find_map(|l| l.split("port=").nth(1))
            .and_then(|p| p.split_whitespace().next())
            .and_then(|p| p.parse().ok())
        {
            return port;
        }
        assert!(Instant::now() < deadline, "server did not start:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn a_scripted_session_at_trace_level_logs_none_of_what_people_sent() {
    const EMAIL: &str = "planted.caseworker@example.org";
    const PASSWORD: &str = "planted-passphrase-7731";
    const WRONG_PASSWORD: &str = "planted-wrong-pass-5517";
    const STREET: &str = "88 Plantedstreet Road";
    const SITE_POSTAL: &str = "04471-7731";
    const REASON: &str = "planted reason: caller Jane Roe";
    const CLIENT_IP: &str = "127.0.0.77";
    const BAD_TOKEN: &str = "hvn_planted-not-a-token-0000";

    let db = TestDb::new();
    let dir = std::env::temp_dir().join(format!("haven-leak-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let log_path = dir.join("haven.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_haven"))
        .args(["serve", "--bind", "127.0.0.1:0", "--workers", "1"])
        .env("DATABASE_URL", db.url.expose())
        .env("HAVEN_DATA_KEY", haven::crypto::DataKey::generate_base64())
        .env("HAVEN_LOG", "trace")
        .env("HAVEN_REVEAL_ROLES", "caseworker")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let port = wait_for_port(&log_path);
    let base = format!("http://127.0.0.1:{port}");
    // Listening comes before the index is loaded: wait until the instance says it is ready.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !reqwest::get(format!("{base}/readyz"))
        .await
        .is_ok_and(|r| r.status() == StatusCode::OK)
    {
        assert!(Instant::now() < deadline, "server never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let admin = create_token(&db, Role::Admin, None);
    create_user(&db, EMAIL, PASSWORD, Role::Caseworker, None);
    let client = crate::helpers::client()
        .local_address(CLIENT_IP.parse::<IpAddr>().unwrap())
        .build()
        .unwrap();
    let send = |method: Method, path: &str, token: Option<&str>, body: Option<String>| {
        let mut req = client.request(method, format!("{base}{path}"));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.header("Content-Type", "application/json").body(body);
        }
        async move { into_response(req.send().await.unwrap()).await }
    };

    // A provider's confidential site, written by an admin.
    let res = send(
        Method::POST,
        "/api/v1/organizations",
        Some(&admin),
        Some(json!({"name": "Org"}).to_string()),
    )
    .await;
    let org = res.body["id"].as_str().unwrap().to_string();
    let res = send(
        Method::POST,
        "/api/v1/services",
        Some(&admin),
        Some(
            json!({"organization_id": org, "name": "Shelter", "needs": ["shelter"],
                "location": {"lat": 40.713377, "lon": -74.006612, "confidential": true,
                    "address": {"street": STREET, "postal_code": SITE_POSTAL, "city": "New York"}},
                "phones": [{"number": "212-555-0143", "type": "voice"}],
                "coverage": [{"type": "radius", "center": {"lat": 40.76, "lon": -73.95}, "radius_km": 30}]})
            .to_string(),
        ),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let service = res.body["id"].as_str().unwrap().to_string();

    // A caseworker signs in (once with a wrong password), searches, reveals, signs out.
    let sign_in = |password: &str| json!({"email": EMAIL, "password": password}).to_string();
    let res = send(
        Method::POST,
        "/api/v1/session",
        None,
        Some(sign_in(WRONG_PASSWORD)),
    )
    .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = send(
        Method::POST,
        "/api/v1/session",
        None,
        Some(sign_in(PASSWORD)),
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let session = res.body["token"].as_str().unwrap().to_string();
    let res = send(
        Method::POST,
        "/api/v1/match",
        Some(&session),
        Some(json!({"location": {"lat": 40.724411, "lon": -73.991822}, "needs": ["shelter"], "age": 17}).to_string()),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = send(
        Method::POST,
        &format!("/api/v1/services/{service}/reveal"),
        Some(&session),
        Some(json!({"reason": REASON}).to_string()),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);

    // Anonymous searches: by ZIP, by coordinates, malformed, and with an unknown ZIP.
    let mut refusals = Vec::new();
    for body in [
        json!({"location": {"postal_code": "11238"}, "needs": ["legal_aid", "immigration_legal"]}).to_string(),
        json!({"location": {"lat": 40.681299, "lon": -73.962788}, "needs": ["counseling"]}).to_string(),
        r#"{"location": {"lat": 40.699911, "lon": "#.to_string(),
        json!({"location": {"postal_code": "99999"}, "needs": ["shelter"]}).to_string(),
        json!({"location": {"lat": 40.655511, "lon": -73.944422}, "needs": ["substance_use"], "planted_field": STREET}).to_string(),
        // geo writes the points it relates at DEBUG: here, the county searched by.
        json!({"location": {"region": "US-06075"}, "needs": ["shelter"]}).to_string(),
    ] {
        let res = send(Method::POST, "/api/v1/match", None, Some(body)).await;
        assert!(res.status.is_success() || res.status.is_client_error());
        if let Some(id) = res.body["error"]["correlation_id"].as_str() {
            refusals.push(id.to_string());
        }
    }
    let res = send(Method::GET, "/api/v1/services", Some(BAD_TOKEN), None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    // A path that is not an id: actix's own extractor would log the whole path at DEBUG.
    let res = send(
        Method::GET,
        "/api/v1/services/plantedpathvalue7731",
        Some(&admin),
        None,
    )
    .await;
    assert!(res.status.is_client_error(), "{}", res.status);
    // Requests too malformed to reach Haven: actix answers them itself, and neither logs them
    // (a flood of them would fill the log) nor echoes what they held.
    for raw in [
        format!("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: {SITE_POSTAL}\r\n\r\n"),
        format!("GET /?{SITE_POSTAL} HTTP/9.9\r\n\r\n"),
    ] {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.write_all(raw.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    }
    let res = send(Method::DELETE, "/api/v1/session", Some(&session), None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);

    server.kill().unwrap();
    server.wait().unwrap();
    let text = std::fs::read_to_string(&log_path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    // The log did record the session, at the most verbose level...
    assert!(text.contains("route=/api/v1/match"), "{text}");
    assert!(text.contains("confidential location revealed"), "{text}");
    assert!(text.contains("TRACE") || text.contains("DEBUG"), "{text}");
    // A refused search can be found by the correlation id its answer gave the caller.
    assert_eq!(refusals.len(), 3, "{refusals:?}");
    for id in &refusals {
        assert!(
            text.contains(&format!("correlation_id={id}")),
            "{id}: {text}"
        );
    }
    // ...and none of what people sent.
    let planted = [
        EMAIL,
        "planted.caseworker",
        PASSWORD,
        WRONG_PASSWORD,
        &session,
        &session[4..],
        &admin,
        &admin[4..],
        BAD_TOKEN,
        STREET,
        "Plantedstreet",
        SITE_POSTAL,
        REASON,
        "Jane Roe",
        CLIENT_IP,
        "40.713377",
        "74.006612",
        "40.724411",
        "73.991822",
        "40.681299",
        "73.962788",
        "40.699911",
        "40.655511",
        "73.944422",
        "11238",
        "99999",
        "planted_field",
        "plantedpathvalue7731",
        "legal_aid",
        "immigration_legal",
        "substance_use",
        "counseling",
    ];
    let leaked: Vec<&str> = planted.into_iter().filter(|p| appears(&text, p)).collect();
    assert!(leaked.is_empty(), "leaked {leaked:?} in:\n{text}");
    // Other crates write what they were handed below INFO (geo the county's outline, which
    // says where the search was): only Haven's own lines go that far.
    let verbose_elsewhere: Vec<&str> = text
        .lines()
        .filter(|line| {
            let mut words = line.split_whitespace().skip(1);
            matches!(words.next(), Some("DEBUG" | "TRACE"))
                && !words
                    .next()
                    .is_some_and(|target| target.starts_with("haven"))
        })
        .take(5)
        .collect();
    assert!(verbose_elsewhere.is_empty(), "{verbose_elsewhere:#?}");
    assert!(!text.contains("parse error"), "{text}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance() {
    let body = json!({"location": {"postal_code": "94110"}, "needs": ["shelter"]});
    let find_as = |app: &crate::helpers::TestApp, client: &str| {
        let req = app
            .client
            .post(app.url("/api/v1/match"))
            .header("X-Forwarded-For", client)
            .json(&body);
        async move { req.send().await.unwrap().status() }
    };
    // The tests connect from 127.0.0.1: trusted here, it stands for the load balancer.
    let app = spawn_app_with(TestDb::new(), |s| {
        s.rate_limit_per_minute = 2;
        s.trusted_proxies = haven::client_ip::TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    for client in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(find_as(&app, client).await, StatusCode::OK);
        assert_eq!(find_as(&app, client).await, StatusCode::OK);
        assert_eq!(find_as(&app, client).await, StatusCode::TOO_MANY_REQUESTS);
    }
    // Without trust, the header is ignored: a client cannot mint new allowances with it.
    let app = spawn_app_with(TestDb::new(), |s| s.rate_limit_per_minute = 2).await;
    assert_eq!(find_as(&app, "198.51.100.1").await, StatusCode::OK);
    assert_eq!(find_as(&app, "198.51.100.2").await, StatusCode::OK);
    assert_eq!(
        find_as(&app, "198.51.100.3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Without JavaScript each search is a page, and Back then Reload sends it again: a search
/// sent a second time with the same form key gets an empty form, not its results. Each form
/// shown carries a new key, the results page's own included.
#[tokio::test]
async fn a_survivor_search_sent_again_shows_an_empty_form_not_its_results() {
    let app = spawn_app().await;
    let key_in = |page: &str| -> String {
        let field = r#"name="search_key" value=""#;
        let at = page.find(field).expect("a search key") + field.len();
        page[at..at + 32].to_string()
    };
    let get = || async {
        app.client
            .get(app.url("/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let (first, second) = (key_in(&get().await), key_in(&get().await));
    assert_ne!(first, second, "each form has its own key");
    let app = &app;
    let search = |key: String| async move {
        let res = app
            .client
            .post(app.url("/"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("search_key={key}&zip=94110&need=shelter"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.text().await.unwrap()
    };
    let answered = search(first.clone()).await;
    assert!(answered.contains("results-heading"), "{answered}");
    assert!(
        answered.contains(r#"value="94110""#),
        "the results' form keeps the search"
    );
    let next = key_in(&answered);
    assert_ne!(next, first, "the results page's form has a new key");
    let again = search(first).await;
    assert!(!again.contains("results-heading"), "{again}");
    assert!(again.contains("a search is shown only once"), "{again}");
    assert!(
        !again.contains(r#"value="94110""#),
        "the form comes back empty"
    );
    // The results page's own form searches once more.
    assert!(search(next).await.contains("results-heading"));
}

/// Signing out while Postgres is away: the session cannot be ended where it is kept (503,
/// it ends by itself when idle), but the browser is told to forget its cookie, which is what
/// matters on a shared computer. The console's page and the API alike.
#[tokio::test]
async fn signing_out_while_the_database_is_away_still_clears_the_cookie() {
    let app = spawn_app().await;
    let user = create_user(
        &app.db,
        "desk@example.org",
        "desk passphrase long",
        Role::Hotline,
        None,
    );
    let session = crate::helpers::create_session(&app.db, user);
    app.db.drop_now();
    for (method, path) in [
        (Method::POST, "/console/sign-out"),
        (Method::DELETE, "/api/v1/session"),
    ] {
        // Twice: once as Postgres is found away, once while it is known to be.
        for _ in 0..2 {
            let res = app
                .client
                .request(method.clone(), app.url(path))
                .header("Cookie", format!("haven_session={session}"))
                .header("Sec-Fetch-Site", "same-origin")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
            let cookie = res
                .headers()
                .get("set-cookie")
                .unwrap_or_else(|| panic!("{path}: no Set-Cookie"))
                .to_str()
                .unwrap()
                .to_string();
            if path.starts_with("/console") {
                let page = res.text().await.unwrap();
                assert!(page.contains("Signed out of this browser"), "{page}");
            }
            assert!(
                cookie.starts_with("haven_session=;") && cookie.contains("Max-Age=0"),
                "{path}: {cookie}"
            );
        }
    }
    // Other refusals while it is away leave the cookie alone.
    let res = app
        .client
        .get(app.url("/api/v1/session"))
        .header("Cookie", format!("haven_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get("set-cookie").is_none());
}

/// With Postgres away the console cannot check a session: staff get a page saying so (503,
/// `Retry-After`), pointing to the public lookup, not the sign-in form as if signed out, nor
/// the API's JSON; the public lookup still answers.
#[tokio::test]
async fn the_console_says_the_database_is_away_instead_of_asking_to_sign_in() {
    let app = spawn_app().await;
    let token = create_token(&app.db, Role::Hotline, None);
    app.wait_for_index().await;
    app.db.drop_now();
    for _ in 0..2 {
        for (path, form) in [
            ("/console", None),
            (
                "/console/search",
                Some("zip=94110&need=shelter".to_string()),
            ),
        ] {
            let (status, page) = app.console(&token, path, form).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}: {page}");
            assert!(page.contains("cannot be reached"), "{path}: {page}");
            assert!(
                page.contains(r#"<a href="/">public lookup</a>"#),
                "{path}: {page}"
            );
            assert!(!page.contains("Sign in"), "{path}: {page}");
        }
    }
    let res = app
        .client
        .post(app.url("/"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("zip=94110&need=shelter")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
