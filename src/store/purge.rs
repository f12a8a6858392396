//! Deleting what can no longer matter: expired pending requests, revoked token ids
//! past their expiry, refresh-token families past their absolute lifetime, and codes
//! and sessions a while after they expired.

use super::schema::sessions;
use super::{
    audit, authorization_codes, authorization_requests, login_throttles, refresh_tokens,
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

/// Rows deleted per statement: each statement commits on its own and holds its
/// locks only for one batch, so a large backlog never blocks requests for long.
pub const BATCH: i64 = 1_000;

/// Deletes expired rows, and audit events older than `audit_before`, batch by
/// batch; returns how many.
pub fn expired(conn: &mut DbConn, now: i64, audit_before: i64) -> Result<usize, StoreError> {
    let mut n = in_batches(|| authorization_requests::delete_expired(conn, now, BATCH))?;
    n += in_batches(|| authorization_codes::delete_expired(conn, now - CODE_RETENTION, BATCH))?;
    n += in_batches(|| revoked_access_tokens::delete_expired(conn, now, BATCH))?;
    n += in_batches(|| refresh_tokens::delete_expired(conn, now, BATCH))?;
    n += in_batches(|| sessions_expired(conn, now - SESSION_RETENTION, BATCH))?;
    n += in_batches(|| audit::delete_older_than(conn, audit_before, BATCH))?;
    // Small by construction (recent failures only): one statement.
    n += login_throttles::delete_stale(conn, now - LOGIN_THROTTLE_RETENTION)?;
    Ok(n)
}

/// Runs `batch` until it deletes fewer than [`BATCH`] rows.
fn in_batches(mut batch: impl FnMut() -> Result<usize, StoreError>) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let n = batch()?;
        total += n;
        if n < BATCH as usize {
            return Ok(total);
        }
    }
}

fn sessions_expired(conn: &mut DbConn, before: i64, limit: i64) -> Result<usize, StoreError> {
    let keys: Vec<String> = db_run!(conn, |c| sessions::table
        .select(sessions::id_hash)
        .filter(sessions::expires_at.lt(before))
        .limit(limit)
        .load(c))?;
    if keys.is_empty() {
        return Ok(0);
    }
    Ok(db_run!(conn, |c| diesel::delete(
        sessions::table.filter(sessions::id_hash.eq_any(&keys))
    )
    .execute(c))?)
}
