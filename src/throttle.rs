//! Rate limits (SAFETY.md rules 9 and 11): anonymous requests per client, sign-in attempts
//! per client and failed sign-ins per account, refusals that tell something of a sealed site
//! (rule 3), and reveals of sealed addresses per person (rule 4).
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

/// Sign-in attempts per client, whatever their outcome (each costs an Argon2 hash): 20 at
/// once, then one every 15 s.
const LOGIN_CLIENT_BURST: u32 = 20;
const LOGIN_CLIENT_PERIOD: Duration = Duration::from_secs(15);
/// Failed sign-ins in a row on one account from one client: 5, then one a minute. A success
/// forgets them, so a person who mistyped is not kept waiting after getting in.
const LOGIN_PAIR_STRIKES: Strikes = Strikes {
    allowed: 5,
    wait: Duration::from_secs(60),
    forgotten_after: LOGIN_FAILURES_FORGOTTEN_AFTER,
};
/// Failed sign-ins on one account from all clients together: 20, then one a minute, except
/// for clients the account signed in from lately. This bounds guessing spread over many
/// addresses without letting a stranger lock an operator out: one client's failures only
/// hold that client back.
const LOGIN_ACCOUNT_STRIKES: Strikes = Strikes {
    allowed: 20,
    wait: Duration::from_secs(60),
    forgotten_after: LOGIN_FAILURES_FORGOTTEN_AFTER,
};
/// Failed sign-ins are forgotten after this long without one.
const LOGIN_FAILURES_FORGOTTEN_AFTER: Duration = Duration::from_secs(15 * 60);
/// How long a client an account signed in from stays known to it (in memory only).
const KNOWN_CLIENT_FOR: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// Refused console edits of one service, per person, for coverage near its sealed site (each
/// tells something of where the site is): 3, then one check every 30 minutes.
const SITE_CHECK_STRIKES: Strikes = Strikes {
    allowed: 3,
    wait: Duration::from_secs(30 * 60),
    forgotten_after: Duration::from_secs(90 * 60),
};

/// Reveals of confidential addresses per person or token: 10 at once, then one every 10
/// minutes. Far more than referrals take (a caseworker reveals an address now and then; the
/// front door, an intake line, is how people reach such a shelter), and far less than a stolen
/// session or a caseworker's account in the wrong hands would need to copy out every sealed
/// site: the audit trail says who saw what, this keeps it to a few.
const REVEAL_BURST: u32 = 10;
const REVEAL_PERIOD: Duration = Duration::from_secs(10 * 60);

pub struct Throttles {
    hash_key: [u8; 32],
    anonymous: Option<Limiter>,
    login_client: Limiter,
    /// Failed sign-ins per (account, client).
    login_pair: Failures,
    /// Failed sign-ins per account.
    login_account: Failures,
    /// (account, client) pairs that signed in lately: they skip the per-account count.
    known_clients: Mutex<HashMap<Key, Instant>>,
    /// Clients whose failed credentials used up their allowance: their next credentials are
    /// refused without asking Postgres, so guessing cannot keep it busy.
    guessing: Holds,
    /// Refused checks of new coverage against a sealed site, per (person, service).
    site_checks: Failures,
    /// Reveals of sealed addresses, per person or token.
    reveals: Limiter,
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

/// How many failures a key may have before each attempt waits, and how long they are kept.
#[derive(Clone, Copy)]
struct Strikes {
    allowed: u32,
    wait: Duration,
    forgotten_after: Duration,
}

/// Failures (refused sign-ins, refused checks near a sealed site), counted per key. Counted
/// when an attempt starts, so attempts sent all at once cannot each pass the check before any
/// has failed; taken back if it does not fail. Unlike a rate limiter's, the count is known
/// before the work is done: once it is spent, the work does not even start.
struct Failures {
    strikes: Strikes,
    counts: Mutex<HashMap<Key, Count>>,
}

struct Count {
    failures: u32,
    last: Instant,
}

impl Failures {
    fn new(strikes: Strikes) -> Self {
        Failures {
            strikes,
            counts: Mutex::default(),
        }
    }

    /// Counts an attempt on `key` as failed until told otherwise, or refuses it: after
    /// `allowed` failures, an attempt waits `wait` from the last one.
    fn attempt(&self, key: Key, now: Instant) -> Result<(), ApiError> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(key).or_insert(Count {
            failures: 0,
            last: now,
        });
        let free_at = count.last + self.strikes.wait;
        if count.failures >= self.strikes.allowed && free_at > now {
            return Err(ApiError::TooManyRequests {
                retry_after_secs: free_at.saturating_duration_since(now).as_secs() + 1,
            });
        }
        count.failures += 1;
        count.last = now;
        Ok(())
    }

