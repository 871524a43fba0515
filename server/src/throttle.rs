//! Login throttling: failed logins lock out the client address and the
//! user name they named, for a time that doubles with each failure past a
//! few free ones. A user name under attack stays open to addresses that
//! have not failed: a flood cannot lock its owner out from a clean place.
//!
//! Both tables are bounded; entries idle for [`FORGET_AFTER`] go first.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::client::ClientAddr;

/// Failures from one address before it is locked out.
pub const FREE_PER_ADDRESS: u32 = 5;
/// Failures naming one user before failing addresses are locked out of it.
pub const FREE_PER_USER: u32 = 10;
/// The first lock-out; each further failure doubles it, up to [`MAX_LOCK`].
pub const FIRST_LOCK: Duration = Duration::from_secs(1);
/// The longest lock-out.
pub const MAX_LOCK: Duration = Duration::from_secs(15 * 60);
/// A record without a failure for this long is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Entries per table; past it, idle ones are dropped, then new ones are
/// not recorded (the argon2 semaphore still bounds the cost).
const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Strikes {
    failures: u32,
    last: Instant,
    locked_until: Option<Instant>,
}

impl Strikes {
    fn locked(&self, now: Instant) -> Option<Duration> {
        self.locked_until
            .and_then(|until| until.checked_duration_since(now))
            .filter(|left| !left.is_zero())
    }

    fn fail(&mut self, now: Instant, free: u32) {
        self.failures = self.failures.saturating_add(1);
        self.last = now;
        if self.failures > free {
            let doublings = (self.failures - free - 1).min(20);
            let lock = FIRST_LOCK.saturating_mul(1 << doublings).min(MAX_LOCK);
            self.locked_until = Some(now + lock);
        }
    }
}

/// Failure records keyed by `K`.
#[derive(Debug)]
struct Table<K> {
    entries: HashMap<K, Strikes>,
}

impl<K: std::hash::Hash + Eq + Clone> Table<K> {
    fn new() -> Table<K> {
        Table {
            entries: HashMap::new(),
        }
    }

    fn get(&mut self, key: &K, now: Instant) -> Option<Strikes> {
        let strikes = *self.entries.get(key)?;
        if now.duration_since(strikes.last) >= FORGET_AFTER && strikes.locked(now).is_none() {
            self.entries.remove(key);
            return None;
        }
        Some(strikes)
    }

    fn fail(&mut self, key: &K, now: Instant, free: u32) {
        if !self.entries.contains_key(key) && self.entries.len() >= MAX_ENTRIES {
            self.entries.retain(|_, s| {
                now.duration_since(s.last) < FORGET_AFTER || s.locked(now).is_some()
            });
            if self.entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        let strikes = match self.get(key, now) {
            Some(s) => s,
            None => Strikes {
                failures: 0,
                last: now,
                locked_until: None,
            },
        };
        let mut strikes = strikes;
        strikes.fail(now, free);
        self.entries.insert(key.clone(), strikes);
    }

    fn clear(&mut self, key: &K) {
        self.entries.remove(key);
    }
}

/// Why a login is not tried now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedOut {
    pub why: &'static str,
    pub retry_after: Duration,
}

impl From<LockedOut> for crate::error::ApiError {
    /// A 429 that says why and when to retry.
    fn from(locked: LockedOut) -> Self {
        let secs = locked.retry_after.as_secs().max(1);
        crate::error::ApiError::Limited {
            detail: format!("{}: retry in {secs} s", locked.why),
            retry_after_secs: secs,
        }
    }
}

/// The server's login throttle.
#[derive(Debug)]
pub struct LoginThrottle {
    tables: Mutex<(Table<ClientAddr>, Table<String>)>,
}

impl Default for LoginThrottle {
    fn default() -> LoginThrottle {
        LoginThrottle {
            tables: Mutex::new((Table::new(), Table::new())),
        }
    }
}

impl LoginThrottle {
    /// Whether a login from `addr` naming `user` may be tried now.
    pub fn check(&self, addr: ClientAddr, user: &str) -> Result<(), LockedOut> {
        self.check_at(addr, user, Instant::now())
    }

