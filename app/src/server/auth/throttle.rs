//! Login throttling: at most `limit` failures per window, counted per client IP and per account.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginThrottle {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginThrottle {
    pub fn new(limit: usize, window: Duration) -> Self {
        Self { limit, window, failures: Mutex::new(HashMap::new()) }
    }

    /// `None` if an attempt under all `keys` may go ahead; otherwise how long to wait.
    pub fn check(&self, keys: &[&str], now: Instant) -> Option<Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .filter_map(|k| {
                let q = map.get_mut(*k)?;
                prune(q, now, self.window);
                (q.len() >= self.limit).then(|| self.window.saturating_sub(now - q[0]))
            })
            .max()
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

    /// Forgets the failures under `key` (an account after a successful login).
    pub fn clear(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

fn prune(q: &mut VecDeque<Instant>, now: Instant, window: Duration) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_failure_in_a_minute_is_refused_until_the_first_ages_out() {
        let t = LoginThrottle::new(5, Duration::from_secs(60));
        let start = Instant::now();
        for i in 0..5 {
            assert_eq!(t.check(&["ip:1", "acct:ada"], start), None);
            t.record_failure(&["ip:1", "acct:ada"], start + Duration::from_secs(i));
        }
        let wait = t.check(&["ip:1", "acct:ada"], start + Duration::from_secs(10)).unwrap();
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(t.check(&["ip:1"], start + Duration::from_secs(60)), None);
    }

    #[test]
    fn keys_are_counted_apart_and_clear_forgets_one() {
        let t = LoginThrottle::new(2, Duration::from_secs(60));
        let now = Instant::now();
        t.record_failure(&["ip:1", "acct:ada"], now);
        t.record_failure(&["ip:2", "acct:ada"], now);
        assert!(t.check(&["ip:3", "acct:ada"], now).is_some());
        assert_eq!(t.check(&["ip:1", "acct:bob"], now), None);
        t.clear("acct:ada");
        assert_eq!(t.check(&["ip:3", "acct:ada"], now), None);
    }
}