    /// The attempt counted on `key` did not fail after all.
    fn take_back(&self, key: &Key) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(key) {
            count.failures = count.failures.saturating_sub(1);
        }
    }

    fn forget(&self, key: &Key) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.remove(key);
    }

    fn sweep(&self, now: Instant) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let kept = self.strikes.forgotten_after;
        counts.retain(|_, count| now.duration_since(count.last) < kept);
        counts.shrink_to_fit();
    }
}

/// A check of coverage against a sealed site that the limit let run.
#[must_use]
pub struct SiteCheck(Key);

/// A sign-in attempt that passed the limits, counted as failed unless
/// [`Throttles::signed_in`] or [`Throttles::not_judged`] says otherwise.
#[must_use]
pub struct LoginAttempt {
    pair: Key,
    account: Option<Key>,
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
            login_client: limiter(LOGIN_CLIENT_BURST, LOGIN_CLIENT_PERIOD),
            login_pair: Failures::new(LOGIN_PAIR_STRIKES),
            login_account: Failures::new(LOGIN_ACCOUNT_STRIKES),
            known_clients: Mutex::default(),
            guessing: Holds::default(),
            site_checks: Failures::new(SITE_CHECK_STRIKES),
            reveals: limiter(REVEAL_BURST, REVEAL_PERIOD),
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
    /// `actor` ([`crate::auth::Principal::actor`]): refused once they have had
    /// [`SITE_CHECK_STRIKES`] refusals for it, until one more is allowed. The check counts as
    /// refused unless [`Throttles::sealed_site_passed`] is told otherwise.
    pub fn sealed_site_check(
        &self,
        actor: (Option<Uuid>, Option<Uuid>),
        service: Uuid,
    ) -> Result<SiteCheck, ApiError> {
        self.sweep();
        let key = self.site_key(actor, service);
        self.site_checks.attempt(key, Instant::now())?;
        Ok(SiteCheck(key))
    }

    /// The check found nothing near the sealed site (or did not run to the end).
    pub fn sealed_site_passed(&self, check: SiteCheck) {
        self.site_checks.take_back(&check.0);
    }

    /// One reveal of a sealed address by `actor` ([`crate::auth::Principal::actor`]), before
    /// the address is opened: refused past [`REVEAL_BURST`] until the allowance refills.
    pub fn reveal(&self, actor: (Option<Uuid>, Option<Uuid>)) -> Result<(), ApiError> {
        let value: Vec<u8> = [actor.0, actor.1]
            .into_iter()
            .map(|id| id.map_or([0; 16], |id| id.into_bytes()))
            .collect::<Vec<_>>()
            .concat();
        self.check(&self.reveals, &self.key(b"reveal", &value))
    }

    fn pair_key(&self, ip: Option<IpAddr>, email: &str) -> Key {
        let mut value = self.client_key(ip).to_vec();
        value.extend_from_slice(email.as_bytes());
        self.key(b"pair", &value)
    }

    fn is_known(&self, pair: &Key, now: Instant) -> bool {
        let known = self.known_clients.lock().unwrap_or_else(|e| e.into_inner());
        known.get(pair).is_some_and(|&until| until > now)
    }

    /// One sign-in attempt for `email` (already normalized) from `ip`, before its password
    /// is checked. It counts as failed until [`Throttles::signed_in`] or
    /// [`Throttles::not_judged`] is told of it.
    pub fn login(&self, ip: Option<IpAddr>, email: &str) -> Result<LoginAttempt, ApiError> {
        self.check(&self.login_client, &self.client_key(ip))?;
        let now = Instant::now();
        let pair = self.pair_key(ip, email);
        self.login_pair.attempt(pair, now)?;
        let account = if self.is_known(&pair, now) {
            None
        } else {
            let account = self.key(b"account", email.as_bytes());
            if let Err(refused) = self.login_account.attempt(account, now) {
                self.login_pair.take_back(&pair);
                return Err(refused);
            }
            Some(account)
        };
        Ok(LoginAttempt { pair, account })
    }

    /// The attempt signed in: its client's failures on the account are forgotten, it is not
    /// counted against the account, and the client is known to the account from now on.
    pub fn signed_in(&self, attempt: LoginAttempt) {
        self.login_pair.forget(&attempt.pair);
        if let Some(account) = &attempt.account {
            self.login_account.take_back(account);
        }
        let mut known = self.known_clients.lock().unwrap_or_else(|e| e.into_inner());
        known.insert(attempt.pair, Instant::now() + KNOWN_CLIENT_FOR);
    }

