//! `/api/v1/session`: people sign in with email and password and get a session, as a bearer
//! token in the body and, for the web console, an `HttpOnly`, `SameSite=Strict` cookie
//! (`__Host-` prefixed and `Secure` everywhere but plain-HTTP localhost).

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::password::{self, Password};
use crate::auth::{Credential, Principal, Role, Signed, Token, is_local_http, session_cookie_name};
use crate::db::accounts::{self, SESSION_ABSOLUTE_HOURS, SESSION_IDLE_MINUTES};
use crate::error::ApiError;
use crate::json::ValidJson;
use crate::startup::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    email: String,
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SessionResponse {
    token: String,
    role: Role,
    organization_id: Option<Uuid>,
    expires_at: DateTime<Utc>,
    idle_timeout_minutes: i64,
}

/// Lower-cased and trimmed: how emails are stored.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A session just opened, and who it signs in.
pub struct NewSession {
    pub token: Token,
    pub principal: Principal,
    pub expires_at: DateTime<Utc>,
}

/// Checks email and password and opens a session: what the API and the console sign-in share.
/// Wrong email, wrong password and disabled account all answer the same 401 after the same
/// work, so the answer does not say which accounts exist.
pub async fn sign_in(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    email: &str,
    password: String,
) -> Result<NewSession, ApiError> {
    let email = normalize_email(email);
    let offered = Password::offered(password);
    let attempt = state.throttles.login(ip, &email)?;
    let user = match check_password(state, email, offered).await {
        Ok(Some(user)) => user,
        Ok(None) => return Err(ApiError::Unauthorized),
        Err(error) => {
            state.throttles.not_judged(attempt);
            return Err(error);
        }
    };
    state.throttles.signed_in(attempt);
    let role = Role::from_code(&user.role)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("user has an unknown role")))?;
    let token = Token::generate_session()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness available: {e}")))?;
    let hash = token.hash();
    let user_id = user.id;
    let session_id = Uuid::new_v4();
    let checked = user.password_hash.clone();
    let created_at = state
        .db(move |conn| {
            Ok(accounts::insert_session(
                conn, session_id, &hash, user_id, &checked,
            )?)
        })
        .await?
        // The password changed, or the account was disabled, after it was checked.
        .ok_or(ApiError::Unauthorized)?;
    tracing::info!(user_id = %user.id, role = role.code(), "signed in");
    Ok(NewSession {
        token,
        principal: Principal {
            credential: Credential::Session {
                session_id,
                user_id,
            },
            role,
            organization_id: user.organization_id,
        },
        expires_at: created_at + chrono::Duration::hours(SESSION_ABSOLUTE_HOURS),
    })
}

/// The account `email` names, if it exists, is enabled and has `offered` for its password;
/// the same work whether or not it exists.
async fn check_password(
    state: &AppState,
    email: String,
    offered: Password,
) -> Result<Option<accounts::UserRow>, ApiError> {
    let user = state
        .db(move |conn| Ok(accounts::find_user_by_email(conn, &email)?))
        .await?;
    let stored = user.as_ref().map_or_else(
        || password::decoy_hash().to_string(),
        |u| u.password_hash.clone(),
    );
    let matches = password::run_bounded(move || password::verify(&offered, &stored)).await?;
    Ok(user.filter(|user| matches && user.disabled_at.is_none()))
}

/// The session cookie for `token` (empty and expired: the cookie that removes it).
pub fn session_cookie(req: &HttpRequest, token: Option<&Token>) -> Cookie<'static> {
    let mut cookie = Cookie::build(
        session_cookie_name(req),
        token.map_or_else(String::new, |t| t.expose().to_string()),
    )
    .path("/")
    .http_only(true)
    .secure(!is_local_http(req))
    .same_site(SameSite::Strict)
    .max_age(time::Duration::hours(SESSION_ABSOLUTE_HOURS))
    .finish();
    if token.is_none() {
        cookie.make_removal();
    }
    cookie
}

/// Ends the caller's session, if the credential is one. Returns false for API tokens.
pub async fn end(state: &AppState, credential: Credential) -> Result<bool, ApiError> {
    let Credential::Session { session_id, .. } = credential else {
        return Ok(false);
    };
    state
        .db(move |conn| Ok(accounts::end_session(conn, session_id)?))
        .await?;
    Ok(true)
}

/// `POST /api/v1/session`.
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: ValidJson<SignIn>,
) -> Result<HttpResponse, ApiError> {
    let SignIn { email, password } = body.0;
    let session = sign_in(&state, state.client_ip(&req), &email, password).await?;
    Ok(HttpResponse::Created()
        .cookie(session_cookie(&req, Some(&session.token)))
        .json(SessionResponse {
            token: session.token.expose().to_string(),
            role: session.principal.role,
            organization_id: session.principal.organization_id,
            expires_at: session.expires_at,
            idle_timeout_minutes: SESSION_IDLE_MINUTES,
        }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct WhoAmI {
    kind: &'static str,
    role: Role,
    organization_id: Option<Uuid>,
}

/// `GET /api/v1/session`: who the credentials belong to.
pub async fn show(Signed(caller): Signed) -> HttpResponse {
    let kind = match caller.credential {
        Credential::Session { .. } => "session",
        Credential::ApiToken { .. } => "api_token",
    };
    HttpResponse::Ok().json(WhoAmI {
        kind,
        role: caller.role,
        organization_id: caller.organization_id,
    })
}

/// `DELETE /api/v1/session`: signs out; the session stops working at once.
pub async fn delete(
    req: HttpRequest,
    Signed(caller): Signed,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if !end(&state, caller.credential).await? {
        return Err(ApiError::BadRequest(
            "API tokens are revoked with `haven token revoke`; this ends sessions only".into(),
        ));
    }
    Ok(HttpResponse::NoContent()
        .cookie(session_cookie(&req, None))
        .finish())
}
