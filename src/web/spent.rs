//! One-time keys for the survivor search form. Without JavaScript each search is a page of its
//! own, and Back then Reload sends it again: whoever holds the phone would see the results.
//! Each form carries a new random key; a search whose key was already used gets an empty form
//! instead of its results. Keys are random, never derived from the person or the search, and
//! are held in memory only, for [`KEEP`].

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a used key is remembered; a form is rarely resent later than this.
const KEEP: Duration = Duration::from_secs(12 * 60 * 60);
/// At most this many keys are remembered, the oldest forgotten first (some 40 bytes each).
const MAX_KEYS: usize = 500_000;

#[derive(Default)]
pub struct SpentSearches {
    inner: Mutex<Spent>,
}

#[derive(Default)]
struct Spent {
    keys: HashSet<u128>,
    /// The same keys, oldest first, with when each was used.
    order: VecDeque<(Instant, u128)>,
}

impl SpentSearches {
    /// A new key for a form, as the page carries it.
    pub fn new_key() -> String {
        format!("{:032x}", uuid::Uuid::new_v4().as_u128())
    }

    /// Marks the key a search came with as used; false when it already was. A key that is
    /// not one of ours (a client that sends none, or something else) is not remembered.
    pub fn spend(&self, key: &str) -> bool {
        let Ok(key) = u128::from_str_radix(key, 16) else {
            return true;
        };
        let now = Instant::now();
        let mut spent = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(&(at, old)) = spent.order.front() {
            if now.duration_since(at) < KEEP && spent.order.len() < MAX_KEYS {
                break;
            }
            spent.order.pop_front();
            spent.keys.remove(&old);
        }
        if !spent.keys.insert(key) {
            return false;
        }
        spent.order.push_back((now, key));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_spent_once() {
        let spent = SpentSearches::default();
        let key = SpentSearches::new_key();
        assert_eq!(key.len(), 32);
        assert!(spent.spend(&key));
        assert!(!spent.spend(&key));
        assert!(spent.spend(&SpentSearches::new_key()));
        // Not a key of ours: nothing to remember, the search goes ahead each time.
        assert!(spent.spend("not hex") && spent.spend("not hex"));
    }
}
