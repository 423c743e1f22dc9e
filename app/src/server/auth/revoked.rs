//! Logins ended in the last access-token lifetime. An access token is checked without the
//! database; this set is what lets a logout, a revoked login or a password reset stop the
//! access tokens already issued to those logins at once, instead of after their 15 minutes.
//!
//! In memory, per node, refilled from `sessions.revoked_at` when the server starts. With several
//! nodes, the bus tells every node (and a node refills it after losing the bus for a while).

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct RevokedLogins {
    /// Login id → when its last access token expires (ms); after that the entry is useless.
    until: Mutex<HashMap<i64, i64>>,
}

impl RevokedLogins {
    /// Refuses the access tokens of `logins` from now on; `access_ttl_ms` is the longest any of
    /// them can still live.
    pub fn add(&self, logins: &[i64], revoked_at: i64, access_ttl_ms: i64) {
        let mut until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        // Keep the map to the logins whose tokens could still be alive.
        if until.len() > 1024 {
            until.retain(|_, t| *t > revoked_at);
        }
        for id in logins {
            until.insert(*id, revoked_at + access_ttl_ms);
        }
    }

    /// Whether an access token of login `id` must be refused at `now`.
    pub fn contains(&self, id: i64, now: i64) -> bool {
        let until = self.until.lock().unwrap_or_else(|e| e.into_inner());
        until.get(&id).is_some_and(|t| *t > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_login_is_refused_until_its_tokens_expire() {
        let r = RevokedLogins::default();
        r.add(&[7, 9], 1_000, 900_000);
        assert!(r.contains(7, 1_001) && r.contains(9, 900_999));
        assert!(!r.contains(7, 901_000), "its tokens have expired anyway");
        assert!(!r.contains(8, 1_001), "another login is untouched");
    }

    #[test]
    fn the_set_forgets_what_cannot_matter_any_more() {
        let r = RevokedLogins::default();
        r.add(&(0..2000).collect::<Vec<_>>(), 0, 10);
        r.add(&[5_000], 100, 10);
        assert_eq!(r.until.lock().unwrap().len(), 1);
    }
}
