//! The `authorization_requests` table: checked authorization requests waiting for
//! login and consent (DESIGN.md §5). The pages carry only the id.

use diesel::prelude::*;

use super::schema::authorization_requests;
use super::{DbConn, StoreError};
use crate::db_run;

/// A pending authorization request. No `Debug`: it carries the CSRF token.
#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = authorization_requests)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct PendingRequestRow {
    pub id: String,
    /// SHA-256 of the browser cookie of the browser that started it.
    pub browser_hash: String,
    pub csrf_token: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub scope: String,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    /// JSON of [`Interaction`](crate::protocol::interaction::Interaction).
    pub interaction: String,
    /// The session that signed in while answering this request.
    pub authenticated_sid: Option<String>,
    /// RFC 8707: the API the request named, if any.
    pub resource: Option<String>,
}

pub fn insert(conn: &mut DbConn, row: &PendingRequestRow) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::insert_into(authorization_requests::table)
        .values(row)
        .execute(c))?;
    Ok(())
}

/// The request with this id, if it exists and has not expired.
pub fn find_live(
    conn: &mut DbConn,
    id: &str,
    now: i64,
) -> Result<Option<PendingRequestRow>, StoreError> {
    Ok(db_run!(conn, |c| authorization_requests::table
        .find(id)
        .filter(authorization_requests::expires_at.gt(now))
        .select(PendingRequestRow::as_select())
        .get_result(c)
        .optional())?)
}

/// Records that session `sid` signed in for this request.
pub fn mark_authenticated(conn: &mut DbConn, id: &str, sid: &str) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::update(
        authorization_requests::table.find(id)
    )
    .set(authorization_requests::authenticated_sid.eq(sid))
    .execute(c))?;
    Ok(())
}

/// Removes the request; true for the one caller that removed it (so a double
/// submit answers once).
pub fn take(conn: &mut DbConn, id: &str) -> Result<bool, StoreError> {
    let n = db_run!(conn, |c| diesel::delete(
        authorization_requests::table.find(id)
    )
    .execute(c))?;
    Ok(n == 1)
}

/// Removes at most `limit` expired requests; returns how many.
pub fn delete_expired(conn: &mut DbConn, now: i64, limit: i64) -> Result<usize, StoreError> {
    let keys: Vec<String> = db_run!(conn, |c| authorization_requests::table
        .select(authorization_requests::id)
        .filter(authorization_requests::expires_at.le(now))
        .limit(limit)
        .load(c))?;
    if keys.is_empty() {
        return Ok(0);
    }
    Ok(db_run!(conn, |c| diesel::delete(
        authorization_requests::table.filter(authorization_requests::id.eq_any(&keys))
    )
    .execute(c))?)
}
