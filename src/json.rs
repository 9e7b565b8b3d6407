//! `ValidJson<T, LIMIT>`: a JSON body extractor whose errors say what is wrong and where.
//!
//! Wrong content type: 415. More than `LIMIT` bytes: 413 (checked before reading when the
//! client declares a length). Not all there in time: 408. Not JSON: 400. JSON of the wrong shape (missing, unknown or
//! mistyped members): 422 with the path of the member, such as `coverage[0].radius_km`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::{FutureExt as _, StreamExt as _};
use serde::de::DeserializeOwned;

use crate::auth::{Caller, Role};
use crate::domain::{FieldError, path};
use crate::error::ApiError;

/// Default body limit for API writes.
pub const DEFAULT_LIMIT: usize = 64 * 1024;
/// For bodies that may carry GeoJSON areas, when an admin sends them; everyone else keeps
/// [`DEFAULT_LIMIT`] on the same routes.
pub const GEOMETRY_LIMIT: usize = 4 * 1024 * 1024;

/// The limit for this request: a raised `LIMIT` applies to admins only.
fn limit_for(req: &HttpRequest, limit: usize) -> usize {
    let admin = req
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.0.as_ref())
        .is_some_and(|p| p.role == Role::Admin);
    if admin {
        limit
    } else {
        limit.min(DEFAULT_LIMIT)
    }
}

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
    if let Some(field) = nul_in(body) {
        return Err(ApiError::Invalid(FieldError::invalid(field, NUL_MESSAGE)));
    }
    // Every body Haven takes is an object: serde would also read a struct from an array of
    // its members in order, which no client should rely on.
    let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    // A well-formed body is read once, straight into `T`. Any error is found again the slow
    // way: syntax first (400), then shape (422, naming the member).
    let error = match serde_json::from_slice(body) {
        Ok(parsed) if object => return Ok(parsed),
        Ok(_) => None,
        Err(e) => Some(e),
    };
    serde_json::from_slice::<serde_json::Value>(body)
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    if !object {
        return Err(ApiError::Invalid(FieldError::invalid(
            "",
            "the body must be a JSON object",
        )));
    }
    let mut reader = serde_json::Deserializer::from_slice(body);
    let Err(shape) = serde_path_to_error::deserialize::<_, T>(&mut reader) else {
        let error = error.map_or_else(|| "unreadable".to_string(), |e| e.to_string());
        return Err(ApiError::MalformedJson(error));
    };
    let parent = match shape.path().to_string() {
        root if root == "." => String::new(),
        path => path.replace(".[", "["),
    };
    let message = shape.into_inner().to_string();
    Err(ApiError::Invalid(FieldError::from_serde(&parent, message)))
}

