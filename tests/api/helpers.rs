//! Test harness: each test gets its own database cloned from a template migrated once per
//! migration set, the real application on a random port, and an HTTP client.

use std::sync::OnceLock;

use actix_web::dev::ServerHandle;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use haven::auth::{Role, Token};
use haven::config::{DatabaseUrl, Settings};
use haven::crypto::{DataKey, DataKeys, LiveKeys};
use haven::db::{self, quote_ident, tokens};
use haven::matching::live::LiveIndex;
use haven::startup::Application;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use uuid::Uuid;

/// The server tests create their databases on; override with HAVEN_TEST_DATABASE_URL.
pub fn server_url() -> DatabaseUrl {
    let url = std::env::var("HAVEN_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    DatabaseUrl::parse(&url).expect("HAVEN_TEST_DATABASE_URL is a postgres URL")
}

fn admin_connection() -> PgConnection {
    db::connect(&server_url()).expect("Postgres answers for tests")
}

/// Name of the template for the current migrations: a new migration gets a new template.
fn template_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let mut hasher = Sha256::new();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<_> = walk(&dir);
        files.sort();
        for file in files {
            hasher.update(file.to_string_lossy().as_bytes());
            hasher.update(std::fs::read(&file).expect("migration file readable"));
        }
        let digest = hasher.finalize();
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("haven_test_template_{hex}")
    })
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("migrations dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Creates the template once; an advisory lock keeps concurrent test processes apart.
fn ensure_template() -> &'static str {
    static READY: OnceLock<()> = OnceLock::new();
    let name = template_name();
    READY.get_or_init(|| {
        let mut conn = admin_connection();
        conn.batch_execute("SELECT pg_advisory_lock(727274)")
            .unwrap();
        #[derive(QueryableByName)]
        struct Exists {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            exists: bool,
        }
        let exists = diesel::sql_query(format!(
            "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}') AS exists"
        ))
        .get_result::<Exists>(&mut conn)
        .unwrap()
        .exists;
        if !exists {
            let building = format!("{name}_building");
            conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&building)
            ))
            .unwrap();
            conn.batch_execute(&format!("CREATE DATABASE {}", quote_ident(&building)))
                .unwrap();
            let url = server_url().with_database(&building);
            let mut tpl = db::connect(&url).unwrap();
            db::run_migrations(&mut tpl, &url).unwrap();
            drop(tpl);
            // Renamed only once complete, so a crashed build never leaves a half template.
            conn.batch_execute(&format!(
                "ALTER DATABASE {} RENAME TO {}",
                quote_ident(&building),
                quote_ident(name)
            ))
            .unwrap();
        }
        conn.batch_execute("SELECT pg_advisory_unlock(727274)")
            .unwrap();
    });
    name
}

/// A database of its own for one test, dropped when the value goes.
pub struct TestDb {
    pub name: String,
    pub url: DatabaseUrl,
    /// Whether dropping this handle drops the database (not for a [`TestDb::shared`] one).
    owned: bool,
}

impl TestDb {
    pub fn new() -> TestDb {
        TestDb::create(Some(ensure_template()))
    }

    /// An empty database, without migrations.
    pub fn empty() -> TestDb {
        TestDb::create(None)
    }

    fn create(template: Option<&str>) -> TestDb {
        let name = format!("haven_test_{}", Uuid::new_v4().simple());
        let sql = match template {
            Some(t) => format!(
                "CREATE DATABASE {} TEMPLATE {}",
                quote_ident(&name),
                quote_ident(t)
            ),
            None => format!("CREATE DATABASE {}", quote_ident(&name)),
        };
        admin_connection().batch_execute(&sql).unwrap();
        let url = server_url().with_database(&name);
        TestDb {
            name,
            url,
            owned: true,
        }
    }

    /// Another handle on the same database, for a second app instance on it. Dropping it
    /// leaves the database to the first handle.
    pub fn shared(&self) -> TestDb {
        TestDb {
            name: self.name.clone(),
            url: self.url.clone(),
            owned: false,
        }
    }

