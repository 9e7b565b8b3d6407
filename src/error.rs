//! The one error type of the HTTP API and its JSON envelope:
//! `{"error": {"code": "...", "message": "...", "field": "..."}}`.
//!
//! 4xx bodies say what to fix; 5xx bodies say nothing internal. Every error carries a
//! correlation id (SAFETY.md rule 14); a 5xx's cause is logged once, with that id, where the
//! error is turned into a response.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request body: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported content type")]
    UnsupportedMediaType,
    #[error("the request body did not all arrive within {secs} s")]
    BodyTimeout { secs: u64 },
    #[error("authentication required")]
    Unauthorized,
    #[error("not allowed for this role")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    /// A write's `If-Match` names a version the object is no longer at.
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// Postgres is unreachable or the pool is exhausted.
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// The data key file changed and could not be taken (why): nothing is sealed until an
    /// operator puts it right (`LiveKeys::for_sealing`).
    #[error("the data key file is not taken: {0}")]
    KeysNotTaken(String),
    /// The matching index has not finished its first load: normal for a few seconds after
    /// start, so nothing is logged.
    #[error("matching index not loaded yet")]
    IndexLoading,
    /// Too many password checks at once (they are bounded to one per core).
    #[error("password hashing is saturated")]
    SignInBusy,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// Every error answer.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorEnvelope)]
pub(crate) struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub(crate) struct Body<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// Names this answer in the server's log: the 5xx line with its cause, and at `debug`
    /// the request line of any error.
    correlation_id: &'a str,
}

/// An error answer's correlation id, left in the response for the request log line.
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

/// How long a client should wait before retrying a 503.
const RETRY_AFTER_SECONDS: &str = "5";

impl ApiError {
    pub fn code(&self) -> &str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::BodyTimeout { .. } => "request_timeout",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PreconditionFailed(_) => "precondition_failed",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::Invalid(e) => e.code,
            ApiError::Unavailable(_)
            | ApiError::KeysNotTaken(_)
            | ApiError::IndexLoading
            | ApiError::SignInBusy => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The `Retry-After` this refusal carries (429 and 503), whether it is answered as JSON
    /// or as a page.
    pub fn retry_after(&self) -> Option<HeaderValue> {
        match self {
            ApiError::TooManyRequests { retry_after_secs } => {
                Some(HeaderValue::from((*retry_after_secs).max(1)))
            }
            _ if self.status_code() == StatusCode::SERVICE_UNAVAILABLE => {
                Some(HeaderValue::from_static(RETRY_AFTER_SECONDS))
            }
            _ => None,
        }
    }

    fn public_message(&self) -> String {
        match self {
            ApiError::UnsupportedMediaType => {
                "the request body must be JSON sent with Content-Type: application/json".into()
            }
            ApiError::Unauthorized => {
                "missing, invalid or expired credentials: sign in, or send Authorization: Bearer <token>".into()
            }
            ApiError::Forbidden => "your role may not do this".into(),
            ApiError::TooManyRequests { retry_after_secs } => {
                format!("too many requests; try again in {retry_after_secs} s")
            }
            ApiError::Unavailable(_) => {
                "the directory database is unavailable; try again shortly".into()
            }
            ApiError::IndexLoading => {
                "the directory is still loading after a restart; try again in a few seconds".into()
            }
            ApiError::KeysNotTaken(_) => {
                "confidential addresses cannot be sealed, or opened past the keys held, just now: the data key file changed and could not be taken; an operator must put it right (the instance's log says why); other changes can be saved".into()
            }
            ApiError::SignInBusy => "too many sign-ins at once; try again shortly".into(),
            ApiError::Internal(_) => "something went wrong on our side".into(),
            ApiError::Invalid(e) => e.message.clone(),
            other => other.to_string(),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            // The connection broke, or Postgres cancelled a statement that ran or waited for
            // a lock too long (the request pool bounds both): try again, not a bug.
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => ApiError::Unavailable(e.into()),
            Error::DatabaseError(_, info)
                if info.message().starts_with("canceling statement due to") =>
            {
                ApiError::Unavailable(e.into())
            }
            _ => ApiError::Internal(e.into()),
        }
    }
}

impl From<diesel::r2d2::PoolError> for ApiError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        ApiError::Unavailable(e.into())
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_)
            | ApiError::KeysNotTaken(_)
            | ApiError::IndexLoading
            | ApiError::SignInBusy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let correlation_id = uuid::Uuid::new_v4().simple().to_string();
        match self {
            // The cause is ours (database, pool, task), never request content.
            ApiError::Unavailable(cause) => {
                tracing::warn!(correlation_id = %correlation_id, error = %format!("{cause:#}"), "request refused: unavailable");
            }
            ApiError::Internal(cause) => {
                tracing::error!(correlation_id = %correlation_id, error = %format!("{cause:#}"), "request failed");
            }
            ApiError::KeysNotTaken(why) => {
                tracing::warn!(correlation_id = %correlation_id, why = %why, "request refused: the data key file is not taken");
            }
            _ => {}
        }
        let field = match self {
            ApiError::Invalid(e) => Some(e.field.as_str()),
            _ => None,
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Some(seconds) = self.retry_after() {
            response.insert_header((header::RETRY_AFTER, seconds));
        }
        if matches!(self, ApiError::Unauthorized) {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        let mut response = response.json(Envelope {
            error: Body {
                code: self.code(),
                message: self.public_message(),
                field,
                correlation_id: &correlation_id,
            },
        });
        response
            .extensions_mut()
            .insert(CorrelationId(correlation_id));
        response
    }
}