/// A JSON value that refuses a member given twice in any of its objects, as Haven's structs
/// do: `serde_json::Value` keeps the last one without a word, so `{"lat": 37.7, "lat": 38.1}`
/// would be matched at 38.1 and a coverage entry's second `code` stored. For the members
/// read as values before they are checked (a match's location, coverage entries). The error
/// is serde's own for a struct, which [`FieldError::from_serde`] names as the member.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Strict(pub serde_json::Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, SeqAccess, Visitor};
        use serde_json::{Map, Number, Value};

        struct Strictly;
        impl<'de> Visitor<'de> for Strictly {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
                Ok(Value::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
                Ok(Value::Number(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
                Ok(Value::Number(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
                Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
            }
            fn visit_str<E>(self, s: &str) -> Result<Value, E> {
                Ok(Value::String(s.to_string()))
            }
            fn visit_string<E>(self, s: String) -> Result<Value, E> {
                Ok(Value::String(s))
            }
            fn visit_unit<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_none<E>(self) -> Result<Value, E> {
                Ok(Value::Null)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
                <Strict as serde::Deserialize>::deserialize(d).map(|s| s.0)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
                let mut list = Vec::with_capacity(items.size_hint().unwrap_or(0).min(64));
                while let Some(Strict(item)) = items.next_element()? {
                    list.push(item);
                }
                Ok(Value::Array(list))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Value, A::Error> {
                let mut map = Map::new();
                while let Some(name) = members.next_key::<String>()? {
                    if map.contains_key(&name) {
                        return Err(A::Error::custom(format_args!("duplicate field `{name}`")));
                    }
                    let Strict(value) = members.next_value()?;
                    map.insert(name, value);
                }
                Ok(Value::Object(map))
            }
        }
        d.deserialize_any(Strictly).map(Strict)
    }
}

pub(crate) const NUL_MESSAGE: &str = "must not contain the NUL character (\\u0000)";

/// Where the body's first string holding a NUL character is: no text Haven keeps may hold
/// one (Postgres cannot store it). Looked for only when the escape appears at all.
pub(crate) fn nul_in(body: &[u8]) -> Option<String> {
    if !body.windows(6).any(|w| w == br"\u0000") {
        return None;
    }
    fn walk(value: &serde_json::Value, at: String) -> Option<String> {
        match value {
            serde_json::Value::String(s) => s.contains('\0').then_some(at),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, format!("{at}[{i}]"))),
            serde_json::Value::Object(members) => members.iter().find_map(|(name, item)| {
                let here = path(&at, name);
                if name.contains('\0') {
                    Some(here)
                } else {
                    walk(item, here)
                }
            }),
            _ => None,
        }
    }
    walk(&serde_json::from_slice(body).ok()?, String::new())
}

/// Where a member first appears twice in one object (`capacity.available`), if anywhere.
/// Reading into a `Value` keeps the last of repeated members without a word, so text read
/// that way (import lines) is asked this first; structs read straight from a body refuse
/// repeated members themselves. Paths are put together only for the member found.
pub(crate) fn repeated_member(text: &[u8]) -> Option<String> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

    /// Where in the document a value is, as a chain up to the root.
    enum At<'p> {
        Root,
        Member(&'p At<'p>, &'p str),
        Item(&'p At<'p>, usize),
    }

    impl At<'_> {
        fn path(&self) -> String {
            match self {
                At::Root => String::new(),
                At::Member(parent, name) => path(&parent.path(), name),
                At::Item(parent, i) => format!("{}[{i}]", parent.path()),
            }
        }
    }

    struct Seek<'p, 'f> {
        at: &'p At<'p>,
        found: &'f mut Option<String>,
    }

    impl<'de> DeserializeSeed<'de> for Seek<'_, '_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Seek<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
            let mut i = 0;
            loop {
                let at = At::Item(self.at, i);
                let seek = Seek {
                    at: &at,
                    found: &mut *self.found,
                };
                if items.next_element_seed(seek)?.is_none() {
                    return Ok(());
                }
                i += 1;
            }
        }
        fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(name) = members.next_key::<String>()? {
                let at = At::Member(self.at, &name);
                if self.found.is_none() && seen.contains(&name) {
                    *self.found = Some(at.path());
                }
                members.next_value_seed(Seek {
                    at: &at,
                    found: &mut *self.found,
                })?;
                seen.insert(name);
            }
            Ok(())
        }
    }

    let mut found = None;
    let mut reader = serde_json::Deserializer::from_slice(text);
    let seek = Seek {
        at: &At::Root,
        found: &mut found,
    };
    // Text that is not JSON has no repeated member to name; its parse says what is wrong.
    seek.deserialize(&mut reader).ok()?;
    found
}

/// A query string read into `T`: a parameter that cannot be read is 422 naming it, as a body's
/// member is (actix's own `Query` says only that the query string is bad, and quotes what it
/// could not read); one given twice is refused.
pub struct ValidQuery<T>(pub T);

impl<T> std::ops::Deref for ValidQuery<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for ValidQuery<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = url::form_urlencoded::parse(req.query_string().as_bytes());
        let parsed = serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs))
            .map(ValidQuery)
            .map_err(|e| {
                let parent = match e.path().to_string() {
                    root if root == "." => String::new(),
                    path => path,
                };
                ApiError::Invalid(FieldError::from_serde(&parent, e.into_inner().to_string()))
            });
        std::future::ready(parsed)
    }
}

impl<T: DeserializeOwned + 'static, const LIMIT: usize> FromRequest for ValidJson<T, LIMIT> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = json_body::<T>(req, payload, LIMIT);
        Box::pin(async move { body.await.map(|(parsed, _)| ValidJson(parsed)) })
    }
}