    pub fn connect(&self) -> PgConnection {
        db::connect(&self.url).unwrap()
    }

    /// Drops the database now, even with the app still connected (to test an outage).
    pub fn drop_now(&self) {
        admin_connection()
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&self.name)
            ))
            .unwrap();
    }

    pub fn count(&self, table: &str) -> i64 {
        self.count_where(table, "true")
    }

    /// Rows of `table` for which the SQL `condition` holds.
    pub fn count_where(&self, table: &str, condition: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let query = format!(
            "SELECT count(*) AS n FROM {} WHERE {condition}",
            quote_ident(table)
        );
        diesel::sql_query(query)
            .get_result::<Count>(&mut self.connect())
            .unwrap()
            .n
    }

    /// Audit records of access to sealed sites (reveals, and refusals that tell something of
    /// where one is), leaving out those of writes.
    pub fn sealed_site_records(&self) -> i64 {
        self.count_where("audit_event", "action NOT LIKE 'service\\_%'")
    }

    /// The client-side TCP ports of every session connected to this database.
    pub fn client_ports(&self) -> Vec<u16> {
        #[derive(QueryableByName)]
        struct Port {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            port: i32,
        }
        diesel::sql_query(
            "SELECT client_port AS port FROM pg_stat_activity \
             WHERE datname = $1 AND client_port IS NOT NULL",
        )
        .bind::<diesel::sql_types::Text, _>(&self.name)
        .load::<Port>(&mut admin_connection())
        .unwrap()
        .into_iter()
        .map(|p| u16::try_from(p.port).unwrap())
        .collect()
    }
}

/// The sockets (by inode) this process holds open whose local TCP port is one of `ports`.
pub fn open_sockets_on(ports: &[u16]) -> Vec<u64> {
    sockets_on(ports)
        .into_iter()
        .map(|(inode, _)| inode)
        .collect()
}

/// A socket's armed timer as `/proc/net/tcp` shows it: the kind (`tr`: 0 none,
/// 1 retransmission, 2 keepalive) and when it fires, in hundredths of a second.
#[derive(Debug, Clone, Copy)]
pub struct Timer {
    pub kind: u8,
    pub fires_in_centis: u64,
}

/// As [`open_sockets_on`], with each socket's armed timer.
pub fn sockets_on(ports: &[u16]) -> Vec<(u64, Timer)> {
    let mut sockets = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields[1].rsplit(':').next().unwrap();
            let local_port = u16::from_str_radix(local_port, 16).unwrap();
            if ports.contains(&local_port) {
                let (kind, when) = fields[5].split_once(':').unwrap();
                let timer = Timer {
                    kind: u8::from_str_radix(kind, 16).unwrap(),
                    fires_in_centis: u64::from_str_radix(when, 16).unwrap(),
                };
                sockets.push((fields[9].parse::<u64>().unwrap(), timer));
            }
        }
    }
    let open: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .collect();
    sockets.retain(|(inode, _)| open.contains(&format!("socket:[{inode}]")));
    sockets
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        if let Ok(mut conn) = db::connect(&server_url()) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&self.name)
            ));
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub admin_token: String,
    pub data_key: DataKeys,
    pub live: Arc<LiveIndex>,
    // Fields drop in order: the server stops and lets go of the database before it is dropped.
    _serving: Serving,
    pub db: TestDb,
}