    /// The attempt could not be judged (the database was away): it counts for nothing.
    pub fn not_judged(&self, attempt: LoginAttempt) {
        self.login_pair.take_back(&attempt.pair);
        if let Some(account) = &attempt.account {
            self.login_account.take_back(account);
        }
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
        self.site_checks.sweep(*last);
        self.login_pair.sweep(*last);
        self.login_account.sweep(*last);
        {
            let mut known = self.known_clients.lock().unwrap_or_else(|e| e.into_inner());
            known.retain(|_, until| *until > *last);
            known.shrink_to_fit();
        }
        for limiter in [&self.login_client, &self.reveals]
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
    fn failed_sign_ins_count_per_client_and_account_and_a_success_clears_them() {
        let throttles = Throttles::new(0).unwrap();
        let guesser = Some(IpAddr::from([198, 51, 100, 1]));
        let operator = Some(IpAddr::from([203, 0, 113, 9]));
        for _ in 0..LOGIN_PAIR_STRIKES.allowed {
            let _failed = throttles.login(guesser, "a@example.org").unwrap();
        }
        assert!(throttles.login(guesser, "a@example.org").is_err());
        assert!(throttles.login(guesser, "b@example.org").is_ok());
        // Failures from the guesser leave the operator's own allowance whole.
        for _ in 0..LOGIN_PAIR_STRIKES.allowed - 1 {
            let _failed = throttles.login(operator, "a@example.org").unwrap();
        }
        throttles.signed_in(throttles.login(operator, "a@example.org").unwrap());
        for _ in 0..LOGIN_PAIR_STRIKES.allowed {
            let _failed = throttles.login(operator, "a@example.org").unwrap();
        }
        assert!(throttles.login(operator, "a@example.org").is_err());
    }

    #[test]
    fn an_account_with_too_many_failures_waits_except_where_it_signed_in_from() {
        let throttles = Throttles::new(0).unwrap();
        let office = Some(IpAddr::from([203, 0, 113, 9]));
        throttles.signed_in(throttles.login(office, "a@example.org").unwrap());
        for i in 0..LOGIN_ACCOUNT_STRIKES.allowed {
            let ip = Some(IpAddr::from([198, 51, 100, i as u8]));
            let _failed = throttles.login(ip, "a@example.org").unwrap();
        }
        let elsewhere = Some(IpAddr::from([192, 0, 2, 1]));
        assert!(throttles.login(elsewhere, "a@example.org").is_err());
        // The office it signed in from is not held; another account is not either.
        let attempt = throttles.login(office, "a@example.org").unwrap();
        throttles.not_judged(attempt);
        assert!(throttles.login(elsewhere, "b@example.org").is_ok());
    }

    #[test]
    fn reveals_are_limited_per_person_or_token() {
        let throttles = Throttles::new(0).unwrap();
        let caseworker = (Some(Uuid::from_u128(7)), None);
        let token = (None, Some(Uuid::from_u128(7)));
        for _ in 0..REVEAL_BURST {
            throttles.reveal(caseworker).unwrap();
        }
        match throttles.reveal(caseworker) {
            Err(ApiError::TooManyRequests { retry_after_secs }) => {
                assert!(
                    (590..=601).contains(&retry_after_secs),
                    "{retry_after_secs}"
                );
            }
            other => panic!("expected 429, got {other:?}"),
        }
        // Another person, or a token with the same id, has an allowance of its own.
        throttles.reveal((Some(Uuid::from_u128(8)), None)).unwrap();
        throttles.reveal(token).unwrap();
    }

    #[test]
    fn checks_near_a_sealed_site_count_only_refusals() {
        let throttles = Throttles::new(0).unwrap();
        let actor = (Some(Uuid::from_u128(7)), None);
        let service = Uuid::from_u128(1);
        for _ in 0..5 {
            let passed = throttles.sealed_site_check(actor, service).unwrap();
            throttles.sealed_site_passed(passed);
        }
        for _ in 0..SITE_CHECK_STRIKES.allowed {
            let _refused = throttles.sealed_site_check(actor, service).unwrap();
        }
        match throttles.sealed_site_check(actor, service) {
            Err(ApiError::TooManyRequests { retry_after_secs }) => {
                assert!(
                    (1790..=1801).contains(&retry_after_secs),
                    "{retry_after_secs}"
                );
            }
            Ok(_) => panic!("a fourth check ran"),
            Err(other) => panic!("expected 429, got {other:?}"),
        }
        assert!(
            throttles
                .sealed_site_check(actor, Uuid::from_u128(2))
                .is_ok()
        );
    }
}
