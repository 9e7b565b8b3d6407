//! Rate limits (SAFETY.md rules 9 and 11): anonymous requests per client, sign-in attempts
//! per account and per client, and refusals that tell something of a sealed site (rule 3).
//! Clients and accounts are known here only by a keyed hash (HMAC with a random key that lives
//! in this process's memory and dies with it), limiter entries are swept once they are back to
//! full allowance, and nothing here is ever written down or logged.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;

use crate::error::ApiError;

type Key = [u8; 16];
type Limiter = DefaultKeyedRateLimiter<Key>;

/// How often forgotten clients are swept out of memory.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Sign-in attempts per account: 5 at once, then one a minute.
const LOGIN_ACCOUNT_BURST: u32 = 5;
const LOGIN_ACCOUNT_PERIOD: Duration = Duration::from_secs(60);
/// Sign-in attempts per client: 20 at once, then one every 15 s.
const LOGIN_CLIENT_BURST: u32 = 20;
const LOGIN_CLIENT_PERIOD: Duration = Duration::from_secs(15);

/// Refused console edits of one service, per person, for coverage near its sealed site (each
/// tells something of where the site is): 3 at once, then one every 30 minutes.
const SITE_CHECK_BURST: u32 = 3;
const SITE_CHECK_PERIOD: Duration = Duration::from_secs(30 * 60);

pub struct Throttles {
    hash_key: [u8; 32],
    anonymous: Option<Limiter>,
    login_account: Limiter,
    login_client: Limiter,
    /// Clients whose failed credentials used up their allowance: their next credentials are
    /// refused without asking Postgres, so guessing cannot keep it busy.
    guessing: Holds,
    site_checks: Limiter,
    /// People who used up their refused checks of a sealed site: the check is not run again.
    site_checks_spent: Holds,
    last_sweep: Mutex<Instant>,
}

/// Keys refused until a time: for work that must not even start once a limiter has refused
/// (governor's limiters cannot be looked at without taking from them).
#[derive(Default)]
struct Holds(Mutex<HashMap<Key, Instant>>);

impl Holds {
    fn check(&self, key: &Key) -> Result<(), ApiError> {
        let held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match held.get(key) {
            Some(&until) if until > Instant::now() => Err(ApiError::TooManyRequests {
                retry_after_secs: until.saturating_duration_since(Instant::now()).as_secs() + 1,
            }),
            _ => Ok(()),
        }
    }

    /// Passes `refused` on, holding `key` until its `Retry-After` if it is a 429.
    fn hold_if_refused(&self, key: Key, refused: Result<(), ApiError>) -> Result<(), ApiError> {
        if let Err(ApiError::TooManyRequests { retry_after_secs }) = &refused {
            let until = Instant::now() + Duration::from_secs(*retry_after_secs);
            let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
            held.insert(key, until);
        }
        refused
    }

    fn sweep(&self, now: Instant) {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        held.retain(|_, until| *until > now);
        held.shrink_to_fit();
    }
}

fn limiter(burst: u32, period: Duration) -> Limiter {
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst);
    RateLimiter::keyed(quota)
}

impl Throttles {
    /// `anonymous_per_minute`: requests an anonymous client may make a minute (as a burst,
    /// refilled evenly); 0 turns the anonymous limit off (benchmarks).
    pub fn new(anonymous_per_minute: u32) -> Result<Self, getrandom::Error> {
        let mut hash_key = [0u8; 32];
        getrandom::fill(&mut hash_key)?;
        let anonymous = NonZeroU32::new(anonymous_per_minute)
            .map(|n| limiter(n.get(), Duration::from_secs(60) / n.get()));
        Ok(Throttles {
            hash_key,
            anonymous,
            login_account: limiter(LOGIN_ACCOUNT_BURST, LOGIN_ACCOUNT_PERIOD),
            login_client: limiter(LOGIN_CLIENT_BURST, LOGIN_CLIENT_PERIOD),
            guessing: Holds::default(),
            site_checks: limiter(SITE_CHECK_BURST, SITE_CHECK_PERIOD),
            site_checks_spent: Holds::default(),
            last_sweep: Mutex::new(Instant::now()),
        })
    }

