//! The `haven` binary itself.

use std::process::Command;

use reqwest::StatusCode;

use crate::helpers::{TestDb, into_response};

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
    let live = app.live();
    tokio::spawn(app.run());
    let res = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/v1/organizations"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(into_response(res).await.status, StatusCode::OK);
    live.stop();
    live.stop();

    let out = haven(db.url.expose())
        .args(["token", "create", "--role", "provider", "--label", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--org"));
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
