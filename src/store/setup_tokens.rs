//! The `setup_tokens` table: first-run setup links (DESIGN.md §2). Only a token's
//! SHA-256 is stored; using one is a single conditional UPDATE, so two browsers
//! racing with the same link cannot both create an admin.

use diesel::prelude::*;

use super::schema::setup_tokens;
use super::{DbConn, StoreError};
use crate::db_run;

/// Stores a new token's hash, valid until `expires_at`.
pub fn insert(
    conn: &mut DbConn,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::insert_into(setup_tokens::table)
        .values((
            setup_tokens::token_hash.eq(token_hash),
            setup_tokens::created_at.eq(now),
            setup_tokens::expires_at.eq(expires_at),
        ))
        .execute(c))?;
    Ok(())
}

/// Whether the token is unused and unexpired (for showing the form; [`use_up`]
/// decides).
pub fn is_usable(conn: &mut DbConn, token_hash: &str, now: i64) -> Result<bool, StoreError> {
    let found: i64 = db_run!(conn, |c| setup_tokens::table
        .filter(setup_tokens::token_hash.eq(token_hash))
        .filter(setup_tokens::used_at.is_null())
        .filter(setup_tokens::expires_at.gt(now))
        .count()
        .get_result(c))?;
    Ok(found == 1)
}

/// Marks the token used if it is unused and unexpired; `false` otherwise.
pub fn use_up(conn: &mut DbConn, token_hash: &str, now: i64) -> Result<bool, StoreError> {
    let updated = db_run!(conn, |c| diesel::update(
        setup_tokens::table
            .filter(setup_tokens::token_hash.eq(token_hash))
            .filter(setup_tokens::used_at.is_null())
            .filter(setup_tokens::expires_at.gt(now))
    )
    .set(setup_tokens::used_at.eq(now))
    .execute(c))?;
    Ok(updated == 1)
}

/// Forgets used and expired tokens.
pub fn delete_spent(conn: &mut DbConn, now: i64) -> Result<usize, StoreError> {
    Ok(db_run!(conn, |c| diesel::delete(
        setup_tokens::table.filter(
            setup_tokens::used_at
                .is_not_null()
                .or(setup_tokens::expires_at.le(now))
        )
    )
    .execute(c))?)
}
