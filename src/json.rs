//! `ValidJson<T, LIMIT>`: a JSON body extractor whose errors say what is wrong and where.
//!
//! Wrong content type: 415. More than `LIMIT` bytes: 413 (checked before reading when the
//! client declares a length). Not JSON: 400. JSON of the wrong shape (missing, unknown or
//! mistyped members): 422 with the path of the member, such as `coverage[0].radius_km`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt as _;
use serde::de::DeserializeOwned;

use crate::domain::FieldError;
use crate::error::ApiError;

/// Default body limit for API writes.
pub const DEFAULT_LIMIT: usize = 64 * 1024;
/// For bodies that may carry GeoJSON areas (admin service writes).
pub const GEOMETRY_LIMIT: usize = 4 * 1024 * 1024;

pub struct ValidJson<T, const LIMIT: usize = DEFAULT_LIMIT>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.essence_str() == "application/json" || m.suffix().is_some_and(|s| s == "json")
        })
}

/// Syntax first (400), then shape (422 with the member's path).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            String::new()
        } else {
            path.replace(".[", "[")
        };
        ApiError::Invalid(FieldError::invalid(field, e.into_inner().to_string()))
    })
}

impl<T: DeserializeOwned + 'static, const LIMIT: usize> FromRequest for ValidJson<T, LIMIT> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(ApiError::UnsupportedMediaType);
            }
            if declared.is_some_and(|len| len > LIMIT) {
                return Err(ApiError::PayloadTooLarge { limit: LIMIT });
            }
            let mut body = web_bytes(declared.unwrap_or(0).min(LIMIT));
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::BadRequest(format!("could not read the request body: {e}"))
                })?;
                if body.len() + chunk.len() > LIMIT {
                    return Err(ApiError::PayloadTooLarge { limit: LIMIT });
                }
                body.extend_from_slice(&chunk);
            }
            if body.is_empty() {
                return Err(ApiError::MalformedJson("the request body is empty".into()));
            }
            parse_json(&body).map(ValidJson)
        })
    }
}

fn web_bytes(capacity: usize) -> Vec<u8> {
    Vec::with_capacity(capacity)
}
