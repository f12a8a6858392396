//! Deleting what can no longer matter: expired pending requests, revoked token ids
//! past their expiry, refresh-token families past their absolute lifetime, and codes
//! and sessions a while after they expired.

use super::schema::sessions;
use super::{
    authorization_codes, authorization_requests, login_throttles, refresh_tokens,
    revoked_access_tokens,
};
use super::{DbConn, StoreError};
use crate::db_run;
use diesel::prelude::*;

/// How long a used code is kept after it expired, so that a late replay still
/// revokes what it issued (RFC 6749 §4.1.2).
pub const CODE_RETENTION: i64 = 86_400;
/// How long an ended or expired session row is kept (for the audit of `sid`s).
pub const SESSION_RETENTION: i64 = 86_400;

/// A login-failure counter untouched this long has decayed to nothing and no lock
/// of it holds (`protocol::login`: at most 100 failures, one forgotten per 5 minutes).
pub const LOGIN_THROTTLE_RETENTION: i64 = 86_400;

/// Deletes expired rows; returns how many.
pub fn expired(conn: &mut DbConn, now: i64) -> Result<usize, StoreError> {
    let mut n = authorization_requests::delete_expired(conn, now)?;
    n += authorization_codes::delete_expired(conn, now - CODE_RETENTION)?;
    n += revoked_access_tokens::delete_expired(conn, now)?;
    n += refresh_tokens::delete_expired(conn, now)?;
    n += login_throttles::delete_stale(conn, now - LOGIN_THROTTLE_RETENTION)?;
    let before = now - SESSION_RETENTION;
    n += db_run!(conn, |c| diesel::delete(
        sessions::table.filter(sessions::expires_at.lt(before))
    )
    .execute(c))?;
    Ok(n)
}