    fn check_at(&self, addr: ClientAddr, user: &str, now: Instant) -> Result<(), LockedOut> {
        let mut guard = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let (by_addr, by_user) = &mut *guard;
        let from = by_addr.get(&addr, now);
        if let Some(left) = from.and_then(|s| s.locked(now)) {
            return Err(LockedOut {
                why: "too many failed logins from this address",
                retry_after: left,
            });
        }
        // A user under attack: addresses with a failure on record wait; a
        // clean address still gets its try.
        if from.is_some()
            && let Some(left) = by_user
                .get(&user.to_owned(), now)
                .and_then(|s| s.locked(now))
        {
            return Err(LockedOut {
                why: "too many failed logins for this user",
                retry_after: left,
            });
        }
        Ok(())
    }

    /// Records a failed login.
    pub fn failed(&self, addr: ClientAddr, user: &str) {
        self.failed_at(addr, user, Instant::now());
    }

    fn failed_at(&self, addr: ClientAddr, user: &str, now: Instant) {
        let mut guard = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let (by_addr, by_user) = &mut *guard;
        by_addr.fail(&addr, now, FREE_PER_ADDRESS);
        by_user.fail(&user.to_owned(), now, FREE_PER_USER);
    }

    /// Records a successful login: the address starts clean again. The
    /// user's record stays: an attacker elsewhere is still failing.
    pub fn succeeded(&self, addr: ClientAddr) {
        let mut guard = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        guard.0.clear(&addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8) -> ClientAddr {
        ClientAddr::of(std::net::IpAddr::from([127, 0, 0, last]))
    }

    #[test]
    fn an_address_is_locked_after_its_free_failures_for_a_doubling_time() {
        let throttle = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..FREE_PER_ADDRESS {
            assert!(throttle.check_at(addr(1), "admin", t0).is_ok());
            throttle.failed_at(addr(1), "admin", t0);
        }
        assert!(throttle.check_at(addr(1), "admin", t0).is_ok());
        throttle.failed_at(addr(1), "admin", t0);
        let locked = throttle.check_at(addr(1), "admin", t0).unwrap_err();
        assert_eq!(locked.retry_after, FIRST_LOCK);
        assert!(locked.why.contains("address"));
        // Once the lock is over, one more failure locks twice as long.
        let t1 = t0 + FIRST_LOCK;
        assert!(throttle.check_at(addr(1), "admin", t1).is_ok());
        throttle.failed_at(addr(1), "admin", t1);
        assert_eq!(
            throttle
                .check_at(addr(1), "admin", t1)
                .unwrap_err()
                .retry_after,
            FIRST_LOCK * 2
        );
        // Another address is not concerned.
        assert!(throttle.check_at(addr(2), "admin", t1).is_ok());
    }

    #[test]
    fn a_user_under_attack_stays_open_to_a_clean_address() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        // Twenty addresses fail once each: the user is locked for them.
        for i in 1..=20 {
            throttle.failed_at(addr(i), "admin", now);
        }
        let locked = throttle.check_at(addr(3), "admin", now).unwrap_err();
        assert!(locked.why.contains("user"), "{locked:?}");
        assert!(throttle.check_at(addr(3), "someone-else", now).is_ok());
        assert!(throttle.check_at(addr(200), "admin", now).is_ok());
    }

    #[test]
    fn the_lock_out_never_exceeds_its_cap() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..1_000 {
            throttle.failed_at(addr(1), "admin", now);
        }
        assert_eq!(
            throttle
                .check_at(addr(1), "admin", now)
                .unwrap_err()
                .retry_after,
            MAX_LOCK
        );
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a = ClientAddr::of("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ClientAddr::of("2001:db8:1:2:bbbb::7".parse().unwrap());
        let c = ClientAddr::of("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            ClientAddr::of("::ffff:10.0.0.1".parse().unwrap()),
            ClientAddr::of("10.0.0.1".parse().unwrap())
        );
    }

    #[test]
    fn success_clears_the_address() {
        let throttle = LoginThrottle::default();
        let now = Instant::now();
        for _ in 0..=FREE_PER_ADDRESS {
            throttle.failed_at(addr(1), "admin", now);
        }
        assert!(throttle.check_at(addr(1), "admin", now).is_err());
        throttle.succeeded(addr(1));
        assert!(throttle.check_at(addr(1), "admin", now).is_ok());
    }
}
