//! Configuration, from the environment (or flags) with safe defaults for local use.

use std::fmt;
use std::path::PathBuf;

use crate::auth::Role;
use crate::client_ip::TrustedProxies;
use crate::crypto::{DataKeys, KeyError, LiveKeys};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/haven";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_KEY_FILE: &str = ".haven/data.key";
pub const DEFAULT_CELL_KM: f64 = 1.0;

/// libpq settings every connection gets unless its URL says otherwise: keepalive probes after
/// 30 s idle, every 10 s, 3 unanswered ones close the connection; data unacknowledged for 10 s
/// closes it; connecting gives up after 10 s. None of them bounds a slow query.
const NETWORK_DEFAULTS: [(&str, &str); 6] = [
    ("keepalives", "1"),
    ("keepalives_idle", "30"),
    ("keepalives_interval", "10"),
    ("keepalives_count", "3"),
    ("tcp_user_timeout", "10000"),
    ("connect_timeout", "10"),
];

/// A Postgres URL. `Display` shows host, port and database only, never the password.
#[derive(Clone)]
pub struct DatabaseUrl(url::Url);

impl DatabaseUrl {
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| format!("DATABASE_URL is not a URL: {e}"))?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err("DATABASE_URL must start with postgres://".into());
        }
        if url.path().trim_start_matches('/').is_empty() {
            return Err(
                "DATABASE_URL must name a database, as in postgres://host:5432/haven".into(),
            );
        }
        Ok(DatabaseUrl(url))
    }

    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// The URL libpq is given: with TCP keepalives, a bound on unacknowledged data and on
    /// connecting, unless the URL sets its own, so that a connection whose network went
    /// silent fails in seconds instead of after the kernel's quarter of an hour (SAFETY.md
    /// rule 19). The index follower then reconnects, and stuck pool connections give way.
    pub fn for_libpq(&self) -> String {
        let mut url = self.0.clone();
        let given: Vec<String> = url
            .query_pairs()
            .map(|(name, _)| name.into_owned())
            .collect();
        let missing: Vec<_> = NETWORK_DEFAULTS
            .iter()
            .filter(|(name, _)| !given.iter().any(|g| g == name))
            .collect();
        if !missing.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in missing {
                pairs.append_pair(name, value);
            }
        }
        url.into()
    }

    pub fn database_name(&self) -> String {
        self.0.path().trim_start_matches('/').to_string()
    }

    /// The same server, another database (used to create or drop databases).
    pub fn with_database(&self, name: &str) -> DatabaseUrl {
        let mut url = self.0.clone();
        url.set_path(&format!("/{name}"));
        DatabaseUrl(url)
    }

    pub fn host_and_port(&self) -> String {
        format!(
            "{}:{}",
            self.0.host_str().unwrap_or("localhost"),
            self.0.port().unwrap_or(5432)
        )
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host_and_port(), self.database_name())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Where the data keys come from: `HAVEN_DATA_KEY` (base64 keys, newest first, separated by
/// newlines or commas) wins over `HAVEN_DATA_KEY_FILE` (one key per line, newest first).
#[derive(Clone)]
pub enum DataKeySource {
    Inline(String),
    File(PathBuf),
}

impl fmt::Debug for DataKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataKeySource::Inline(_) => write!(f, "Inline([redacted])"),
            DataKeySource::File(path) => write!(f, "File({})", path.display()),
        }
    }
}

impl DataKeySource {
    pub fn load(&self) -> Result<DataKeys, KeyError> {
        match self {
            DataKeySource::Inline(text) => DataKeys::parse(&text.replace(',', "\n")),
            DataKeySource::File(path) => {
                let (key, created) = DataKeys::load_or_create(path)?;
                if created {
                    tracing::warn!(path = %path.display(), key_id = key.current().id(), "created a new data key; back it up: confidential addresses cannot be read without it");
                }
                Ok(key)
            }
        }
    }

    /// `keys` (loaded from here) as a running instance holds them: read again when their
    /// file changes.
    pub fn live(&self, keys: DataKeys) -> LiveKeys {
        match self {
            DataKeySource::Inline(_) => LiveKeys::fixed(keys),
            DataKeySource::File(path) => LiveKeys::from_file(keys, path.clone()),
        }
    }
}

/// What the HTTP application needs to run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub bind: String,
    pub workers: usize,
    pub pool_size: u32,
    pub data_key: LiveKeys,
    /// Grid (km) anonymous coordinates are snapped to before use.
    pub cell_km: f64,
    /// Requests an anonymous client may make a minute; 0 turns the limit off.
    pub rate_limit_per_minute: u32,
    /// Roles besides a provider's own staff that may reveal confidential addresses
    /// (`HAVEN_REVEAL_ROLES`: hotline, caseworker). Empty by default.
    pub reveal_roles: Vec<Role>,
    /// Where the pages' Quick exit (and Esc) go.
    pub quick_exit_url: String,
    /// Proxies whose `X-Forwarded-For` names the client (for rate limits).
    pub trusted_proxies: TrustedProxies,
}

pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 120;

/// Parses `HAVEN_REVEAL_ROLES`: a comma-separated list of `hotline` and `caseworker`.
pub fn parse_reveal_roles(text: &str) -> Result<Vec<Role>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|code| match Role::from_code(code) {
            Some(role @ (Role::Hotline | Role::Caseworker)) => Ok(role),
            _ => Err(format!(
                "HAVEN_REVEAL_ROLES may list hotline and caseworker only, not {code:?}"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_gets_network_bounds_unless_the_url_sets_its_own() {
        let url = DatabaseUrl::parse("postgres://u:secret@db.example:6432/haven").unwrap();
        let given = url.for_libpq();
        for (name, value) in NETWORK_DEFAULTS {
            assert!(given.contains(&format!("{name}={value}")), "{given}");
        }
        assert!(given.starts_with("postgres://u:secret@db.example:6432/haven?"));

        let url =
            DatabaseUrl::parse("postgres://db.example/haven?sslmode=require&tcp_user_timeout=3000")
                .unwrap();
        let given = url.for_libpq();
        assert!(given.contains("sslmode=require"), "{given}");
        assert_eq!(given.matches("tcp_user_timeout").count(), 1, "{given}");
        assert!(given.contains("tcp_user_timeout=3000"), "{given}");
        assert!(given.contains("keepalives_idle=30"), "{given}");
    }
}
