//! Who is calling. API tokens (for programs, `haven token create`) and sessions (for people,
//! `POST /api/v1/session`) are random 256-bit secrets shown once; only their SHA-256 is stored
//! (a fast hash is right for random secrets of this size). `routes::gate` resolves the caller
//! of every request and checks the route's access rule; handlers take [`Caller`] or
//! [`Signed`] and check objects against [`Principal::scope`].

pub mod password;

use std::fmt;
use std::future::{Ready, ready};
use std::time::Duration;

use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::{accounts, tokens};
use crate::error::ApiError;
use crate::startup::AppState;

const TOKEN_PREFIX: &str = "hvn_";
const SESSION_PREFIX: &str = "hvs_";
/// Random bytes in a token or session, and their length once encoded.
const SECRET_BYTES: usize = 32;
const SECRET_CHARS: usize = SECRET_BYTES.div_ceil(3) * 4 - 1;

/// The session cookie where browsers enforce the `__Host-` rules (HTTPS, no Domain, Path=/).
pub const SESSION_COOKIE: &str = "__Host-haven_session";
/// The session cookie on plain-HTTP localhost, where `Secure` cookies would not be sent back.
pub const LOCAL_SESSION_COOKIE: &str = "haven_session";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Hotline,
    Caseworker,
    Provider,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Hotline, Role::Caseworker, Role::Provider];

    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Hotline => "hotline",
            Role::Caseworker => "caseworker",
            Role::Provider => "provider",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// A token or session secret in clear: shown once, never logged (`Debug` redacts it).
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

impl Token {
    /// A new API token.
    pub fn generate() -> Result<Token, getrandom::Error> {
        Token::with_prefix(TOKEN_PREFIX)
    }

    /// A new session token.
    pub fn generate_session() -> Result<Token, getrandom::Error> {
        Token::with_prefix(SESSION_PREFIX)
    }

    fn with_prefix(prefix: &str) -> Result<Token, getrandom::Error> {
        let mut bytes = [0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Token(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> Vec<u8> {
        hash_token(&self.0)
    }
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    ApiToken { token_id: Uuid },
    Session { session_id: Uuid, user_id: Uuid },
}

/// A caller whose token or session checked out.
#[derive(Debug, Clone)]
pub struct Principal {
    pub credential: Credential,
    pub role: Role,
    pub organization_id: Option<Uuid>,
}

impl Principal {
    /// Who acted, as the audit trail records it: a user (signed in) or an API token.
    pub fn actor(&self) -> (Option<Uuid>, Option<Uuid>) {
        match self.credential {
            Credential::Session { user_id, .. } => (Some(user_id), None),
            Credential::ApiToken { token_id } => (None, Some(token_id)),
        }
    }
}

/// Which part of the directory a principal may see and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Everything,
    Organization(Uuid),
}

impl Scope {
    /// The organization filter to put in the query that loads an object.
    pub fn organization(self) -> Option<Uuid> {
        match self {
            Scope::Everything => None,
            Scope::Organization(id) => Some(id),
        }
    }

    pub fn allows(self, organization_id: Uuid) -> bool {
        self.organization().is_none_or(|own| own == organization_id)
    }
}

impl Principal {
    /// Providers act for their own organization only; everyone else on the whole directory
    /// (what they may do there is the route table's business).
    pub fn scope(&self) -> Scope {
        match (self.role, self.organization_id) {
            (Role::Provider, Some(org)) => Scope::Organization(org),
            // A provider without an organization cannot exist (CHECK constraints); if one did,
            // it would see nothing.
            (Role::Provider, None) => Scope::Organization(Uuid::nil()),
            _ => Scope::Everything,
        }
    }
}

/// A secret as the client sent it.
#[derive(Clone)]
pub enum Presented {
    Bearer(String),
    Cookie(String),
}

impl fmt::Debug for Presented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Presented::Bearer(_) => "Bearer([redacted])",
            Presented::Cookie(_) => "Cookie([redacted])",
        })
    }
}

impl Presented {
    fn secret(&self) -> &str {
        match self {
            Presented::Bearer(s) | Presented::Cookie(s) => s,
        }
    }
}

