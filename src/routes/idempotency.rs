//! `Idempotency-Key` on the routes that create (SAFETY.md rule 18): a create sent again with
//! the same key gets the first answer, not a second copy of what it made, and the same key
//! with another request gets 422. Keys belong to their caller (the API token, or the
//! signed-in user), are kept only as hashes, and are remembered for a day. The request's
//! hash is keyed from the data key: a create's body may hold a sealed address, and a plain
//! hash of it in Postgres would let a copy of the database confirm a guessed one.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use diesel::{Connection, PgConnection};
use hmac::Mac;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{Caller, Credential, Principal};
use crate::crypto::{DataKey, DataKeys};
use crate::db::idempotency::{self, Stored};
use crate::domain::FieldError;
use crate::error::ApiError;
use crate::json::{DEFAULT_LIMIT, json_body};
use crate::startup::AppState;

pub const HEADER: &str = "Idempotency-Key";
/// Set on an answer that repeats an earlier one.
pub const REPLAYED_HEADER: &str = "Idempotent-Replayed";
/// Room for a UUID, a ULID or any client's own scheme.
const LONGEST_KEY: usize = 255;

/// A create route's JSON body (as [`crate::json::ValidJson`] reads it), with the request's
/// idempotency key when it sent one.
pub struct CreateJson<T, const LIMIT: usize = DEFAULT_LIMIT> {
    pub body: T,
    pub key: Option<IdempotencyKey>,
}

/// A request's key, as hashes, and whose it is.
pub struct IdempotencyKey {
    owner: Uuid,
    key_hash: Vec<u8>,
    /// Of the method, path and body (its JSON with members in order, so a retry need not
    /// send the same bytes), keyed ([`DataKey::keyed_hash`]): what "the same request" means.
    /// One per data key held, the current key's first (the one stored): a retry after
    /// `haven keys rotate` still matches the hash its first try stored with the older key.
    request_hashes: Vec<Vec<u8>>,
    /// The id of the key the first hash is keyed with (kept with it, so that the key is not
    /// retired while the create is remembered).
    data_key_id: String,
}

/// The key's hash, if the request sent one: 1 to 255 printable ASCII characters.
fn key_hash(req: &HttpRequest) -> Result<Option<Vec<u8>>, ApiError> {
    let mut values = req.headers().get_all(HEADER);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ApiError::Invalid(FieldError::new(
            "invalid_header",
            HEADER,
            "was sent more than once; send one key",
        )));
    }
    let key = value.as_bytes();
    if !is_valid_key(key) {
        return Err(ApiError::Invalid(FieldError::new(
            "invalid_header",
            HEADER,
            "must be 1 to 255 printable ASCII characters, such as a UUID",
        )));
    }
    Ok(Some(Sha256::digest(key).to_vec()))
}

fn is_valid_key(key: &[u8]) -> bool {
    !key.is_empty() && key.len() <= LONGEST_KEY && key.iter().all(|b| (b' '..=b'~').contains(b))
}

/// Whose keys these are: the token's, or the user's across their sessions (a retry may come
/// after signing in again).
fn owner(req: &HttpRequest) -> Option<Uuid> {
    let extensions = req.extensions();
    Some(owner_of(extensions.get::<Caller>()?.0.as_ref()?))
}

fn owner_of(principal: &Principal) -> Uuid {
    match principal.credential {
        Credential::ApiToken { token_id } => token_id,
        Credential::Session { user_id, .. } => user_id,
    }
}

impl<T: DeserializeOwned + 'static, const LIMIT: usize> FromRequest for CreateJson<T, LIMIT> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let key = key_hash(req);
        let owner = owner(req);
        // Only a request that sent a key has its body hashed.
        let data_keys = match &key {
            Ok(Some(_)) => req
                .app_data::<web::Data<AppState>>()
                .map(|state| state.data_key.get()),
            _ => None,
        };
        let line = format!("{} {}\n", req.method(), req.path());
        let body = json_body::<T>(req, payload, LIMIT);
        Box::pin(async move {
            let key = key?;
            let (body, bytes) = body.await?;
            let key = match (key, owner, data_keys) {
                (Some(key_hash), Some(owner), Some(data_keys)) => Some(IdempotencyKey {
                    owner,
                    key_hash,
                    request_hashes: request_hashes(&data_keys, &line, &bytes)?,
                    data_key_id: data_keys.current().id().to_string(),
                }),
                _ => None,
            };
            Ok(CreateJson { body, key })
        })
    }
}