/// What [`ValidJson`] reads, with the body's bytes: for extractors that must also tell one
/// request from another.
pub(crate) fn json_body<T: DeserializeOwned>(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> impl Future<Output = Result<(T, Vec<u8>), ApiError>> + use<T> {
    let json = is_json(req);
    let body = read_body(req, payload, limit_for(req, limit));
    async move {
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let body = body.await?;
        if body.is_empty() {
            return Err(ApiError::MalformedJson("the request body is empty".into()));
        }
        Ok((parse_json(&body)?, body))
    }
}

/// Time any body has to arrive, on top of the time at [`BODY_MIN_RATE`].
const BODY_GRACE: Duration = Duration::from_secs(10);
/// Slowest average rate (bytes a second) a body may arrive at: a 4 MiB area has 74 s.
const BODY_MIN_RATE: u64 = 64 * 1024;

/// How long a body of `length` bytes may take to arrive before it is refused (408): a client
/// that declares more than it sends, or trickles, must not hold a worker's request open.
fn body_deadline(length: usize) -> Duration {
    BODY_GRACE + Duration::from_secs(length as u64 / BODY_MIN_RATE)
}

/// Reads a request body of at most `limit` bytes: 413 as soon as it is known to be larger
/// (from `Content-Length` before reading, or while reading), 408 if it does not arrive in
/// time ([`body_deadline`] of its declared length, or of `limit` when none is declared).
pub(crate) fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> impl Future<Output = Result<Vec<u8>, ApiError>> + use<> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut payload = payload.take();
    async move {
        if declared.is_some_and(|len| len > limit) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let deadline = body_deadline(declared.unwrap_or(limit));
        let read = async {
            let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit));
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::BadRequest(format!("could not read the request body: {e}"))
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(ApiError::PayloadTooLarge { limit });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body)
        };
        // Most bodies came in with their headers: those are read without arming a timer.
        let mut read = std::pin::pin!(read);
        if let Some(done) = read.as_mut().now_or_never() {
            return done;
        }
        tokio::time::timeout(deadline, read)
            .await
            .unwrap_or(Err(ApiError::BodyTimeout {
                secs: deadline.as_secs(),
            }))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        needs: Vec<String>,
        limit: Option<u8>,
    }

    #[test]
    fn syntax_is_400_and_shape_is_422_naming_the_member() {
        let malformed = parse_json::<Body>(br#"{"needs": ["shelter""#).unwrap_err();
        assert!(
            matches!(malformed, ApiError::MalformedJson(_)),
            "{malformed:?}"
        );
        let shape = parse_json::<Body>(br#"{"needs": ["shelter", 7]}"#).unwrap_err();
        match shape {
            ApiError::Invalid(e) => assert_eq!(e.field, "needs[1]"),
            other => panic!("{other:?}"),
        }
    }

    fn field_of(body: &[u8]) -> String {
        match parse_json::<Body>(body).unwrap_err() {
            ApiError::Invalid(e) => {
                assert!(!e.message.contains("line 1"), "{}", e.message);
                e.field
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn repeated_members_are_found_at_any_depth() {
        let found = |text: &str| super::repeated_member(text.as_bytes());
        assert_eq!(
            found(r#"{"name": "a", "name": "b"}"#).as_deref(),
            Some("name")
        );
        assert_eq!(
            found(r#"{"capacity": {"available": 1, "total": 5, "available": 4}}"#).as_deref(),
            Some("capacity.available")
        );
        assert_eq!(
            found(r#"{"coverage": [{"type": "radius"}, {"type": "area", "type": "x"}]}"#)
                .as_deref(),
            Some("coverage[1].type")
        );
        assert_eq!(
            found(r#"{"a": {"b": 1}, "c": {"b": 2}, "d": [1, 1]}"#),
            None
        );
        assert_eq!(found("{not json"), None);
    }

    #[test]
    fn a_repeated_missing_or_nul_member_is_named() {
        assert_eq!(
            field_of(br#"{"needs": ["a"], "limit": 5, "limit": 9}"#),
            "limit"
        );
        assert_eq!(field_of(br#"{"limit": 5}"#), "needs");
        assert_eq!(field_of(br#"{"needs": ["a", "b\u0000"]}"#), "needs[1]");
        // Text that only spells the escape is not a NUL.
        let spelled: Body = parse_json(br#"{"needs": ["\\u0000"], "limit": 3}"#).unwrap();
        assert_eq!(
            (spelled.needs[0].as_str(), spelled.limit),
            ("\\u0000", Some(3))
        );
        assert!(matches!(
            parse_json::<Body>(br#"{"needs": ["a"]} x"#),
            Err(ApiError::MalformedJson(_))
        ));
        assert_eq!(field_of(br#" [["shelter"], 5]"#), "");
        assert!(matches!(
            parse_json::<Body>(br#"[["shelter"], 5"#),
            Err(ApiError::MalformedJson(_))
        ));
    }
}
