//! Throttles on signing in and signing up, built so that nobody can lock someone else out.
//!
//! Failed logins are counted per (account, client address) and per client address: past their
//! limits those are refused (429) for the rest of the window. Per account they only slow down:
//! after a few failures from anywhere, each attempt on the account waits a little longer, but
//! the right password from a fresh address always gets in. Sign-ups are limited per address.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins for one account from one address in a window, before refusing.
pub const PER_ACCOUNT_AND_ADDRESS: usize = 5;
/// Failed logins from one address in a window (any accounts), before refusing.
pub const PER_ADDRESS: usize = 20;
/// Failed logins of one account in a window (any addresses) before attempts slow down.
pub const SLOW_DOWN_AFTER: usize = 5;
/// The longest wait an attempt on one account is made to take.
pub const LONGEST_DELAY: Duration = Duration::from_secs(5);

/// Failed attempts per key over a sliding window.
pub struct LoginThrottle {
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginThrottle {
    pub fn new(window: Duration) -> Self {
        Self { window, failures: Mutex::new(HashMap::new()) }
    }

    /// How many failures `key` has in the window now.
    pub fn failures(&self, key: &str, now: Instant) -> usize {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.get_mut(key).map_or(0, |q| {
            prune(q, now, self.window);
            q.len()
        })
    }

    /// `None` while `key` has fewer than `limit` failures in the window; else how long to wait.
    pub fn retry_after(&self, key: &str, limit: usize, now: Instant) -> Option<Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let q = map.get_mut(key)?;
        prune(q, now, self.window);
        // The oldest failure that still counts towards the limit must age out first.
        (q.len() >= limit).then(|| self.window.saturating_sub(now - q[q.len() - limit]))
    }

    /// How long an attempt on an account with `failures` recent failures waits: nothing for the
    /// first few, then doubling from a quarter second up to [`LONGEST_DELAY`].
    pub fn delay_for(failures: usize) -> Duration {
        match failures.checked_sub(SLOW_DOWN_AFTER) {
            None => Duration::ZERO,
            Some(extra) => (Duration::from_millis(250) * 2u32.saturating_pow(extra.min(16) as u32)).min(LONGEST_DELAY),
        }
    }

    /// Counts one failed attempt under every key.
    pub fn record_failure(&self, keys: &[&str], now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, q| {
                prune(q, now, self.window);
                !q.is_empty()
            });
        }
        for k in keys {
            let q = map.entry((*k).to_string()).or_default();
            prune(q, now, self.window);
            q.push_back(now);
        }
    }

    /// Forgets the failures under `key` (after a successful login).
    pub fn clear(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
}

/// How often one client address may do something: sign up (each costs an argon2 hash),
/// report a browser failure.
pub type AddressRate = crate::server::hub::limits::KeyedRate<String>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_from_its_limit_until_the_oldest_counted_failure_ages_out() {
        let t = LoginThrottle::new(Duration::from_secs(60));
        let start = Instant::now();
        for i in 0..5 {
            assert_eq!(t.retry_after("pair", 5, start), None);
            t.record_failure(&["pair"], start + Duration::from_secs(i));
        }
        let wait = t.retry_after("pair", 5, start + Duration::from_secs(10)).unwrap();
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(t.retry_after("pair", 5, start + Duration::from_secs(60)), None);
        assert_eq!(t.failures("pair", start + Duration::from_secs(60)), 4);
    }

    #[test]
    fn keys_are_counted_apart_and_clear_forgets_one() {
        let t = LoginThrottle::new(Duration::from_secs(60));
        let now = Instant::now();
        t.record_failure(&["ip:1", "acct:ada"], now);
        t.record_failure(&["ip:2", "acct:ada"], now);
        assert_eq!((t.failures("acct:ada", now), t.failures("ip:1", now), t.failures("acct:bob", now)), (2, 1, 0));
        t.clear("acct:ada");
        assert_eq!(t.failures("acct:ada", now), 0);
    }

    #[test]
    fn an_account_under_attack_slows_down_but_is_never_shut() {
        assert_eq!(LoginThrottle::delay_for(4), Duration::ZERO);
        assert_eq!(LoginThrottle::delay_for(5), Duration::from_millis(250));
        assert_eq!(LoginThrottle::delay_for(6), Duration::from_millis(500));
        assert_eq!(LoginThrottle::delay_for(1_000_000), LONGEST_DELAY);
    }

    #[test]
    fn sign_ups_are_limited_per_address() {
        let rate = AddressRate::per_hour(3);
        let (a, b) = ("10.0.0.1".to_string(), "10.0.0.2".to_string());
        assert!((0..3).all(|_| rate.check(&a).is_ok()));
        assert!(rate.check(&a).unwrap_err() > Duration::from_secs(60));
        assert!(rate.check(&b).is_ok());
    }
}
