//! Password login throttling (DESIGN.md §5, RFC 9700 §4.x's advice against online
//! guessing). The rules, with time as an argument; the counting is the store's and
//! the caller's.
//!
//! - Failures are counted per (username, client address) and per username alone,
//!   **before** the password is checked, one attempt at a time: a parallel burst
//!   sees its own earlier attempts and stops at the threshold.
//! - From one address, [`PER_ADDRESS`]: 5 failures lock that address out of that
//!   username for 30 s, doubling with each further failure up to 15 minutes. The
//!   account's owner at another address is not affected.
//! - From all addresses together, [`PER_ACCOUNT`]: 30 failures lock the username
//!   everywhere (60 s, doubling, up to 15 minutes), so spreading a guess over many
//!   addresses still stops — and locking a user out takes many addresses, for
//!   minutes, not forever.
//! - Failures decay: one is forgotten every [`DECAY_SECONDS`] (5 minutes), so an old mistake
//!   does not count against a later attempt, and no lock lasts beyond its backoff.
//! - A locked attempt reads exactly like a wrong password, after the same argon2
//!   work (that part is the caller's): the page and the timing tell nothing.

/// The longest username accepted at the login form, in characters.
pub const MAX_USERNAME_CHARS: usize = 256;
/// The longest password accepted, in bytes (NIST SP 800-63B §5.1.1.2 asks for at
/// least 64 characters; argon2 would take more, but nobody types a kilobyte).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Whether a login form's username and password can be credentials at all: not
/// too long, no control characters. Anything else is a malformed form (400),
/// refused before it is hashed, counted or stored; it says nothing about accounts.
pub fn credentials_well_formed(username: &str, password: &str) -> bool {
    username.chars().count() <= MAX_USERNAME_CHARS
        && password.len() <= MAX_PASSWORD_BYTES
        && !username.chars().any(char::is_control)
        && !password.chars().any(|c| c.is_ascii_control())
}

/// A throttling rule: failures before a lock, the first lock, the longest lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub threshold: i32,
    pub base_seconds: i64,
    pub max_seconds: i64,
}

/// Failures from one client address against one username.
pub const PER_ADDRESS: Limit = Limit {
    threshold: 5,
    base_seconds: 30,
    max_seconds: 15 * 60,
};

/// Failures from every address against one username.
pub const PER_ACCOUNT: Limit = Limit {
    threshold: 30,
    base_seconds: 60,
    max_seconds: 15 * 60,
};

/// One failure is forgotten per this many seconds without another.
pub const DECAY_SECONDS: i64 = 300;

/// The counter is capped here: the backoff is long at its cap well before.
const MAX_FAILURES: i32 = 100;

/// The `client_address` of the per-username counter.
pub const ANY_ADDRESS: &str = "*";

/// A failure counter as stored: how many, and when the last one was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    pub failures: i32,
    pub last_failure_at: i64,
}

impl Throttle {
    /// Until when this counter locks attempts under `limit`, if it does.
    pub fn locked_until(self, limit: Limit) -> Option<i64> {
        if self.failures < limit.threshold {
            return None;
        }
        let doublings = u32::try_from(self.failures - limit.threshold)
            .unwrap_or(0)
            .min(20);
        let seconds = limit
            .base_seconds
            .saturating_mul(1_i64 << doublings)
            .min(limit.max_seconds);
        Some(self.last_failure_at + seconds)
    }

    /// Whether an attempt at `now` is refused without checking the password.
    pub fn is_locked(self, limit: Limit, now: i64) -> bool {
        self.locked_until(limit).is_some_and(|until| now < until)
    }

    /// The counter after `elapsed` seconds without failure.
    pub fn decayed(self, now: i64) -> i32 {
        let forgotten = (now - self.last_failure_at).max(0) / DECAY_SECONDS;
        let forgotten = i32::try_from(forgotten).unwrap_or(i32::MAX);
        (self.failures - forgotten).max(0)
    }

    /// The counter with one more failure at `now` (starting from nothing when absent).
    pub fn counted(previous: Option<Throttle>, now: i64) -> Throttle {
        let failures = previous.map_or(0, |t| t.decayed(now));
        Throttle {
            failures: (failures + 1).min(MAX_FAILURES),
            last_failure_at: now,
        }
    }

    /// Whether this count is the one that starts a lock under `limit` (for the audit).
    pub fn starts_lock(self, limit: Limit) -> bool {
        self.failures >= limit.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(failures: i32, at: i64) -> Throttle {
        Throttle {
            failures,
            last_failure_at: at,
        }
    }

    #[test]
    fn a_lock_starts_at_the_threshold_and_backs_off_to_a_cap() {
        assert_eq!(after(4, 0).locked_until(PER_ADDRESS), None);
        assert_eq!(after(5, 0).locked_until(PER_ADDRESS), Some(30));
        assert_eq!(after(6, 0).locked_until(PER_ADDRESS), Some(60));
        assert_eq!(after(9, 0).locked_until(PER_ADDRESS), Some(480));
        assert_eq!(after(10, 0).locked_until(PER_ADDRESS), Some(900));
        assert_eq!(after(100, 0).locked_until(PER_ADDRESS), Some(900));
        assert!(after(5, 0).is_locked(PER_ADDRESS, 29));
        assert!(!after(5, 0).is_locked(PER_ADDRESS, 30));
        assert!(!after(29, 0).is_locked(PER_ACCOUNT, 0));
        assert!(after(30, 0).is_locked(PER_ACCOUNT, 59));
    }

    #[test]
    fn a_burst_counted_one_by_one_stops_at_the_threshold() {
        // Every attempt of a parallel burst is counted before its password is
        // checked; the sixth sees five failures at the same instant and is locked.
        let mut counter = None;
        let mut checked = 0;
        for _ in 0..20 {
            if counter.is_some_and(|c: Throttle| c.is_locked(PER_ADDRESS, 1_000)) {
                continue;
            }
            counter = Some(Throttle::counted(counter, 1_000));
            checked += 1;
        }
        assert_eq!(checked, PER_ADDRESS.threshold);
    }

    #[test]
    fn failures_decay_one_per_five_minutes() {
        let t = after(5, 0);
        assert_eq!(t.decayed(299), 5);
        assert_eq!(t.decayed(300), 4);
        assert_eq!(t.decayed(1_500), 0);
        assert_eq!(t.decayed(100_000), 0);
        assert_eq!(Throttle::counted(Some(t), 600), after(4, 600));
        assert_eq!(Throttle::counted(None, 7), after(1, 7));
    }

    #[test]
    fn no_lock_outlives_its_backoff_however_long_the_sweep() {
        // A guesser at one address trying as soon as each lock ends, for a day:
        // every lock at most 15 minutes, and about one guess per five minutes.
        let mut counter: Option<Throttle> = None;
        let mut now = 0;
        let mut attempts = 0;
        while now < 86_400 {
            match counter.and_then(|c| c.locked_until(PER_ADDRESS)) {
                Some(until) if now < until => {
                    assert!(until - now <= PER_ADDRESS.max_seconds);
                    now = until;
                }
                _ => {
                    counter = Some(Throttle::counted(counter, now));
                    attempts += 1;
                }
            }
        }
        assert!(attempts < 400, "{attempts} attempts in a day");
    }

    #[test]
    fn the_counter_is_capped() {
        let mut t = None;
        for _ in 0..1_000 {
            t = Some(Throttle::counted(t, 0));
        }
        assert_eq!(t.map(|t| t.failures), Some(MAX_FAILURES));
    }
}