/// Whether the request came to this host as plain-HTTP localhost (development and tests), where
/// the session cookie cannot be `Secure`.
pub fn is_local_http(req: &HttpRequest) -> bool {
    let info = req.connection_info();
    let host = info.host();
    let name = host
        .strip_prefix('[')
        .and_then(|h| h.split_once(']'))
        .map_or_else(|| host.split(':').next().unwrap_or(host), |(h, _)| h);
    info.scheme() == "http" && matches!(name, "localhost" | "127.0.0.1" | "::1")
}

pub fn session_cookie_name(req: &HttpRequest) -> &'static str {
    if is_local_http(req) {
        LOCAL_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The token or session the request carries: `Authorization: Bearer` first, then the session
/// cookie of this kind of host.
pub fn presented(req: &HttpRequest) -> Option<Presented> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string())
            .filter(|t| !t.is_empty())
            .map(Presented::Bearer);
    }
    req.cookie(session_cookie_name(req))
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
        .map(Presented::Cookie)
}

/// Whether `secret` has the shape of a token or session Haven makes: a prefix, then 32 random
/// bytes in unpadded URL-safe base64. Anything else cannot be one, and is refused without
/// asking Postgres.
fn well_formed(secret: &str) -> bool {
    let Some(random) = secret
        .strip_prefix(TOKEN_PREFIX)
        .or_else(|| secret.strip_prefix(SESSION_PREFIX))
    else {
        return false;
    };
    random.len() == SECRET_CHARS
        && random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Looks up the principal behind a presented secret, within `deadline` (503 past it). Unknown,
/// revoked or expired: 401.
pub async fn resolve(
    state: &AppState,
    presented: &Presented,
    deadline: Duration,
) -> Result<Principal, ApiError> {
    let secret = presented.secret();
    if !well_formed(secret) {
        return Err(ApiError::Unauthorized);
    }
    let hash = hash_token(secret);
    if secret.starts_with(SESSION_PREFIX) {
        let session = state
            .db_within(deadline, move |conn| {
                Ok(accounts::touch_session(conn, &hash)?)
            })
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let role = known_role(&session.role)?;
        Ok(Principal {
            credential: Credential::Session {
                session_id: session.session_id,
                user_id: session.user_id,
            },
            role,
            organization_id: session.organization_id,
        })
    } else {
        let row = state
            .db_within(deadline, move |conn| Ok(tokens::find_active(conn, &hash)?))
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Principal {
            credential: Credential::ApiToken { token_id: row.id },
            role: known_role(&row.role)?,
            organization_id: row.organization_id,
        })
    }
}

fn known_role(code: &str) -> Result<Role, ApiError> {
    Role::from_code(code)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stored role is not one Haven knows")))
}

/// Whoever `routes::gate` found behind the request: `None` for anonymous callers.
#[derive(Debug, Clone)]
pub struct Caller(pub Option<Principal>);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        // Without the gate's verdict the caller is anonymous: deny by default.
        let caller = req.extensions().get::<Caller>().cloned();
        ready(Ok(caller.unwrap_or(Caller(None))))
    }
}

/// A signed-in caller; anonymous requests get 401.
#[derive(Debug, Clone)]
pub struct Signed(pub Principal);

impl FromRequest for Signed {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let principal = req.extensions().get::<Caller>().and_then(|c| c.0.clone());
        ready(principal.map(Signed).ok_or(ApiError::Unauthorized))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_redacted() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert!(a.expose().starts_with(TOKEN_PREFIX));
        assert!(well_formed(a.expose()));
        assert!(well_formed(Token::generate_session().unwrap().expose()));
        assert!(a.expose().len() >= 40);
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.hash(), b.hash());
        assert!(!format!("{a:?}").contains(&a.expose()[4..]));
    }

    #[test]
    fn only_secrets_of_the_made_shape_are_looked_up() {
        let made = Token::generate().unwrap().expose().to_string();
        let random = &made[TOKEN_PREFIX.len()..];
        assert!(well_formed(&format!("{SESSION_PREFIX}{random}")));
        for bad in [
            format!("hvx_{random}"),
            random.to_string(),
            format!("{TOKEN_PREFIX}{}", &random[1..]),
            format!("{made}A"),
            format!("{TOKEN_PREFIX}{}=", &random[1..]),
            format!("{TOKEN_PREFIX}{}é", &random[2..]),
            "hvn_guess".to_string(),
            String::new(),
        ] {
            assert!(!well_formed(&bad), "{bad}");
        }
    }
}