/// The keyed hashes (one per data key) of a request line and its JSON body, read already
/// (so it parses), with its members in order and its spacing gone: the same request sent
/// with other bytes is still the same request.
fn request_hashes(data_keys: &DataKeys, line: &str, body: &[u8]) -> Result<Vec<Vec<u8>>, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("a read body did not parse again")))?;
    let canonical = serde_json::to_vec(&value)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("a JSON value did not serialize")))?;
    Ok(data_keys
        .all()
        .map(|data_key| {
            data_key
                .keyed_hash(b"idempotent request")
                .chain_update(line.as_bytes())
                .chain_update(&canonical)
                .finalize()
                .into_bytes()
                .to_vec()
        })
        .collect())
}

/// A create's answer: 201 with the new object's path and JSON, made now or repeated.
pub struct Created {
    location: String,
    body: Vec<u8>,
    replayed: bool,
}

impl Created {
    /// The new object's id: the last segment of its path.
    pub fn id(&self) -> Result<Uuid, ApiError> {
        self.location
            .rsplit('/')
            .next()
            .and_then(|id| id.parse().ok())
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a created path without an id")))
    }

    pub fn into_response(self) -> HttpResponse {
        let mut response = HttpResponse::build(StatusCode::CREATED);
        response
            .insert_header((header::LOCATION, self.location))
            .insert_header(ContentType::json());
        if self.replayed {
            response.insert_header((REPLAYED_HEADER, "true"));
        }
        response.body(self.body)
    }
}

impl IdempotencyKey {
    /// A console form's key: a one-time value the page put in the form, so that the form sent
    /// again (a refresh, a second click) gets the first answer. The request is the path and
    /// the form's other fields. `None` for a key that is not 1 to 255 printable ASCII
    /// characters: the form is then handled as new.
    pub fn for_form<'a>(
        data_keys: &DataKeys,
        principal: &Principal,
        path: &str,
        key: &str,
        fields: impl Iterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Option<IdempotencyKey> {
        let bytes = key.as_bytes();
        if !is_valid_key(bytes) {
            return None;
        }
        let hash = |data_key: &DataKey| {
            let mut request = data_key
                .keyed_hash(b"idempotent form")
                .chain_update(format!("POST {path}\n"));
            for (name, value) in fields.clone() {
                // Lengths first, so that no two different forms hash alike.
                request.update(&(name.len() as u64).to_le_bytes());
                request.update(name.as_bytes());
                request.update(&(value.len() as u64).to_le_bytes());
                request.update(value.as_bytes());
            }
            request.finalize().into_bytes().to_vec()
        };
        Some(IdempotencyKey {
            owner: owner_of(principal),
            key_hash: Sha256::digest(bytes).to_vec(),
            request_hashes: data_keys.all().map(hash).collect(),
            data_key_id: data_keys.current().id().to_string(),
        })
    }

    /// The hash stored with a new claim: the current key's.
    fn request_hash(&self) -> &[u8] {
        &self.request_hashes[0]
    }

    /// The earlier answer, if this is the request that earned it.
    fn replay(&self, earlier: Stored) -> Result<Created, ApiError> {
        if !self.request_hashes.contains(&earlier.request_hash) {
            return Err(ApiError::Invalid(FieldError::new(
                "idempotency_key_reused",
                HEADER,
                "this key came with a different request; use a new key for a new request",
            )));
        }
        match (earlier.location, earlier.body) {
            (Some(location), Some(body)) => Ok(Created {
                location,
                body,
                replayed: true,
            }),
            // Committed keys always have their answer; this would be a key mid-write.
            _ => Err(ApiError::Conflict(
                "a request with this Idempotency-Key is still being processed".into(),
            )),
        }
    }
}

/// Runs `create` (which returns the new object's path and its answer) in one transaction
/// with the key's claim and record, unless the key names an earlier create: then nothing is
/// written and that create's answer comes back.
pub fn create_once<A: Serialize>(
    conn: &mut PgConnection,
    key: Option<&IdempotencyKey>,
    create: impl FnOnce(&mut PgConnection) -> Result<(String, A), ApiError>,
) -> Result<Created, ApiError> {
    conn.transaction(|conn| {
        if let Some(key) = key
            && let Some(earlier) = idempotency::claim(
                conn,
                key.owner,
                &key.key_hash,
                key.request_hash(),
                &key.data_key_id,
            )?
        {
            return key.replay(earlier);
        }
        let (location, answer) = create(conn)?;
        let body = serde_json::to_vec(&answer).map_err(|e| ApiError::Internal(e.into()))?;
        if let Some(key) = key {
            idempotency::record(conn, key.owner, &key.key_hash, &location, &body)?;
        }
        Ok(Created {
            location,
            body,
            replayed: false,
        })
    })
}
