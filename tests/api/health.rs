use diesel::connection::SimpleConnection;
use haven::auth::Role;
use haven::startup::Application;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{
    Serving, TestDb, client, create_token, into_response, names, open_sockets_on, service_body,
    sockets_on, spawn_app, test_settings,
};
use crate::relay::Relay;

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

/// Until the index has loaded, `/readyz` and `POST /api/v1/match` answer 503 with Retry-After
/// (a balancer keeps traffic away, a client tries again); then both answer.
#[tokio::test]
async fn readyz_and_match_are_503_until_the_index_has_loaded() {
    let db = TestDb::new();
    // The index's first load reads the service table: a lock held here keeps it waiting.
    let mut lock = db.connect();
    lock.batch_execute("BEGIN; LOCK TABLE service IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let settings = test_settings(&db);
    let app = Application::build(&settings, haven::db::pool(&db.url, 2).unwrap()).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let serving = Serving::start(app);
    let client = client().build().unwrap();
    let query = json!({"location": {"postal_code": "94110"}, "needs": ["shelter"]});
    let find = || {
        client
            .post(format!("{base}/api/v1/match"))
            .json(&query)
            .send()
    };
    let ready = || client.get(format!("{base}/readyz")).send();

    let search_page = |path: &str, token: Option<&str>| {
        let mut req = client
            .post(format!("{base}{path}"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("zip=94110&need=shelter");
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send()
    };
    let operator = create_token(&db, Role::Hotline, None);

    for res in [ready().await.unwrap(), find().await.unwrap()] {
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(res.headers().contains_key("retry-after"));
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "service_unavailable", "{body}");
        // The database is fine: the message says what is really going on.
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("still loading"), "{body}");
    }
    // A person searching from a page gets the page back, saying why, not a JSON error.
    for (path, token, says) in [
        ("/", None, "starting up"),
        ("/console/search", Some(operator.as_str()), "still loading"),
    ] {
        let res = search_page(path, token).await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(res.headers().contains_key("retry-after"), "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains(says), "{path}: {html}");
        assert!(
            html.contains(r#"value="94110""#),
            "{path} keeps what was typed: {html}"
        );
    }
    // The survivor page names the emergency number.
    let html = search_page("/", None).await.unwrap().text().await.unwrap();
    assert!(html.contains("911"), "{html}");

    lock.batch_execute("COMMIT").unwrap();
    let mut loaded = false;
    for _ in 0..400 {
        if ready().await.unwrap().status() == StatusCode::OK {
            loaded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(loaded, "the index never loaded once the lock was gone");
    let res = find().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        search_page("/", None).await.unwrap().status(),
        StatusCode::OK
    );
    let res = search_page("/console/search", Some(&operator))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    drop(serving);
}

/// A write or read stuck behind a lock answers 503 with Retry-After within seconds, never
/// hangs, and writes nothing (SAFETY.md rule 19); once the lock is gone, it goes through.
#[tokio::test]
async fn requests_stuck_behind_a_lock_answer_503_in_seconds_and_write_nothing() {
    let app = spawn_app().await;
    let org = app.create_organization("Locked Out").await;
    let mut lock = app.db.connect();
    lock.batch_execute("BEGIN; LOCK TABLE service IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let write = || {
        app.client
            .post(app.url("/api/v1/services"))
            .bearer_auth(&app.admin_token)
            .json(&service_body(org))
            .timeout(std::time::Duration::from_secs(30))
            .send()
    };
    let read = || {
        app.client
            .get(app.url("/api/v1/services"))
            .bearer_auth(&app.admin_token)
            .timeout(std::time::Duration::from_secs(30))
            .send()
    };
    for what in ["write", "read"] {
        let started = std::time::Instant::now();
        let res = if what == "write" {
            write().await
        } else {
            read().await
        };
        let took = started.elapsed();
        let res = into_response(res.unwrap_or_else(|e| panic!("{what} hung: {e}"))).await;
        assert_eq!(
            res.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{what}: {}",
            res.body
        );
        assert_eq!(res.code(), "service_unavailable", "{what}");
        assert!(res.headers.contains_key("retry-after"), "{what}");
        assert!(
            took < std::time::Duration::from_secs(10),
            "{what} took {took:?}"
        );
    }
    lock.batch_execute("COMMIT").unwrap();
    assert_eq!(app.db.count("service"), 0);
    let res = into_response(write().await.unwrap()).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
}

/// Every connection the instance keeps to Postgres (the pool's, the index follower's) sends its
/// first keepalive probe after 30 s idle, so that a network that dies while a connection is idle
/// is noticed within a minute, not after libpq's default of the kernel's two hours (the
/// follower then reconnects and catches up).
#[tokio::test]
async fn connections_to_postgres_keep_watch_on_the_network() {
    let app = spawn_app().await;
    assert_eq!(
        app.send(Method::GET, "/readyz", None, None).await.status,
        StatusCode::OK
    );
    // A socket caught in the microseconds between sending and its ACK shows its
    // retransmission timer instead: look again.
    let mut sockets = Vec::new();
    for _ in 0..20 {
        sockets = sockets_on(&app.db.client_ports());
        if sockets.iter().all(|(_, timer)| timer.kind == 2) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        sockets.len() >= 2,
        "the follower and the pool hold connections: {sockets:?}"
    );
    assert!(
        sockets
            .iter()
            .all(|(_, timer)| timer.kind == 2 && timer.fires_in_centis <= 30 * 100),
        "every idle connection probes within 30 s: {sockets:?}"
    );
}

/// An instance whose database connections pass through a [`Relay`], ready to serve, with an
/// admin token.
struct RelayedApp {
    // Dropped first: the relay closes its connections before the instance stops, so no
    // thread is left waiting on one.
    relay: Relay,
    _serving: Serving,
    base: String,
    token: String,
    client: reqwest::Client,
    db: TestDb,
}

impl RelayedApp {
    async fn start() -> RelayedApp {
        let db = TestDb::new();
        let relay = Relay::start(db.url.host_and_port()).await;
        let mut relayed = url::Url::parse(db.url.expose()).unwrap();
        relayed.set_port(Some(relay.port)).unwrap();
        let relayed = haven::config::DatabaseUrl::parse(relayed.as_str()).unwrap();
        let mut settings = test_settings(&db);
        settings.database_url = relayed.clone();
        let app = Application::build(&settings, haven::db::pool(&relayed, 2).unwrap()).unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let serving = Serving::start(app);
        let token = create_token(&db, Role::Admin, None);
        let client = client()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap();
        let relayed = RelayedApp {
            relay,
            _serving: serving,
            base,
            token,
            client,
            db,
        };
        for _ in 0..400 {
            let up = relayed
                .client
                .get(relayed.url("/readyz"))
                .send()
                .await
                .unwrap();
            if up.status() == StatusCode::OK {
                return relayed;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the instance never became ready");
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET /api/v1/services` as the admin: a route that cannot do without Postgres.
    async fn list(&self) -> crate::helpers::TestResponse {
        let res = self
            .client
            .get(self.url("/api/v1/services"))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("the read hung");
        into_response(res).await
    }

    /// An anonymous match.
    async fn find(&self) -> crate::helpers::TestResponse {
        let res = self
            .client
            .post(self.url("/api/v1/match"))
            .json(&json!({"location": {"postal_code": "94110"}, "needs": ["shelter"]}))
            .send()
            .await
            .expect("matching hung");
        into_response(res).await
    }

    /// A match as the admin, by coordinates: the answer's `precision_km`, 0 when the
    /// credentials were checked (exact coordinates), the coarse grid's when they could not be.
    async fn find_signed_in(&self) -> f64 {
        let res = self
            .client
            .post(self.url("/api/v1/match"))
            .bearer_auth(&self.token)
            .json(&json!({"location": {"lat": 37.7601, "lon": -122.4202}, "needs": ["shelter"]}))
            .send()
            .await
            .expect("matching hung");
        let res = into_response(res).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        res.body["location"]["precision_km"].as_f64().unwrap()
    }
}

/// A network that goes silent (no reset, no refusal: packets just stop) leaves a query, or the
/// pool's check-out test, waiting on a socket that Postgres never answers, and Postgres cannot
/// cancel what it never received. Requests still answer 503 within seconds, matching keeps
/// answering from memory, and everything works again once the network does (rule 19).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_network_to_postgres_answers_503_in_seconds_and_recovers() {
    let app = RelayedApp::start().await;
    assert_eq!(app.list().await.status, StatusCode::OK);

    app.relay.go_silent();
    // A signed-in match waits at most 2 s for its credentials to be checked, then is served
    // as to an anonymous caller (on the coarse grid).
    let started = std::time::Instant::now();
    assert!(
        app.find_signed_in().await > 0.0,
        "unchecked: the coarse grid"
    );
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(4), "took {took:?}");
    let timed = |started: std::time::Instant| {
        move |res: crate::helpers::TestResponse| (res, started.elapsed())
    };
    let started = std::time::Instant::now();
    let ((listed, listed_in), (matched, matched_in)) =
        tokio::join!(async { timed(started)(app.list().await) }, async {
            timed(started)(app.find().await)
        });
    assert_eq!(
        listed.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        listed.body
    );
    assert_eq!(listed.code(), "service_unavailable");
    assert!(listed.headers.contains_key("retry-after"));
    assert!(
        listed_in < std::time::Duration::from_secs(15),
        "took {listed_in:?}"
    );
    assert_eq!(matched.status, StatusCode::OK, "{}", matched.body);
    assert!(
        matched_in < std::time::Duration::from_secs(3),
        "matching waited on the database: {matched_in:?}"
    );

    // Once Postgres has been found away no signed-in match waits on it again, even after the
    // outage's memory lapses: a probe in the background looks instead.
    signed_in_matching_does_not_wait_while_postgres_is_away(&app).await;

    app.relay.speak_again();
    let mut recovered = false;
    for _ in 0..100 {
        if app.list().await.status == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "requests never succeeded again");
}

/// While Postgres is known to be away: what cannot do without it is refused at once while the
/// failure is fresh, and signed-in matching never waits, also once the failure's memory
/// (5 s) has lapsed.
async fn signed_in_matching_does_not_wait_while_postgres_is_away(app: &RelayedApp) {
    let started = std::time::Instant::now();
    let refused = app.list().await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers.contains_key("retry-after"));
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(1), "took {took:?}");
    tokio::time::sleep(std::time::Duration::from_millis(5_500)).await;
    let started = std::time::Instant::now();
    for _ in 0..5 {
        assert!(app.find_signed_in().await > 0.0);
    }
    let took = started.elapsed();
    assert!(
        took < std::time::Duration::from_secs(1),
        "five signed-in matches took {took:?}"
    );
}

/// A stopped Postgres (connections closed, new ones refused) and its return, with only
/// signed-in matching coming in: nothing left hanging on a socket will find Postgres back, so
/// the background probe those matches start must, and their credentials are then checked
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_matching_checks_credentials_again_once_a_stopped_postgres_is_back() {
    let app = RelayedApp::start().await;
    assert_eq!(app.find_signed_in().await, 0.0);
    app.relay.cut();
    let started = std::time::Instant::now();
    assert!(
        app.find_signed_in().await > 0.0,
        "unchecked: the coarse grid"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    signed_in_matching_does_not_wait_while_postgres_is_away(&app).await;
    app.relay.speak_again();
    let mut checked = false;
    for _ in 0..100 {
        if app.find_signed_in().await == 0.0 {
            checked = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        checked,
        "signed-in matching never checked credentials again"
    );
    assert_eq!(app.list().await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_paths_are_404_wrong_methods_405_and_mistyped_pages_a_page() {
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
    // Each 405 says which methods the path takes.
    for (path, allow) in [
        ("/healthz", "GET, HEAD"),
        ("/", "GET, POST, HEAD"),
        ("/api/v1/session", "POST, GET, DELETE, HEAD"),
        ("/api/v1/match", "POST"),
    ] {
        let res = app.send(Method::PUT, path, None, None).await;
        assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(res.headers["allow"], allow, "{path}");
    }
    // A console form's address opened in the browser (typed, reloaded, a tab restored): a
    // page leading back to the console, not the API's JSON.
    for path in ["/console/search", "/console/slip", "/console/reveal"] {
        let res = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(res.headers()["allow"], "POST", "{path}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        let page = res.text().await.unwrap();
        assert!(page.contains("This page comes from a form"), "{page}");
        assert!(page.contains(r#"href="/console""#), "{page}");
    }
    // What answers GET answers HEAD, with the head alone; a search path does not.
    for path in ["/", "/es/", "/healthz", "/assets/haven.css"] {
        let res = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(
            res.headers().contains_key("content-security-policy"),
            "{path}"
        );
        assert!(res.bytes().await.unwrap().is_empty(), "{path}");
    }
    let res = app
        .client
        .head(app.url("/api/v1/match"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "POST");
    let res = app
        .client
        .head(app.url("/api/v1/services"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "HEAD keeps GET's access rule"
    );

    // Outside the API, a mistyped address is a page: quick exit, safety note, the search,
    // in the address's language; `/es` goes on to `/es/`.
    let client = crate::helpers::client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (path, words) in [
        ("/no-such-page", "There is no page at this address"),
        // Staff who mistype a console address stay in the console.
        (
            "/console/no-such-page",
            "There is no console page at this address",
        ),
        ("/es/x", "No hay ninguna página en esta dirección"),
    ] {
        let res = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert!(res.headers().contains_key("content-security-policy"));
        let page = res.text().await.unwrap();
        assert!(page.contains(words), "{path}: {page}");
        assert!(page.contains("id=\"quick-exit\""), "{page}");
        assert_eq!(
            page.contains("name=\"zip\""),
            !path.starts_with("/console"),
            "{page}"
        );
    }
    let res = client.get(app.url("/es")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()["location"], "/es/");
}

/// libpq's TLS and Kerberos libraries tear their state down when the process exits, and a
/// thread still holding a connection then crashes it. So once an instance has stopped, none of
/// its connections (the index follower's, the pool's) may be open any more.
#[tokio::test]
async fn a_stopped_instance_has_closed_its_database_connections() {
    let db = TestDb::new();
    let settings = test_settings(&db);
    let app = Application::build(&settings, haven::db::pool(&db.url, 2).unwrap()).unwrap();
    let url = format!("http://127.0.0.1:{}/readyz", app.port());
    let serving = Serving::start(app);
    let client = client().build().unwrap();
    // Ready means the follower is connected; each ready answer used a pooled connection.
    let mut ready = 0;
    for _ in 0..200 {
        if client.get(&url).send().await.unwrap().status() == StatusCode::OK {
            ready += 1;
            if ready == 3 {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(ready, 3, "the instance never became ready");
    let ports = db.client_ports();
    let held = open_sockets_on(&ports);
    assert!(
        held.len() >= 2,
        "the follower and the pool hold connections while serving: {held:?} of {ports:?}"
    );

    drop(serving);
    let still_open: Vec<u64> = open_sockets_on(&ports)
        .into_iter()
        .filter(|inode| held.contains(inode))
        .collect();
    assert!(
        still_open.is_empty(),
        "still open after the stop: {still_open:?}"
    );
}

/// A request's transaction that stops talking (its instance cut off mid-write, holding the
/// directory-wide write lock) is ended by Postgres within seconds, so other instances' writes
/// go through again instead of failing until the kernel gives up on the connection.
#[tokio::test]
async fn a_write_cut_off_mid_transaction_frees_the_write_lock_within_seconds() {
    let app = spawn_app().await;
    let pool = haven::db::pool(&app.db.url, 1).unwrap();
    let mut stuck = pool.get().unwrap();
    stuck
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock({})",
            haven::db::change_log::WRITE_LOCK
        ))
        .unwrap();
    let org = json!({"name": "Org"});
    let create = || app.admin(Method::POST, "/api/v1/organizations", Some(&org));
    // While the lock is held, writes wait for it briefly and give up.
    assert_eq!(create().await.status, StatusCode::SERVICE_UNAVAILABLE);
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(create().await.status, StatusCode::CREATED);
    // The stuck session was ended: its transaction is gone with it.
    assert!(stuck.batch_execute("SELECT 1").is_err());
}

/// An instance cut off from Postgres for longer than the change log keeps changes misses
/// some of them for good: when it is back it loads everything again rather than follow what
/// is left, and shows every change made meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_away_longer_than_the_change_log_keeps_loads_everything_again() {
    use diesel::RunQueryDsl;
    let away = RelayedApp::start().await;
    let writer = crate::helpers::spawn_app_on(away.db.shared()).await;
    away.relay.cut();
    let org = writer.create_organization("Meanwhile Org").await;
    for name in ["Meanwhile One", "Meanwhile Two"] {
        let mut body = service_body(org);
        body["name"] = json!(name);
        let res = writer.create_service(&body).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    }
    // A week on, as the instances trim it: only the newest change is left.
    let mut conn = away.db.connect();
    diesel::sql_query("UPDATE change_log SET changed_at = now() - interval '8 days'")
        .execute(&mut conn)
        .unwrap();
    haven::db::change_log::trim(&mut conn, 1_000).unwrap();
    assert_eq!(away.db.count("change_log"), 1);

    away.relay.speak_again();
    let query = json!({"location": {"lat": 29.76, "lon": -95.37}, "needs": ["shelter"]});
    let started = std::time::Instant::now();
    loop {
        let res = away
            .client
            .post(away.url("/api/v1/match"))
            .json(&query)
            .send()
            .await;
        let res = into_response(res.unwrap()).await;
        let mut found = names(&res.body["results"]);
        found.sort();
        if found == ["Meanwhile One", "Meanwhile Two"] {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "after 20 s the instance shows {found:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
