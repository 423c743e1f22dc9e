//! What one user, one address and the whole process may open and send: sockets per user, per
//! IP and in all (each socket holds a permit), and one posting rate per user shared by every
//! way of posting (the socket and the plain form).

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Socket caps (configurable: `HUDDLE_WS_PER_USER`, `HUDDLE_WS_PER_IP`, `HUDDLE_WS_MAX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketCaps {
    pub per_user: usize,
    pub per_ip: usize,
    pub total: usize,
}

impl Default for SocketCaps {
    fn default() -> Self {
        Self { per_user: 20, per_ip: 200, total: 20_000 }
    }
}

/// Why a socket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    User,
    Ip,
    Total,
}

impl Refused {
    /// The close reason the client is given.
    pub fn reason(self) -> &'static str {
        match self {
            Refused::User => "too many connections for this user",
            Refused::Ip => "too many connections from this address",
            Refused::Total => "server at capacity",
        }
    }
}

#[derive(Default)]
struct Counts {
    users: HashMap<i64, usize>,
    ips: HashMap<IpAddr, usize>,
    total: usize,
}

/// The sockets open now, against their caps.
pub struct Sockets {
    caps: SocketCaps,
    counts: Mutex<Counts>,
}

/// One open socket's place; given back when dropped.
pub struct SocketPermit {
    sockets: Arc<Sockets>,
    user: i64,
    ip: IpAddr,
}

impl Sockets {
    pub fn new(caps: SocketCaps) -> Arc<Self> {
        Arc::new(Self { caps, counts: Mutex::new(Counts::default()) })
    }

    /// A place for one more socket of `user` from `ip`, unless a cap is reached.
    pub fn acquire(self: &Arc<Self>, user: i64, ip: IpAddr) -> Result<SocketPermit, Refused> {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if c.total >= self.caps.total {
            return Err(Refused::Total);
        }
        if c.users.get(&user).copied().unwrap_or(0) >= self.caps.per_user {
            return Err(Refused::User);
        }
        if c.ips.get(&ip).copied().unwrap_or(0) >= self.caps.per_ip {
            return Err(Refused::Ip);
        }
        *c.users.entry(user).or_default() += 1;
        *c.ips.entry(ip).or_default() += 1;
        c.total += 1;
        Ok(SocketPermit { sockets: self.clone(), user, ip })
    }

    /// Whether the process holds as many sockets as it will: readiness says 503 then.
    pub fn saturated(&self) -> bool {
        self.counts.lock().map(|c| c.total >= self.caps.total).unwrap_or(true)
    }

    /// Sockets open now.
    pub fn open(&self) -> usize {
        self.counts.lock().map(|c| c.total).unwrap_or(0)
    }
}

fn decrement<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl Drop for SocketPermit {
    fn drop(&mut self) {
        let mut c = self.sockets.counts.lock().unwrap_or_else(|p| p.into_inner());
        decrement(&mut c.users, &self.user);
        decrement(&mut c.ips, &self.ip);
        c.total -= 1;
    }
}

/// A rate per key (a user, an address), GCRA by governor. Keys whose budget is full again are
/// forgotten every few thousand checks, so the map holds only the recently active.
pub struct KeyedRate<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    checks: AtomicU32,
}

impl<K: Hash + Eq + Clone> KeyedRate<K> {
    const PRUNE_EVERY: u32 = 4096;

    pub fn new(quota: Quota) -> Self {
        Self { limiter: RateLimiter::keyed(quota), checks: AtomicU32::new(0) }
    }

    /// `n` a second on average, bursts of `burst`.
    pub fn per_second(n: u32, burst: u32) -> Self {
        Self::new(Quota::per_second(nonzero(n)).allow_burst(nonzero(burst)))
    }

    pub fn per_minute(n: u32) -> Self {
        Self::new(Quota::per_minute(nonzero(n)))
    }

    pub fn per_hour(n: u32) -> Self {
        Self::new(Quota::per_hour(nonzero(n)))
    }

    /// `Ok` if `key` may act now (and counts it); else how long until it may.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        use governor::clock::{Clock, DefaultClock};
        if self.checks.fetch_add(1, Ordering::Relaxed) % Self::PRUNE_EVERY == Self::PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Posts per user: 10 a second on average, bursts of 20, whichever way they come.
pub fn post_rate() -> KeyedRate<i64> {
    KeyedRate::per_second(POSTS_PER_SECOND, POST_BURST)
}

pub const POSTS_PER_SECOND: u32 = 10;
pub const POST_BURST: u32 = 20;

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cap_refuses_the_socket_past_it_and_a_dropped_permit_frees_its_place() {
        let sockets = Sockets::new(SocketCaps { per_user: 2, per_ip: 3, total: 4 });
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let first = sockets.acquire(1, a).unwrap();
        let _second = sockets.acquire(1, a).unwrap();
        assert_eq!(sockets.acquire(1, b).err(), Some(Refused::User));
        let _third = sockets.acquire(2, a).unwrap();
        assert_eq!(sockets.acquire(3, a).err(), Some(Refused::Ip));
        let _fourth = sockets.acquire(3, b).unwrap();
        assert!(sockets.saturated());
        assert_eq!(sockets.acquire(4, b).err(), Some(Refused::Total));
        drop(first);
        assert!(!sockets.saturated());
        assert!(sockets.acquire(1, b).is_ok());
    }

    #[test]
    fn posts_are_limited_per_user_after_a_burst() {
        let rate = post_rate();
        let allowed = (0..30).filter(|_| rate.check(&7).is_ok()).count();
        assert_eq!(allowed, POST_BURST as usize);
        assert!(rate.check(&7).unwrap_err() > Duration::ZERO);
        assert!(rate.check(&8).is_ok(), "another user has their own budget");
    }
}
