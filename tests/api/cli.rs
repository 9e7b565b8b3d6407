//! The `haven` binary itself.

use std::process::Command;

use reqwest::StatusCode;

use serde_json::json;

use crate::helpers::{TestDb, intake_phone, into_response, names, service_body, spawn_app_with};

/// What `GET /api/v1/session` answers `token`: OK while it still signs its holder in.
async fn session_status(app: &crate::helpers::TestApp, token: &str) -> StatusCode {
    app.send(reqwest::Method::GET, "/api/v1/session", Some(token), None)
        .await
        .status
}

/// Makes the key file at `path` look changed two minutes ago: `keys retire` refuses to run
/// within a minute of a rotation.
fn settled(path: &std::path::Path) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(120))
        .unwrap();
}

/// Runs `command`, which must succeed (else its error output is shown).
fn succeeds(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn haven(db_url: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haven"));
    cmd.env("DATABASE_URL", db_url)
        .env("HAVEN_DATA_KEY", haven::crypto::DataKey::generate_base64())
        .env("HAVEN_LOG", "warn");
    cmd
}

#[tokio::test]
async fn token_create_prints_one_working_admin_token() {
    let db = TestDb::new();
    let out = haven(db.url.expose())
        .args(["token", "create", "--role", "admin", "--label", "ci"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout:?}");
    let token = stdout.trim().to_string();
    assert!(token.starts_with("hvn_"));
    // Only the hash is stored.
    assert_eq!(db.count("api_token"), 1);
    use diesel::prelude::*;
    use haven::db::schema::api_token;
    let hash: Vec<u8> = api_token::table
        .select(api_token::token_hash)
        .first(&mut db.connect())
        .unwrap();
    assert_eq!(hash, haven::auth::hash_token(&token));

    // The token works against a server started on the same database.
    let settings = crate::helpers::test_settings(&db);
    let app = haven::startup::Application::build(&settings, haven::db::pool(&db.url, 1).unwrap())
        .unwrap();
    let port = app.port();
    let serving = crate::helpers::Serving::start(app);
    let res = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/v1/organizations"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(into_response(res).await.status, StatusCode::OK);
    drop(serving);

    let out = haven(db.url.expose())
        .args(["token", "create", "--role", "provider", "--label", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--org"));
    // Only providers act for an organization: on another role's token it would be named in
    // the audit trail as theirs.
    let org = uuid::Uuid::new_v4().to_string();
    let out = haven(db.url.expose())
        .args([
            "token", "create", "--role", "hotline", "--label", "x", "--org", &org,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--org is for providers only"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unreachable_postgres_is_a_one_line_error_naming_host_and_port_not_the_password() {
    // Port 1 on loopback: nothing listens there.
    let out = haven("postgres://haven:s3cret-pw@127.0.0.1:1/haven")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let line = stderr
        .lines()
        .find(|l| l.contains("error"))
        .unwrap_or_default();
    assert!(line.contains("127.0.0.1:1"), "{stderr}");
    assert!(!stderr.contains("s3cret-pw"), "{stderr}");
}

#[test]
fn migrate_creates_a_missing_database() {
    let db = TestDb::new();
    let fresh = format!("{}_fresh", db.name);
    let url = db.url.with_database(&fresh);
    let out = haven(url.expose()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    haven::db::connect(&url).unwrap();
    let mut admin = haven::db::connect(&crate::helpers::server_url()).unwrap();
    use diesel::connection::SimpleConnection;
    admin
        .batch_execute(&format!(
            "DROP DATABASE {} WITH (FORCE)",
            haven::db::quote_ident(&fresh)
        ))
        .unwrap();
}

/// `serve` finds what is wrong with its settings before it touches the database, and a port
/// already taken leaves the directory unseeded.
#[test]
fn serve_refuses_bad_settings_before_touching_the_database() {
    let db = TestDb::new();
    let missing = db.url.with_database(&format!("{}_never", db.name));
    for (var, value, says) in [
        ("HAVEN_WORKERS", "0", "--workers"),
        ("HAVEN_DB_POOL_SIZE", "0", "--pool-size"),
        ("HAVEN_REVEAL_ROLES", "admin", "HAVEN_REVEAL_ROLES"),
        ("HAVEN_TRUSTED_PROXIES", "not-an-address", "not-an-address"),
    ] {
        let out = haven(missing.expose())
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env(var, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{var}");
        assert!(!stderr.contains("panicked"), "{var}: {stderr}");
        assert!(stderr.contains(says), "{var}: {stderr}");
        assert!(
            haven::db::connect(&missing).is_err(),
            "{var} created the database"
        );
    }
    // A taken port: the database is migrated, but no demo directory is loaded into it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let out = haven(db.url.expose())
        .args([
            "serve",
            "--demo",
            "--bind",
            &taken.local_addr().unwrap().to_string(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen"));
    assert_eq!(db.count("service"), 0);
}

/// Runs `haven import services` on a file holding `contents`, in batches of `batch_size`;
/// returns (success, stdout, stderr).
fn import_file(
    app: &crate::helpers::TestApp,
    contents: &[u8],
    batch_size: usize,
) -> (bool, String, String) {
    import_file_with(haven(app.db.url.expose()), contents, batch_size)
}

/// Runs `import services` through `haven` (a command with its environment set) on a file of
/// `contents`: whether it succeeded, and what it printed to stdout and stderr.
fn import_file_with(
    mut haven: Command,
    contents: &[u8],
    batch_size: usize,
) -> (bool, String, String) {
    let dir = std::env::temp_dir().join(format!("haven-import-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("services.jsonl");
    std::fs::write(&file, contents).unwrap();
    let out = haven
        .args(["import", "services", file.to_str().unwrap()])
        .args(["--batch-size", &batch_size.to_string()])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn import_writes_good_batches_whole_and_reports_bad_lines() {
    let app = crate::helpers::spawn_app().await;
    let existing = app.create_organization("Existing Org").await;
    let radius = r#""coverage": [{"type": "radius", "center": {"lat": 29.76, "lon": -95.37}, "radius_km": 10}]"#;
    let lines = [
        // batch 1 (lines 1-2): good, one of them creating an organization by name
        format!(
            r#"{{"organization_name": "Imported Org", "name": "Import A", "needs": ["shelter"], {radius}}}"#
        ),
        format!(
            r#"{{"organization_id": "{existing}", "name": "Import B", "needs": ["legal_aid"], {radius}}}"#
        ),
        // batch 2 (lines 3-4): one bad line sinks the batch
        format!(
            r#"{{"organization_name": "Imported Org", "name": "Import C", "needs": ["shelter"], {radius}}}"#
        ),
        r#"{"organization_name": "Imported Org", "name": "Import D", "needs": ["shelter"], "coverage": [{"type": "radius", "center": {"lat": 29.76, "lon": -95.37}, "radius_km": 900}]}"#.to_string(),
        // batch 3 (lines 5-7, with a blank line): a malformed line and an unknown organization
        "{not json".to_string(),
        String::new(),
        format!(
            r#"{{"organization_id": "{}", "name": "Import E", "needs": ["shelter"], {radius}}}"#,
            uuid::Uuid::new_v4()
        ),
        // batch 4: good
        format!(
            r#"{{"organization_name": "Imported Org", "name": "Import F", "needs": ["medical"], {radius}}}"#
        ),
    ];
    let (ok, stdout, stderr) = import_file(&app, lines.join("\n").as_bytes(), 2);
    assert!(!ok, "bad lines make the command fail");
    assert!(
        stderr.contains("line 4: coverage[0].radius_km:"),
        "{stderr}"
    );
    // The line is the place; serde's "line 1" of it would mislead.
    assert!(
        stderr.contains("line 5: key must be a string at column 2"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 7: organization_id: no organization has this id"),
        "{stderr}"
    );
    assert!(stdout.contains("imported 3 of 7 services"), "{stdout}");

    app.wait_for_index().await;
    let res = app
        .admin(reqwest::Method::GET, "/api/v1/services?per_page=100", None)
        .await;
    let mut names: Vec<String> = res.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["Import A", "Import B", "Import F"]);
    assert_eq!(app.db.count("organization"), 2, "Imported Org created once");
    // The change log and the matching index followed.
    let res = app.find(&serde_json::json!({"location": {"lat": 29.76, "lon": -95.37}, "needs": ["shelter", "medical"]})).await;
    assert_eq!(res.body["results"].as_array().unwrap().len(), 2);
}

/// A file whose lines carry the services' ids can be imported again: after fixing a rejected
/// batch, the run replaces what the first one wrote instead of copying it, and matching shows
/// the new version. An id given twice, or one that is not a UUID, is a bad line.
#[tokio::test]
async fn import_by_id_replaces_instead_of_copying_when_a_file_runs_again() {
    let app = crate::helpers::spawn_app().await;
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let line = |id: &str, name: &str, radius_km: u32| {
        format!(
            r#"{{{id}"organization_name": "Org", "name": "{name}", "needs": ["shelter"], "coverage": [{{"type": "radius", "center": {{"lat": 29.76, "lon": -95.37}}, "radius_km": {radius_km}}}]}}"#
        )
    };
    let with_id = |id: uuid::Uuid| format!(r#""id": "{id}", "#);
    let first = [
        line(&with_id(a), "Alpha", 10),
        line(&with_id(b), "Bravo", 900),
        line("", "Charlie", 10),
    ];
    let (ok, stdout, stderr) = import_file(&app, first.join("\n").as_bytes(), 1);
    assert!(!ok);
    assert!(stderr.contains("line 2: coverage[0].radius_km"), "{stderr}");
    assert!(
        stderr.contains("1 services were written from lines without an \"id\""),
        "{stderr}"
    );
    assert!(
        stdout.contains("imported 2 of 3 services (0 replaced by id"),
        "{stdout}"
    );

    // Bravo fixed, Alpha renamed; Charlie, which had no id, left out.
    let again = [
        line(&with_id(a), "Alpha Renamed", 10),
        line(&with_id(b), "Bravo", 10),
    ];
    let (ok, stdout, stderr) = import_file(&app, again.join("\n").as_bytes(), 1);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("imported 2 of 2 services (1 replaced by id, 0 organizations created)"),
        "{stdout}"
    );
    assert!(!stderr.contains("without an"), "{stderr}");
    assert_eq!(app.db.count("service"), 3);
    assert_eq!(
        app.db.count("coverage"),
        3,
        "the replaced service's old parts are gone"
    );
    let res = app
        .admin(reqwest::Method::GET, &format!("/api/v1/services/{a}"), None)
        .await;
    assert_eq!(res.body["name"], "Alpha Renamed");
    let res = app
        .admin(reqwest::Method::GET, &format!("/api/v1/services/{b}"), None)
        .await;
    assert_eq!(res.body["name"], "Bravo");
    app.wait_for_index().await;
    let res = app
        .find(&serde_json::json!({"location": {"lat": 29.76, "lon": -95.37}, "needs": ["shelter"]}))
        .await;
    let mut found = names(&res.body["results"]);
    found.sort();
    assert_eq!(found, ["Alpha Renamed", "Bravo", "Charlie"]);

    let bad = [
        line(r#""id": "not-a-uuid", "#, "Delta", 10),
        line(&with_id(b), "Bravo Again", 10),
        line(&with_id(b), "Bravo Twice", 10),
        line(r#""id": 7, "#, "Echo", 10),
        // Bad for another reason, its id still counts: line 6 repeats it.
        line(
            r#""id": "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "#,
            "Golf",
            900,
        ),
        line(
            r#""id": "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "#,
            "Hotel",
            10,
        ),
        // A spreadsheet's quoted number: the report names the member, not its value.
        line(
            r#""location": {"lat": "29.751234", "lon": -95.37, "confidential": true}, "#,
            "Foxtrot",
            10,
        ),
    ];
    let (ok, stdout, stderr) = import_file(&app, bad.join("\n").as_bytes(), 1);
    assert!(!ok);
    assert!(stderr.contains("line 1: id: must be a UUID"), "{stderr}");
    assert!(
        stderr.contains("line 3: id: line 2 gives this id too"),
        "{stderr}"
    );
    assert!(stderr.contains("line 4: id: must be a UUID"), "{stderr}");
    assert!(stderr.contains("line 5: coverage[0].radius_km"), "{stderr}");
    assert!(
        stderr.contains("line 6: id: line 5 gives this id too"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 7: location.lat: invalid type: string, expected f64"),
        "{stderr}"
    );
    assert!(!stderr.contains("29.751234"), "{stderr}");
    assert!(
        stdout.contains("imported 1 of 7 services (1 replaced by id"),
        "{stdout}"
    );
    assert_eq!(app.db.count("service"), 3);
}

/// A batch Postgres refuses whole (here a trigger stands in for an organization deleted
/// meanwhile, or another run writing the same ids) is reported as its lines and the run goes
/// on; a lost connection stops the run, and the report so far is printed all the same.
#[tokio::test]
async fn import_reports_batches_postgres_refuses_and_a_lost_connection() {
    use diesel::connection::SimpleConnection;
    let app = crate::helpers::spawn_app().await;
    app.db
        .connect()
        .batch_execute(
            "CREATE FUNCTION refuse_some() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF NEW.name = 'Refused' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF;
               IF NEW.name = 'Cut' THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
               RETURN NEW;
             END $$;
             CREATE TRIGGER refuse_some BEFORE INSERT ON service
               FOR EACH ROW EXECUTE FUNCTION refuse_some();",
        )
        .unwrap();
    let line = |name: &str| {
        format!(
            r#"{{"organization_name": "Org", "name": "{name}", "needs": ["shelter"], "coverage": [{{"type": "region", "code": "US-48201"}}]}}"#
        )
    };
    let lines = ["One", "Refused", "Three", "Cut", "Five"].map(line);
    let (ok, stdout, stderr) = import_file(&app, lines.join("\n").as_bytes(), 1);
    assert!(!ok);
    assert!(
        stderr.contains("line 2: lines 2 to 2 were not written: refused by a test trigger"),
        "{stderr}"
    );
    assert!(stdout.contains("imported 2 of 4 services"), "{stdout}");
    assert!(
        stderr.contains("the import stopped after line 4"),
        "{stderr}"
    );
    assert_eq!(app.db.count("service"), 2);
}

/// Lines a spreadsheet or a careless script makes: a byte-order mark, a member given twice, a
/// line that is not UTF-8, an organization name that could not be one, a line larger than any
/// body the API takes. Each is reported with its number and the run goes on; names differing
/// only in case and spacing are one organization.
#[tokio::test]
async fn import_reports_odd_lines_and_goes_on() {
    let app = crate::helpers::spawn_app().await;
    let radius = r#""coverage": [{"type": "radius", "center": {"lat": 29.76, "lon": -95.37}, "radius_km": 10}]"#;
    let line = |org: &str, name: &str| {
        format!(
            r#"{{"organization_name": "{org}", "name": "{name}", "needs": ["shelter"], {radius}}}"#
        )
        .into_bytes()
    };
    let mut lines: Vec<Vec<u8>> = vec![
        [b"\xef\xbb\xbf".to_vec(), line("Case  Shelter", "One")].concat(),
        format!(r#"{{"organization_name": "Org", "name": "Two", "name": "Deux", "needs": ["shelter"], {radius}}}"#).into_bytes(),
        [b"{\"organization_name\": \"Org\", \"name\": \"Thr\xffee\"}".to_vec()].concat(),
        line("   ", "Four"),
        [line("case shelter", "Five"), b"\r".to_vec()].concat(),
        [line("Org", "Six"), vec![b' '; 5 * 1024 * 1024]].concat(),
        line("CASE SHELTER", "Seven"),
    ];
    lines.push(Vec::new());
    let (_, stdout, stderr) = import_file(&app, &lines.join(&b'\n'), 1);
    assert!(stderr.contains("line 2: name: is given twice"), "{stderr}");
    assert!(
        stderr.contains("line 3: the line is not UTF-8 text"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 4: organization_name: must not be empty"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 6: the line is longer than 4 MiB"),
        "{stderr}"
    );
    assert!(
        stdout.contains("imported 3 of 7 services (0 replaced by id, 1 organizations created)"),
        "{stdout}"
    );
    let res = app
        .admin(reqwest::Method::GET, "/api/v1/organizations", None)
        .await;
    let names: Vec<&str> = res.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    // Spelled as first met.
    assert_eq!(names, ["Case  Shelter"]);

    // Standard input as `-`; a directory named as the file is refused by name.
    let mut from_stdin = haven(app.db.url.expose());
    from_stdin.args(["import", "services", "-"]);
    let (ok, stdout, stderr) = run_with_stdin(
        from_stdin,
        &String::from_utf8(line("Org", "Eight")).unwrap(),
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("imported 1 of 1 services"), "{stdout}");
    let dir = std::env::temp_dir();
    let out = haven(app.db.url.expose())
        .args(["import", "services", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("cannot read {}: it is a directory", dir.display())),
        "{stderr}"
    );
}

/// Runs `haven` with `stdin` fed in; returns (success, stdout, stderr).
fn run_with_stdin(mut cmd: Command, stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn users_are_created_and_disabled_and_tokens_revoked_from_the_command_line() {
    let app = crate::helpers::spawn_app().await;
    let url = app.db.url.expose().to_string();
    let create = |args: &[&str]| {
        let mut cmd = haven(&url);
        cmd.args(["user", "create"]).args(args);
        cmd
    };
    let (ok, _, stderr) = run_with_stdin(
        create(&["--email", "Ops@Example.org", "--role", "hotline"]),
        "short\n",
    );
    assert!(!ok && stderr.contains("12 to 128"), "{stderr}");
    let (ok, _, stderr) = run_with_stdin(
        create(&["--email", "p@example.org", "--role", "provider"]),
        "long enough password\n",
    );
    assert!(!ok && stderr.contains("--org"), "{stderr}");
    // A tab or line break would forge a row of `user list`.
    let (ok, _, stderr) = run_with_stdin(
        create(&["--email", "a\tb@example.org", "--role", "hotline"]),
        "long enough password\n",
    );
    assert!(!ok && stderr.contains("--email"), "{stderr}");
    let (ok, stdout, stderr) = run_with_stdin(
        create(&["--email", "Ops@Example.org", "--role", "hotline"]),
        "long enough password\n",
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("created (hotline)"), "{stdout}");
    assert!(!stdout.contains("long enough"));
    let (ok, _, stderr) = run_with_stdin(
        create(&["--email", "ops@example.org", "--role", "admin"]),
        "long enough password\n",
    );
    assert!(!ok && stderr.contains("already exists"), "{stderr}");

    let res = app.sign_in("ops@example.org", "long enough password").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let session = res.body["token"].as_str().unwrap().to_string();
    let out = haven(&url)
        .args(["user", "disable", "--email", "ops@example.org"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let res = app
        .send(
            reqwest::Method::GET,
            "/api/v1/session",
            Some(&session),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);

    let out = haven(&url)
        .args([
            "token",
            "create",
            "--role",
            "caseworker",
            "--label",
            "referrals",
        ])
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let id = stderr
        .lines()
        .find_map(|l| l.strip_prefix("token id: "))
        .unwrap()
        .to_string();
    assert_eq!(session_status(&app, &token).await, StatusCode::OK);
    let out = haven(&url)
        .args([
            "token",
            "create",
            "--role",
            "admin",
            "--label",
            "forged\nrow",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success() && out.stdout.is_empty());
    let list = |all: bool| {
        let mut cmd = haven(&url);
        cmd.args(["token", "list"]);
        if all {
            cmd.arg("--all");
        }
        String::from_utf8(cmd.output().unwrap().stdout).unwrap()
    };
    let live = list(false);
    assert!(
        live.lines().any(|l| l.starts_with(&id)
            && l.contains("\tcaseworker\t-\t")
            && l.ends_with("\treferrals")),
        "{live}"
    );
    assert!(!live.contains(&token), "a list never shows a token: {live}");
    let out = haven(&url).args(["token", "revoke", &id]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(session_status(&app, &token).await, StatusCode::UNAUTHORIZED);
    assert!(!list(false).contains(&id));
    assert!(
        list(true)
            .lines()
            .any(|l| l.starts_with(&id) && l.contains("\trevoked ")),
        "{}",
        list(true)
    );
}

/// A maintainer lists the users, sets a new password (which ends the sessions the old one
/// opened) and enables a disabled user again, only with a new password.
#[tokio::test]
async fn users_are_listed_given_new_passwords_and_enabled_again_from_the_command_line() {
    let app = crate::helpers::spawn_app().await;
    let url = app.db.url.expose().to_string();
    let user = |args: &[&str]| {
        let mut cmd = haven(&url);
        cmd.arg("user").args(args);
        cmd
    };
    let (ok, _, stderr) = run_with_stdin(
        user(&[
            "create",
            "--email",
            "cw@example.org",
            "--role",
            "caseworker",
        ]),
        "first long password\n",
    );
    assert!(ok, "{stderr}");
    let res = app.sign_in("cw@example.org", "first long password").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let session = res.body["token"].as_str().unwrap().to_string();
    assert_eq!(session_status(&app, &session).await, StatusCode::OK);

    let (ok, stdout, stderr) = run_with_stdin(
        user(&["password", "--email", "CW@example.org"]),
        "second long password\n",
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("sessions have ended"), "{stdout}");
    assert_eq!(
        session_status(&app, &session).await,
        StatusCode::UNAUTHORIZED
    );
    let res = app.sign_in("cw@example.org", "first long password").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    let res = app.sign_in("cw@example.org", "second long password").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);

    let out = user(&["disable", "--email", "cw@example.org"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let listed = String::from_utf8(user(&["list"]).output().unwrap().stdout).unwrap();
    assert!(
        listed
            .lines()
            .any(|l| l.contains("\tcw@example.org\tcaseworker\t-\t") && l.contains("\tdisabled ")),
        "{listed}"
    );
    assert!(!listed.contains("argon2"), "no password hash: {listed}");
    let (ok, _, stderr) = run_with_stdin(user(&["enable", "--email", "cw@example.org"]), "short\n");
    assert!(!ok && stderr.contains("12 to 128"), "{stderr}");
    let (ok, _, stderr) = run_with_stdin(
        user(&["enable", "--email", "cw@example.org"]),
        "third long password\n",
    );
    assert!(ok, "{stderr}");
    let res = app.sign_in("cw@example.org", "second long password").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
    let res = app.sign_in("cw@example.org", "third long password").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let listed = String::from_utf8(user(&["list"]).output().unwrap().stdout).unwrap();
    assert!(!listed.contains("disabled"), "{listed}");
    // Enabled already: nothing is changed, and the way to a new password is named.
    let (ok, _, stderr) = run_with_stdin(
        user(&["enable", "--email", "cw@example.org"]),
        "fourth long password\n",
    );
    assert!(!ok && stderr.contains("not disabled"), "{stderr}");
    let res = app.sign_in("cw@example.org", "third long password").await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let (ok, _, stderr) = run_with_stdin(
        user(&["password", "--email", "nobody@example.org"]),
        "a long enough password\n",
    );
    assert!(!ok && stderr.contains("no user has this email"), "{stderr}");
}

#[test]
fn keys_rotate_reseals_every_confidential_location_and_retire_drops_unused_keys() {
    use diesel::prelude::*;
    use haven::crypto::DataKeys;
    use haven::db::schema::location;

    let db = TestDb::new();
    let dir = std::env::temp_dir().join(format!("haven-keys-{}", uuid::Uuid::new_v4()));
    let key_file = dir.join("data.key");
    let with_file = || {
        let mut cmd = haven(db.url.expose());
        cmd.env_remove("HAVEN_DATA_KEY")
            .env("HAVEN_DATA_KEY_FILE", &key_file);
        cmd
    };
    let out = with_file().args(["seed", "demo"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = DataKeys::load_or_create(&key_file).unwrap().0;
    let old_id = first.current().id().to_string();

    let sealed = |conn: &mut PgConnection| -> Vec<(uuid::Uuid, String)> {
        location::table
            .filter(location::confidential.eq(true))
            .select((location::id, location::key_id.assume_not_null()))
            .load(conn)
            .unwrap()
    };
    let before = sealed(&mut db.connect());
    assert!(before.len() >= 5 && before.iter().all(|(_, k)| *k == old_id));
    // The file is replaced keeping its owner: an instance may run as another user.
    #[cfg(unix)]
    std::os::unix::fs::chown(&key_file, Some(65534), Some(65534)).unwrap();

    let out = with_file().args(["keys", "rotate"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ring = DataKeys::load_or_create(&key_file).unwrap().0;
    let new_id = ring.current().id().to_string();
    assert_ne!(new_id, old_id);
    assert_eq!(ring.ids().count(), 2, "the old key stays until retired");
    let after = sealed(&mut db.connect());
    assert_eq!(after.len(), before.len());
    assert!(after.iter().all(|(_, k)| *k == new_id));
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().uid(), 65534);
    }

    // Right after a rotation a write may still be sealing with the older key.
    let out = with_file().args(["keys", "retire"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wait until a minute has passed"));
    settled(&key_file);
    let out = with_file().args(["keys", "retire"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ring = DataKeys::load_or_create(&key_file).unwrap().0;
    assert_eq!(ring.ids().collect::<Vec<_>>(), [new_id.as_str()]);
    // Every location still opens, with the new key alone.
    let rows: Vec<haven::db::services::LocationRow> = location::table
        .filter(location::confidential.eq(true))
        .select(haven::db::services::LocationRow::as_select())
        .load(&mut db.connect())
        .unwrap();
    for row in &rows {
        haven::db::services::open_location(row, &ring).unwrap();
        assert!(
            first
                .open(&old_id, row.sealed.as_ref().unwrap(), row.id.as_bytes())
                .is_err()
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // With the key in the environment there is no file to rotate.
    let out = haven(db.url.expose())
        .args(["keys", "rotate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("HAVEN_DATA_KEY_FILE"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `haven keys rotate` and `retire` while an instance runs with the key file: the instance
/// reads the changed file on its next use of a key, so it reveals the re-sealed addresses at
/// once (not a 500 until a restart), seals new ones with the new key, and still knows a
/// create retried with the Idempotency-Key its first try sent before the rotation.
#[tokio::test]
async fn a_running_instance_follows_its_key_file_through_rotate_and_retire() {
    use diesel::prelude::*;
    use haven::auth::Role;
    use haven::crypto::{DataKeys, LiveKeys};
    use haven::db::schema::location;

    let dir = std::env::temp_dir().join(format!("haven-keys-{}", uuid::Uuid::new_v4()));
    let key_file = dir.join("data.key");
    let db = TestDb::new();
    let url = db.url.expose().to_string();
    let with_file = || {
        let mut cmd = haven(&url);
        cmd.env_remove("HAVEN_DATA_KEY")
            .env("HAVEN_DATA_KEY_FILE", &key_file);
        cmd
    };
    let succeeds = |args: &[&str]| {
        let out = with_file().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    succeeds(&["seed", "demo"]);
    let app = spawn_app_with(db, |s| {
        let keys = DataKeys::load_or_create(&key_file).unwrap().0;
        s.data_key = LiveKeys::from_file(keys, key_file.clone());
        s.reveal_roles = vec![Role::Hotline];
    })
    .await;
    let hotline = crate::helpers::create_token(&app.db, Role::Hotline, None);
    let sealed_id: uuid::Uuid = location::table
        .filter(location::confidential.eq(true))
        .select(location::service_id)
        .first(&mut app.db.connect())
        .unwrap();
    let reveal_path = format!("/api/v1/services/{sealed_id}/reveal");
    let reason = json!({"reason": "caller needs directions to intake"});
    let reveal = || {
        app.send(
            reqwest::Method::POST,
            &reveal_path,
            Some(&hotline),
            Some(&reason),
        )
    };
    let org = app.create_organization("Rotation House").await;
    let mut sealed_body = service_body(org);
    sealed_body["phones"] = intake_phone();
    sealed_body["location"] = json!({"lat": 29.7612, "lon": -95.3702, "confidential": true,
        "address": {"street": "9 Unlisted Rd", "city": "Houston"}});
    sealed_body["coverage"] = json!([{"type": "region", "code": "US-48201"}]);
    let create = |key: &'static str, body: serde_json::Value| {
        let req = app
            .client
            .post(app.url("/api/v1/services"))
            .bearer_auth(&app.admin_token)
            .header("Idempotency-Key", key)
            .json(&body);
        async move { into_response(req.send().await.unwrap()).await }
    };
    let first = create("before-rotation", sealed_body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(reveal().await.status, StatusCode::OK);

    succeeds(&["keys", "rotate"]);
    let new_id = DataKeys::load_or_create(&key_file)
        .unwrap()
        .0
        .current()
        .id()
        .to_string();
    let res = reveal().await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let retried = create("before-rotation", sealed_body.clone()).await;
    assert_eq!(retried.status, StatusCode::CREATED, "{}", retried.body);
    assert!(retried.headers.get("idempotent-replayed").is_some());
    assert_eq!(retried.body["id"], first.body["id"]);
    // The id of the key a new confidential service's address is sealed with.
    let sealed_with = |key: &'static str| {
        let (create, body, app) = (&create, sealed_body.clone(), &app);
        async move {
            let res = create(key, body).await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
            let id: uuid::Uuid = res.body["id"].as_str().unwrap().parse().unwrap();
            let key_id: Option<String> = location::table
                .filter(location::service_id.eq(id))
                .select(location::key_id)
                .first(&mut app.db.connect())
                .unwrap();
            key_id.unwrap()
        }
    };
    assert_eq!(sealed_with("after-rotation").await, new_id);

    // The key the create before the rotation was hashed with stays while it is remembered
    // (a day), so that its retry is known on instances started later too.
    settled(&key_file);
    succeeds(&["keys", "retire"]);
    let ring = DataKeys::load_or_create(&key_file).unwrap().0;
    assert_eq!(
        ring.ids().count(),
        2,
        "{:?}",
        ring.ids().collect::<Vec<_>>()
    );
    assert_eq!(reveal().await.status, StatusCode::OK);

    // Another deployment's key file put in its place is not taken (addresses stored here are
    // sealed with a key it lacks), and nothing is sealed meanwhile: the key in front here may
    // be gone from the file for good. Addresses still open.
    let ring_text = std::fs::read_to_string(&key_file).unwrap();
    std::fs::write(
        &key_file,
        format!("{}\n", haven::crypto::DataKey::generate_base64()),
    )
    .unwrap();
    let refused = create("during-a-mix-up", sealed_body.clone()).await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.body
    );
    let said = refused.body["error"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(said.contains("data key file"), "{said}");
    assert_eq!(reveal().await.status, StatusCode::OK);
    // A write that seals nothing goes on.
    let public = create("public-during-a-mix-up", service_body(org)).await;
    assert_eq!(public.status, StatusCode::CREATED, "{}", public.body);
    std::fs::write(&key_file, &ring_text).unwrap();
    assert_eq!(sealed_with("after-a-mix-up").await, new_id);

    // A create remembered from before key ids were kept may need any older key.
    diesel::sql_query("UPDATE idempotency_key SET key_id = NULL")
        .execute(&mut app.db.connect())
        .unwrap();
    settled(&key_file);
    let out = with_file().args(["keys", "retire"]).output().unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("do not say which key"), "{said}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A long import looks at its key file before each batch, as a running instance does: once
/// the file changed to one it cannot take (another deployment's), it seals nothing more and
/// stops, saying why.
#[test]
fn an_import_seals_nothing_once_its_key_file_is_one_it_cannot_take() {
    use diesel::prelude::*;
    use haven::crypto::{DataKeys, LiveKeys};
    let db = TestDb::new();
    let dir = std::env::temp_dir().join(format!("haven-keys-{}", uuid::Uuid::new_v4()));
    let key_file = dir.join("data.key");
    succeeds(
        haven(db.url.expose())
            .env_remove("HAVEN_DATA_KEY")
            .env("HAVEN_DATA_KEY_FILE", &key_file)
            .args(["seed", "demo"]),
    );
    let live = LiveKeys::from_file(
        DataKeys::load_or_create(&key_file).unwrap().0,
        key_file.clone(),
    );
    let mut conn = db.connect();
    let mut importer =
        haven::import::Importer::new(&mut conn, &live, haven::boundaries::Boundaries::bundled())
            .unwrap();
    let line = |name: &str| {
        json!({"organization_name": "Import Org", "name": name, "needs": ["shelter"],
            "phones": intake_phone(), "coverage": [{"type": "region", "code": "US-48201"}],
            "location": {"lat": 29.7612, "lon": -95.3702, "confidential": true,
                "address": {"street": "9 Unlisted Rd", "city": "Houston"}}})
        .to_string()
            + "\n"
    };
    let report = importer.run(&mut conn, line("Sealed Before").as_bytes(), 10, |_| ());
    assert_eq!(report.stopped, None);
    std::fs::write(
        &key_file,
        format!("{}\n", haven::crypto::DataKey::generate_base64()),
    )
    .unwrap();
    // A batch that seals nothing is written; the one that would seal stops the run.
    let public =
        json!({"organization_name": "Import Org", "name": "Sealed Not", "needs": ["shelter"],
        "coverage": [{"type": "region", "code": "US-48201"}]})
        .to_string()
            + "\n";
    let report = importer.run(&mut conn, public.as_bytes(), 10, |_| ());
    assert_eq!(report.stopped, None);
    let report = importer.run(&mut conn, line("Sealed After").as_bytes(), 10, |_| ());
    let stopped = report.stopped.unwrap_or_default();
    assert!(stopped.contains("could not be taken"), "{stopped}");
    assert!(
        stopped.contains("lines 1 to 1 were not written"),
        "{stopped}"
    );
    let names: Vec<String> = haven::db::schema::service::table
        .select(haven::db::schema::service::name)
        .filter(haven::db::schema::service::name.like("Sealed %"))
        .order(haven::db::schema::service::name)
        .load(&mut conn)
        .unwrap();
    assert_eq!(names, ["Sealed Before", "Sealed Not"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A command pointed at the wrong key (a key file missing from where it is looked for, or
/// other keys in the environment) refuses to run when stored addresses were sealed with a
/// key it does not hold, instead of sealing new ones with a fresh key; and leaves no new key
/// file behind.
#[test]
fn commands_refuse_keys_that_cannot_open_the_stored_addresses() {
    let db = TestDb::new();
    let dir = std::env::temp_dir().join(format!("haven-keys-{}", uuid::Uuid::new_v4()));
    let with_file = |file: &std::path::Path| {
        let mut cmd = haven(db.url.expose());
        cmd.env_remove("HAVEN_DATA_KEY")
            .env("HAVEN_DATA_KEY_FILE", file);
        cmd
    };
    let key_file = dir.join("data.key");
    let succeeds = |args: &[&str]| {
        let out = with_file(&key_file).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    succeeds(&["seed", "demo"]);
    let sealing = haven::crypto::DataKeys::load_or_create(&key_file)
        .unwrap()
        .0
        .current()
        .id()
        .to_string();

    let elsewhere = dir.join("elsewhere").join("data.key");
    for args in [
        &["seed", "hotlines"][..],
        &["serve", "--bind", "127.0.0.1:0"][..],
    ] {
        let out = with_file(&elsewhere).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr.contains(&format!("sealed with data key {sealing}")),
            "{stderr}"
        );
        assert!(!elsewhere.exists(), "{args:?} left a new key file");
    }
    // Other keys in the environment: the same refusal.
    let out = haven(db.url.expose())
        .args(["seed", "hotlines"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("HAVEN_DATA_KEY does not hold"));
    // The right key file still works.
    succeeds(&["seed", "hotlines"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// An app whose data key (returned, for the commands run beside it) sealed the one service it
/// holds, at 9 Unlisted Rd, Houston (29.7612, -95.3702), with `coverage` and an intake phone:
/// the app, the key, the service's organization and its id.
async fn app_with_a_sealed_service(
    coverage: serde_json::Value,
) -> (crate::helpers::TestApp, String, uuid::Uuid, uuid::Uuid) {
    let key = haven::crypto::DataKey::generate_base64();
    let app = spawn_app_with(TestDb::new(), |s| {
        s.data_key = haven::crypto::LiveKeys::fixed(haven::crypto::DataKeys::parse(&key).unwrap());
    })
    .await;
    let org = app.create_organization("Unlisted House").await;
    let mut body = service_body(org);
    body["phones"] = intake_phone();
    body["location"] = json!({"lat": 29.7612, "lon": -95.3702, "confidential": true,
        "address": {"street": "9 Unlisted Rd", "city": "Houston"}});
    body["coverage"] = coverage;
    let res = app.create_service(&body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_str().unwrap().parse().unwrap();
    (app, key, org, id)
}

/// An import line that replaces a service by id and gives no `location` keeps a confidential
/// one, as `PUT` does: no read shows a sealed address, so no export carries it, and a file
/// imported again would delete every shelter's front door. The line is checked against the
/// site kept: without an intake phone, or with a radius centred on it, its batch is refused
/// by line number and field, naming no place.
#[tokio::test]
async fn import_by_id_keeps_a_sealed_site_its_line_leaves_out() {
    let (app, key, org, id) =
        app_with_a_sealed_service(json!([{"type": "region", "code": "US-48201"}])).await;

    let line = |name: &str, phones: serde_json::Value, coverage: serde_json::Value| {
        json!({"id": id, "organization_id": org, "name": name, "needs": ["shelter"],
            "phones": phones, "coverage": coverage})
        .to_string()
    };
    let region = json!([{"type": "region", "code": "US-48201"}]);
    let import = |lines: &[String]| {
        let mut command = haven(app.db.url.expose());
        command.env("HAVEN_DATA_KEY", &key);
        import_file_with(command, lines.join("\n").as_bytes(), 100)
    };
    let new_line = json!({"organization_id": org, "name": "Walk-in Desk", "needs": ["shelter"],
        "coverage": region})
    .to_string();
    let sealed_rows = || app.db.count("location");

    // No intake phone: the batch (a good new line with it) is not written.
    let (ok, _, stderr) = import(&[new_line.clone(), line("No Door", json!([]), region.clone())]);
    assert!(!ok);
    assert!(
        stderr.contains("line 2: phones: a service at a confidential location needs"),
        "{stderr}"
    );
    assert!(stderr.contains("keeps its stored one"), "{stderr}");
    // A radius centred on the site kept.
    let (ok, _, stderr) = import(&[line(
        "Drawn Around",
        intake_phone(),
        json!([{"type": "radius", "center": {"lat": 29.7612, "lon": -95.3702}, "radius_km": 20}]),
    )]);
    assert!(!ok);
    assert!(
        stderr.contains("line 1: coverage[0].center: is within 5 km of the confidential location"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("29.76") && !stderr.contains("95.37"),
        "{stderr}"
    );
    // Moved to another organization, whose staff could then reveal it.
    let other = app.create_organization("Other House").await;
    let moved =
        line("Moved", intake_phone(), region.clone()).replace(&org.to_string(), &other.to_string());
    let (ok, _, stderr) = import(&[moved]);
    assert!(!ok);
    assert!(
        stderr.contains("line 1: organization_id: this service is at a confidential location"),
        "{stderr}"
    );
    assert_eq!(
        app.db.count("service"),
        1,
        "nothing of a refused batch is written"
    );

    let (ok, stdout, stderr) = import(&[new_line, line("Renamed House", intake_phone(), region)]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("imported 2 of 2 services (1 replaced by id"),
        "{stdout}"
    );
    let res = app
        .admin(
            reqwest::Method::GET,
            &format!("/api/v1/services/{id}"),
            None,
        )
        .await;
    assert_eq!(res.body["name"], "Renamed House");
    assert_eq!(res.body["location"]["confidential"], true, "{}", res.body);
    assert_eq!(sealed_rows(), 1);

    // The service as GET answers it, an export's line, is taken as a PUT takes it: what
    // only a read has set aside, the location as read standing for the sealed one.
    let mut read = res.body.clone();
    read["name"] = json!("Renamed From Its Export");
    let (ok, _, stderr) = import(&[read.to_string()]);
    assert!(ok, "{stderr}");
    let res = app
        .admin(
            reqwest::Method::GET,
            &format!("/api/v1/services/{id}"),
            None,
        )
        .await;
    assert_eq!(res.body["name"], "Renamed From Its Export");
    assert_eq!(sealed_rows(), 1);
    // An address changed without coordinates would be lost: refused, by line.
    read["location"]["address"]["city"] = json!("Pasadena");
    let (ok, _, stderr) = import(&["".to_string(), read.to_string()]);
    assert!(!ok);
    assert!(
        stderr.contains("line 2: location.lat: is required"),
        "{stderr}"
    );
    // A location as read stands only for a sealed one stored.
    let public = app.create_service(&service_body(org)).await;
    let mut as_read = public.body.clone();
    as_read["location"] = json!({"confidential": true, "address": {"city": "Houston"}});
    let (ok, _, stderr) = import(&[as_read.to_string()]);
    assert!(!ok);
    assert!(
        stderr.contains("line 1: location.lat: is required"),
        "{stderr}"
    );
}

/// Coverage drawn around a sealed site before writes refused it is found by `haven check
/// confidential`: by service id and field, never a location, with a non-zero exit. A clean
/// directory passes.
#[tokio::test]
async fn check_confidential_finds_stored_coverage_drawn_around_a_sealed_site() {
    use diesel::RunQueryDsl;

    let (app, key, _, id) = app_with_a_sealed_service(json!([
        {"type": "region", "code": "US-48201"},
        {"type": "radius", "center": {"lat": 29.80, "lon": -95.42}, "radius_km": 40}
    ]))
    .await;
    let check = || {
        let out = haven(app.db.url.expose())
            .env("HAVEN_DATA_KEY", &key)
            .args(["check", "confidential"])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (passed, printed) = check();
    assert!(passed, "{printed}");
    assert!(
        printed.contains("1 confidential services checked; 0"),
        "{printed}"
    );

    // Changes `id`'s rows as if written before a rule existed.
    let before_the_rule = |sql: &str| {
        diesel::sql_query(sql)
            .bind::<diesel::sql_types::Uuid, _>(id)
            .execute(&mut app.db.connect())
            .unwrap();
    };
    // The circle's centre on the site itself.
    before_the_rule(
        "UPDATE coverage SET spec = jsonb_set(spec, '{center}', '{\"lat\": 29.7612, \"lon\": -95.3702}') \
         WHERE service_id = $1 AND position = 1",
    );
    let (passed, printed) = check();
    assert!(!passed, "{printed}");
    assert!(
        printed.starts_with(&format!("{id} coverage[1].center\n")),
        "{printed}"
    );
    assert!(
        !printed.contains("29.76") && !printed.contains("95.37"),
        "{printed}"
    );
    // No intake phone left.
    before_the_rule("DELETE FROM phone WHERE service_id = $1");
    let (passed, printed) = check();
    assert!(!passed, "{printed}");
    assert!(
        printed.starts_with(&format!("{id} coverage[1].center\n{id} phones\n")),
        "{printed}"
    );
}

/// A command that acts on a directory already there refuses a database that is not, where
/// it used to create it: a mistyped name put a token, a user or an import in an empty
/// database no instance serves, and said nothing.
#[test]
fn account_commands_refuse_a_database_that_does_not_exist() {
    let db = TestDb::new();
    let typo = db.url.with_database(&format!("{}_typo", db.name));
    for args in [
        &["token", "create", "--role", "admin", "--label", "ops"][..],
        &["user", "list"][..],
        &["token", "list"][..],
        &["check", "confidential"][..],
    ] {
        let out = haven(typo.expose()).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr.contains("there is no database") && stderr.contains("_typo"),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: no token printed");
    }
    let exists: bool = {
        use diesel::prelude::*;
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{}_typo')",
            db.name
        )))
        .get_result(&mut db.connect())
        .unwrap()
    };
    assert!(!exists, "nothing was created");
}
