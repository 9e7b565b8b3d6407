//! API tokens and the caller extractors routes use to say who may call them.
//!
//! A token is 256 random bits shown once; only its SHA-256 is stored (a fast hash is right for
//! random secrets of this size). A missing or unknown token answers 401; a valid token of the
//! wrong role 403.

use std::fmt;
use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::tokens;
use crate::error::ApiError;
use crate::startup::AppState;

const TOKEN_PREFIX: &str = "hvn_";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// A bearer token in clear: shown once, never logged (`Debug` redacts it).
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

impl Token {
    pub fn generate() -> Result<Token, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Token(format!(
            "{TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(bytes)
        )))
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

/// Whoever presented a valid token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: Uuid,
    pub role: Role,
    pub organization_id: Option<Uuid>,
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// Whether the request carries a bearer token at all.
pub fn has_bearer(req: &HttpRequest) -> bool {
    bearer(req).is_some()
}

pub async fn authenticate(req: HttpRequest) -> Result<Principal, ApiError> {
    let token = bearer(&req).ok_or(ApiError::Unauthorized)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
    let hash = hash_token(&token);
    let row = state
        .db(move |conn| Ok(tokens::find_active(conn, &hash)?))
        .await?;
    let row = row.ok_or(ApiError::Unauthorized)?;
    let role = Role::from_code(&row.role)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("token {} has unknown role", row.id)))?;
    Ok(Principal {
        token_id: row.id,
        role,
        organization_id: row.organization_id,
    })
}

/// Route middleware: lets through only callers with an admin token, and leaves the
/// [`Principal`] in the request for handlers. Running before the handler's extractors means
/// a caller without the right token learns nothing about the body it sent.
pub async fn require_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let principal = authenticate(req.request().clone()).await?;
    if principal.role != Role::Admin {
        return Err(ApiError::Forbidden.into());
    }
    req.extensions_mut().insert(principal);
    next.call(req).await
}

/// A caller that [`require_admin`] let through. A handler taking `Admin` on a route without
/// that middleware refuses every call: deny by default.
#[derive(Debug, Clone)]
pub struct Admin(pub Principal);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let principal = req.extensions().get::<Principal>().cloned();
        ready(match principal {
            Some(p) if p.role == Role::Admin => Ok(Admin(p)),
            _ => Err(ApiError::Unauthorized),
        })
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
        assert!(a.expose().len() >= 40);
        assert_ne!(a.expose(), b.expose());
        assert_ne!(a.hash(), b.hash());
        assert!(!format!("{a:?}").contains(&a.expose()[4..]));
    }
}