    fn key(&self, domain: &[u8], value: &[u8]) -> Key {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.hash_key)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        mac.update(domain);
        mac.update(&[0]);
        mac.update(value);
        let digest = mac.finalize().into_bytes();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        key
    }

    fn client_key(&self, ip: Option<IpAddr>) -> Key {
        let bytes = match ip {
            Some(IpAddr::V4(v4)) => v4.octets().to_vec(),
            // An IPv6 client usually owns its whole /64: limit by that, not by address.
            Some(IpAddr::V6(v6)) => v6.octets()[..8].to_vec(),
            None => Vec::new(),
        };
        self.key(b"client", &bytes)
    }

    fn check(&self, limiter: &Limiter, key: &Key) -> Result<(), ApiError> {
        self.sweep();
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::TooManyRequests {
                retry_after_secs: wait.as_secs() + 1,
            }
        })
    }

    /// One request from an anonymous client.
    pub fn anonymous(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        match &self.anonymous {
            Some(limiter) => self.check(limiter, &self.client_key(ip)),
            None => Ok(()),
        }
    }

    /// Before a presented credential is looked up: a client whose failed credentials used up
    /// its allowance is refused until the time it was told to retry after.
    pub fn credential(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        if self.anonymous.is_none() {
            return Ok(());
        }
        self.guessing.check(&self.client_key(ip))
    }

    /// A credential that was not accepted: it draws on the anonymous allowance, so guessing
    /// costs what anonymous requests cost, and once that is used up the client's credentials
    /// are refused unread (see [`Throttles::credential`]) until its `Retry-After`.
    pub fn failed_credential(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        let refused = self.anonymous(ip);
        self.guessing.hold_if_refused(self.client_key(ip), refused)
    }

    fn site_key(&self, actor: (Option<Uuid>, Option<Uuid>), service: Uuid) -> Key {
        let mut value = Vec::with_capacity(48);
        for id in [actor.0, actor.1].into_iter().flatten().chain([service]) {
            value.extend_from_slice(id.as_bytes());
        }
        self.key(b"site", &value)
    }

    /// Before a console edit of `service` checks new coverage against its sealed site, for
    /// `actor` ([`crate::auth::Principal::actor`]).
    pub fn sealed_site_check(
        &self,
        actor: (Option<Uuid>, Option<Uuid>),
        service: Uuid,
    ) -> Result<(), ApiError> {
        self.site_checks_spent.check(&self.site_key(actor, service))
    }

    /// Such a check refused the coverage: once `actor` has had [`SITE_CHECK_BURST`] refusals
    /// for `service`, the check is not run for them until one more is allowed.
    pub fn sealed_site_refused(
        &self,
        actor: (Option<Uuid>, Option<Uuid>),
        service: Uuid,
    ) -> Result<(), ApiError> {
        let key = self.site_key(actor, service);
        let refused = self.check(&self.site_checks, &key);
        self.site_checks_spent.hold_if_refused(key, refused)
    }

    /// One sign-in attempt for `email` (already normalized) from `ip`.
    pub fn login(&self, ip: Option<IpAddr>, email: &str) -> Result<(), ApiError> {
        self.check(&self.login_client, &self.client_key(ip))?;
        self.check(&self.login_account, &self.key(b"account", email.as_bytes()))
    }

    /// Forgets clients and accounts that are back to their full allowance.
    fn sweep(&self) {
        let Ok(mut last) = self.last_sweep.try_lock() else {
            return;
        };
        if last.elapsed() < SWEEP_EVERY {
            return;
        }
        *last = Instant::now();
        self.guessing.sweep(*last);
        self.site_checks_spent.sweep(*last);
        for limiter in [&self.login_account, &self.login_client, &self.site_checks]
            .into_iter()
            .chain(self.anonymous.as_ref())
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_client_separately_and_says_when_to_retry() {
        let throttles = Throttles::new(3).unwrap();
        let a = Some(IpAddr::from([192, 0, 2, 1]));
        let b = Some(IpAddr::from([192, 0, 2, 2]));
        for _ in 0..3 {
            throttles.anonymous(a).unwrap();
        }
        match throttles.anonymous(a) {
            Err(ApiError::TooManyRequests { retry_after_secs }) => {
                assert!((1..=21).contains(&retry_after_secs));
            }
            other => panic!("expected 429, got {other:?}"),
        }
        throttles.anonymous(b).unwrap();
        assert!(Throttles::new(0).unwrap().anonymous(a).is_ok());
    }

    #[test]
    fn sign_in_attempts_are_limited_per_account() {
        let throttles = Throttles::new(0).unwrap();
        for i in 0..LOGIN_ACCOUNT_BURST {
            let ip = Some(IpAddr::from([198, 51, 100, i as u8]));
            throttles.login(ip, "a@example.org").unwrap();
        }
        let fresh_ip = Some(IpAddr::from([203, 0, 113, 9]));
        assert!(throttles.login(fresh_ip, "a@example.org").is_err());
        assert!(throttles.login(fresh_ip, "b@example.org").is_ok());
    }
}
