//! Password login rules (DESIGN.md §5): per-account lockout with backoff. The same
//! answer is given for an unknown user, a wrong password, a locked or a disabled
//! account, after the same argon2 work — that part is the caller's.

/// Failures in a row before the account is locked.
pub const LOCKOUT_THRESHOLD: i32 = 5;
/// First lockout; it doubles with each further failure.
pub const LOCKOUT_BASE_SECONDS: i64 = 30;
/// The longest lockout.
pub const LOCKOUT_MAX_SECONDS: i64 = 15 * 60;

/// Until when the account is locked after `failures` failed logins in a row.
pub fn locked_until(failures: i32, now: i64) -> Option<i64> {
    if failures < LOCKOUT_THRESHOLD {
        return None;
    }
    let doublings = u32::try_from(failures - LOCKOUT_THRESHOLD)
        .unwrap_or(0)
        .min(16);
    let seconds = (LOCKOUT_BASE_SECONDS << doublings).min(LOCKOUT_MAX_SECONDS);
    Some(now + seconds)
}

/// Whether a lock set until `locked_until` still holds at `now`.
pub fn is_locked(locked_until: Option<i64>, now: i64) -> bool {
    locked_until.is_some_and(|t| now < t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_starts_at_the_threshold_and_backs_off_to_a_cap() {
        assert_eq!(locked_until(4, 0), None);
        assert_eq!(locked_until(5, 0), Some(30));
        assert_eq!(locked_until(6, 0), Some(60));
        assert_eq!(locked_until(9, 0), Some(480));
        assert_eq!(locked_until(10, 0), Some(900));
        assert_eq!(locked_until(1_000, 0), Some(900));
        assert!(is_locked(Some(30), 29));
        assert!(!is_locked(Some(30), 30));
        assert!(!is_locked(None, 0));
    }
}