/// An app instance serving on its own thread. Dropping it stops the server and waits until
/// the instance has closed its database connections, so that no test leaves a thread using
/// libpq behind when the test binary exits.
pub struct Serving {
    handle: ServerHandle,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Serving {
    pub fn start(app: Application) -> Serving {
        let handle = app.handle();
        let thread = std::thread::Builder::new()
            .name("test-server".into())
            .spawn(move || app.serve())
            .unwrap();
        Serving {
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        // The stop command is sent on the call; the serving thread carries it out.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl TestResponse {
    /// The `error.field` of an error envelope.
    pub fn field(&self) -> &str {
        self.body["error"]["field"].as_str().unwrap_or("")
    }

    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The seconds a 429 or 503 asks the client to wait.
    pub fn retry_after(&self) -> u64 {
        self.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    }
}

/// An HTTP client that opens a connection per request. The app closes a keep-alive connection
/// when it has been idle for 5 s (actix's default) and after an answer given without reading
/// the body (a 401 to a POST); a request sent on a pooled connection just as it closes fails
/// with `IncompleteMessage`, as one did in CI on a loaded machine.
pub fn client() -> reqwest::ClientBuilder {
    reqwest::Client::builder().pool_max_idle_per_host(0)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_on(TestDb::new()).await
}

pub fn test_settings(db: &TestDb) -> Settings {
    Settings {
        database_url: db.url.clone(),
        bind: "127.0.0.1:0".into(),
        workers: 1,
        pool_size: 2,
        data_key: LiveKeys::fixed(DataKeys::parse(&DataKey::generate_base64()).unwrap()),
        cell_km: 1.0,
        // High enough that tests sharing 127.0.0.1 are not limited; the limit itself is
        // tested with its own setting.
        rate_limit_per_minute: 100_000,
        reveal_roles: Vec::new(),
        quick_exit_url: haven::web::DEFAULT_QUICK_EXIT_URL.into(),
        trusted_proxies: Default::default(),
    }
}

/// Starts the app on `db` and waits until it is ready (index loaded).
pub async fn spawn_app_on(db: TestDb) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

/// Like [`spawn_app_on`], with settings adjusted first.
pub async fn spawn_app_with(db: TestDb, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings(&db);
    adjust(&mut settings);
    let pool = db::pool(&db.url, settings.pool_size).unwrap();
    let app = Application::build(&settings, pool).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    let live = app.live();
    let serving = Serving::start(app);
    let admin_token = create_token(&db, Role::Admin, None);
    let app = TestApp {
        address,
        client: client().build().unwrap(),
        _serving: serving,
        db,
        admin_token,
        data_key: DataKeys::clone(&settings.data_key.get()),
        live,
    };
    app.wait_for_index().await;
    app
}

/// Stores a new token of `role` in the test database and returns it in clear.
pub fn create_token(db: &TestDb, role: Role, organization_id: Option<Uuid>) -> String {
    let token = Token::generate().unwrap();
    let hash = token.hash();
    tokens::insert(
        &mut db.connect(),
        &tokens::TokenInsertForm {
            id: Uuid::new_v4(),
            token_hash: &hash,
            role: role.code(),
            organization_id,
            label: "test",
        },
    )
    .unwrap();
    token.expose().to_string()
}

/// Stores a user (password hashed with the real Argon2id parameters) and returns its id.
pub fn create_user(
    db: &TestDb,
    email: &str,
    password: &str,
    role: Role,
    organization_id: Option<Uuid>,
) -> Uuid {
    use haven::auth::password::{Password, hash};
    let id = Uuid::new_v4();
    let hash = hash(&Password::new(password.into(), "password").unwrap()).unwrap();
    haven::db::accounts::insert_user(
        &mut db.connect(),
        &haven::db::accounts::UserInsertForm {
            id,
            email,
            password_hash: &hash,
            role: role.code(),
            organization_id,
        },
    )
    .unwrap();
    id
}

/// Opens a session for `user_id` directly in the database (no password round trip) and
/// returns its token.
pub fn create_session(db: &TestDb, user_id: Uuid) -> String {
    use diesel::prelude::*;
    use haven::db::schema::app_user;
    let token = Token::generate_session().unwrap();
    let mut conn = db.connect();
    let hash: String = app_user::table
        .find(user_id)
        .select(app_user::password_hash)
        .first(&mut conn)
        .unwrap();
    let opened = haven::db::accounts::insert_session(
        &mut conn,
        Uuid::new_v4(),
        &token.hash(),
        user_id,
        &hash,
    )
    .unwrap();
    assert!(opened.is_some(), "the user is enabled");
    token.expose().to_string()
}

impl TestApp {
    /// `POST /api/v1/session`.
    pub async fn sign_in(&self, email: &str, password: &str) -> TestResponse {
        self.send(
            Method::POST,
            "/api/v1/session",
            None,
            Some(&serde_json::json!({"email": email, "password": password})),
        )
        .await
    }

    /// Waits until this instance's matching index reflects every committed change.
    pub async fn wait_for_index(&self) {
        use haven::db::change_log;
        let latest = change_log::latest_id(&mut self.db.connect()).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if self.live.is_ready() && self.live.snapshot().version >= latest {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "index did not reach change {latest}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// `POST /api/v1/match` as an anonymous caller.
    pub async fn find(&self, body: &Value) -> TestResponse {
        self.send(Method::POST, "/api/v1/match", None, Some(body))
            .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> TestResponse {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        into_response(req.send().await.expect("request sent")).await
    }

    /// As the admin.
    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> TestResponse {
        self.send(method, path, Some(&self.admin_token.clone()), body)
            .await
    }

    /// A console page as the holder of `token`: `GET path`, or with `form` (urlencoded) a
    /// `POST`. Answers the status and the page.
    pub async fn console(
        &self,
        token: &str,
        path: &str,
        form: Option<String>,
    ) -> (StatusCode, String) {
        let req = match form {
            Some(form) => self
                .client
                .post(self.url(path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(form),
            None => self.client.get(self.url(path)),
        };
        let res = req.bearer_auth(token).send().await.unwrap();
        (res.status(), res.text().await.unwrap())
    }

    /// The version the console's editor of service `id` shows (what its save says the edit
    /// was made from), opened as the admin.
    pub async fn editor_version(&self, id: impl std::fmt::Display) -> String {
        let (_, page) = self
            .console(
                &self.admin_token,
                "/console/services/edit",
                Some(format!("service_id={id}")),
            )
            .await;
        let field = r#"name="version" value=""#;
        let at = page
            .find(field)
            .unwrap_or_else(|| panic!("no version: {page}"))
            + field.len();
        page[at..at + page[at..].find('"').unwrap()].to_string()
    }

    /// A survivor page's form (urlencoded) posted to `path`, as an anonymous visitor:
    /// the status and the page.
    pub async fn post_page(&self, path: &str, form: &str) -> (StatusCode, String) {
        let res = self
            .client
            .post(self.url(path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form.to_string())
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    }

    /// Sends raw bytes with the given content type, as the admin.
    pub async fn admin_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> TestResponse {
        let req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(&self.admin_token)
            .header("Content-Type", content_type)
            .body(body);
        into_response(req.send().await.expect("request sent")).await
    }

    pub async fn create_organization(&self, name: &str) -> Uuid {
        let res = self
            .admin(
                Method::POST,
                "/api/v1/organizations",
                Some(&serde_json::json!({"name": name})),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        res.body["id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn create_service(&self, body: &Value) -> TestResponse {
        self.admin(Method::POST, "/api/v1/services", Some(body))
            .await
    }
}

pub async fn into_response(res: reqwest::Response) -> TestResponse {
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    TestResponse {
        status,
        headers,
        body,
    }
}

/// An intake line: the front door a service at a confidential location must have.
pub fn intake_phone() -> Value {
    serde_json::json!([{"number": "415-555-0143", "type": "voice", "available_24_7": true}])
}

/// A valid service body for `organization_id`, with one radius coverage entry.
/// The `name` of each entry of an answer's list, in its order.
pub fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

pub fn service_body(organization_id: Uuid) -> Value {
    serde_json::json!({
        "organization_id": organization_id,
        "name": "Test Shelter",
        "needs": ["shelter"],
        "coverage": [{"type": "radius", "center": {"lat": 29.76, "lon": -95.37}, "radius_km": 25}]
    })
}
