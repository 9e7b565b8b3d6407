//! Passwords (SAFETY.md rule 11): Argon2id at OWASP's parameters (19 MiB, t=2, p=1), at most
//! a few hashes running at once so a login flood cannot exhaust memory or CPU, and a
//! `Password` type whose `Debug` never shows it.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::FieldError;
use crate::error::ApiError;

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 128;

/// How long a login may wait for a free hashing slot before it is told to retry.
const SLOT_WAIT: Duration = Duration::from_secs(10);

/// A password in clear, held only while it is hashed or checked.
#[derive(Clone)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

impl Password {
    /// A new password: 12 to 128 characters (spaces and any script allowed, no other rule).
    pub fn new(text: String, field: &str) -> Result<Self, FieldError> {
        let chars = text.chars().count();
        if !(MIN_CHARS..=MAX_CHARS).contains(&chars) {
            return Err(FieldError::invalid(
                field,
                format!("must be {MIN_CHARS} to {MAX_CHARS} characters"),
            ));
        }
        Ok(Password(text))
    }

    /// A password offered at sign-in: checked as given, only its length bounded.
    pub fn offered(text: String) -> Self {
        Password(text.chars().take(MAX_CHARS + 1).collect())
    }
}

fn argon2() -> Argon2<'static> {
    // OWASP's first Argon2id recommendation; `Params::new` only fails for out-of-range values.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string stored for `password`.
pub fn hash(password: &Password) -> Result<String, argon2::password_hash::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&bytes)?;
    Ok(argon2()
        .hash_password(password.0.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches `stored`. A stored value that does not parse never matches.
pub fn verify(password: &Password, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            argon2()
                .verify_password(password.0.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to check against when the account does not exist, so an unknown email costs as much
/// time as a wrong password and timing does not tell which accounts exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY
        .get_or_init(|| hash(&Password("decoy password, never matches".into())).unwrap_or_default())
}

fn slots() -> Arc<Semaphore> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    SLOTS
        .get_or_init(|| {
            let cores = std::thread::available_parallelism().map_or(2, usize::from);
            Arc::new(Semaphore::new(cores))
        })
        .clone()
}

/// Runs an Argon2 computation on the blocking pool, at most one per core at a time. Waiting
/// too long for a slot is a 503 with `Retry-After`, not an unbounded queue.
pub async fn run_bounded<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let permit = tokio::time::timeout(SLOT_WAIT, slots().acquire_owned())
        .await
        .map_err(|_| ApiError::SignInBusy)?
        .map_err(|e| ApiError::Internal(e.into()))?;
    let result = actix_web::web::block(move || {
        let out = work();
        drop(permit);
        out
    })
    .await?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_with_argon2id_at_owasp_parameters_and_verifies() {
        let password = Password::new("correct horse battery".into(), "password").unwrap();
        let stored = hash(&password).unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify(&password, &stored));
        assert!(!verify(
            &Password::offered("wrong horse battery".into()),
            &stored
        ));
        assert!(!verify(&password, "not a hash"));
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[test]
    fn new_passwords_are_12_to_128_characters() {
        assert!(Password::new("short".into(), "password").is_err());
        assert!(Password::new("ñ".repeat(12), "password").is_ok());
        assert!(Password::new("x".repeat(128), "password").is_ok());
        assert!(Password::new("x".repeat(129), "password").is_err());
    }
}
