//! The `revoked_access_tokens` table: ids of revoked JWT access tokens, kept until
//! the token would have expired anyway.

use diesel::prelude::*;

use super::schema::revoked_access_tokens;
use super::{DbConn, StoreError};
use crate::db_run;

/// Revokes the token `jti` (expiring at `expires_at`); revoking twice is harmless.
pub fn revoke(conn: &mut DbConn, jti: &str, expires_at: i64, now: i64) -> Result<(), StoreError> {
    if expires_at <= now {
        return Ok(());
    }
    db_run!(conn, |c| diesel::insert_into(revoked_access_tokens::table)
        .values((
            revoked_access_tokens::jti.eq(jti),
            revoked_access_tokens::revoked_at.eq(now),
            revoked_access_tokens::expires_at.eq(expires_at),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

pub fn is_revoked(conn: &mut DbConn, jti: &str) -> Result<bool, StoreError> {
    let n: i64 = db_run!(conn, |c| revoked_access_tokens::table
        .filter(revoked_access_tokens::jti.eq(jti))
        .count()
        .get_result(c))?;
    Ok(n > 0)
}

/// Forgets at most `limit` ids of tokens that have expired.
pub fn delete_expired(conn: &mut DbConn, now: i64, limit: i64) -> Result<usize, StoreError> {
    let keys: Vec<String> = db_run!(conn, |c| revoked_access_tokens::table
        .select(revoked_access_tokens::jti)
        .filter(revoked_access_tokens::expires_at.le(now))
        .limit(limit)
        .load(c))?;
    if keys.is_empty() {
        return Ok(0);
    }
    Ok(db_run!(conn, |c| diesel::delete(
        revoked_access_tokens::table.filter(revoked_access_tokens::jti.eq_any(&keys))
    )
    .execute(c))?)
}
