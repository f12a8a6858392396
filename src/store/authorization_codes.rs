//! The `authorization_codes` table. Codes are stored as SHA-256 and consumed by one
//! conditional UPDATE: of two concurrent exchanges, exactly one gets the row.

use diesel::prelude::*;

use super::schema::authorization_codes;
use super::{DbConn, StoreError};
use crate::db_run;

/// An issued code. No `Debug`: the hash identifies the code.
#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = authorization_codes)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct CodeRow {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub sid: Option<String>,
    pub redirect_uri: String,
    pub scope: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub auth_time: i64,
    pub amr: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
    /// The access token issued from the code, revoked if the code is replayed.
    pub access_token_jti: Option<String>,
    pub access_token_expires_at: Option<i64>,
    pub redirect_uri_given: bool,
    /// RFC 8707: the API the grant is for, if the request named one.
    pub resource: Option<String>,
}

pub fn insert(conn: &mut DbConn, row: &CodeRow) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::insert_into(authorization_codes::table)
        .values(row)
        .execute(c))?;
    Ok(())
}

/// Marks the code of `client_id` consumed and returns it — only for the first
/// caller; a used, unknown or foreign code gives `None`.
pub fn consume(
    conn: &mut DbConn,
    code_hash: &str,
    client_id: &str,
    now: i64,
) -> Result<Option<CodeRow>, StoreError> {
    Ok(db_run!(conn, |c| diesel::update(
        authorization_codes::table
            .find(code_hash)
            .filter(authorization_codes::client_id.eq(client_id))
            .filter(authorization_codes::consumed_at.is_null())
    )
    .set(authorization_codes::consumed_at.eq(now))
    .returning(CodeRow::as_returning())
    .get_result(c)
    .optional())?)
}

/// The code, used or not.
pub fn find(conn: &mut DbConn, code_hash: &str) -> Result<Option<CodeRow>, StoreError> {
    Ok(db_run!(conn, |c| authorization_codes::table
        .find(code_hash)
        .select(CodeRow::as_select())
        .get_result(c)
        .optional())?)
}

/// Records the access token issued from the code.
pub fn record_access_token(
    conn: &mut DbConn,
    code_hash: &str,
    jti: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::update(
        authorization_codes::table.find(code_hash)
    )
    .set((
        authorization_codes::access_token_jti.eq(jti),
        authorization_codes::access_token_expires_at.eq(expires_at),
    ))
    .execute(c))?;
    Ok(())
}

/// Removes at most `limit` codes that expired before `before` (used or not).
pub fn delete_expired(conn: &mut DbConn, before: i64, limit: i64) -> Result<usize, StoreError> {
    let keys: Vec<String> = db_run!(conn, |c| authorization_codes::table
        .select(authorization_codes::code_hash)
        .filter(authorization_codes::expires_at.lt(before))
        .limit(limit)
        .load(c))?;
    if keys.is_empty() {
        return Ok(0);
    }
    Ok(db_run!(conn, |c| diesel::delete(
        authorization_codes::table.filter(authorization_codes::code_hash.eq_any(&keys))
    )
    .execute(c))?)
}
