//! The `sessions` table: login sessions. The cookie holds a random id; the table its
//! SHA-256, so a copy of the table opens no session.

use diesel::prelude::*;

use super::schema::sessions;
use super::{DbConn, StoreError};
use crate::db_run;

/// A login session. No `Debug`: its key identifies the cookie.
#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = sessions)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct SessionRow {
    pub id_hash: String,
    /// Public session id (the OIDC `sid` claim).
    pub sid: String,
    pub user_id: String,
    pub auth_time: i64,
    /// JSON array of RFC 8176 methods.
    pub amr: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub ended_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, row: &SessionRow) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::insert_into(sessions::table)
        .values(row)
        .execute(c))?;
    Ok(())
}

/// The session, if it has neither ended nor expired.
pub fn find_live(
    conn: &mut DbConn,
    id_hash: &str,
    now: i64,
) -> Result<Option<SessionRow>, StoreError> {
    Ok(db_run!(conn, |c| sessions::table
        .find(id_hash)
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select(SessionRow::as_select())
        .get_result(c)
        .optional())?)
}

/// Records activity: the idle deadline moves to `expires_at`.
pub fn touch(
    conn: &mut DbConn,
    id_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::update(sessions::table.find(id_hash))
        .set((
            sessions::last_seen_at.eq(now),
            sessions::expires_at.eq(expires_at)
        ))
        .execute(c))?;
    Ok(())
}

/// Ends a session (logout, or a new login replacing it).
pub fn end(conn: &mut DbConn, id_hash: &str, now: i64) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::update(sessions::table.find(id_hash))
        .filter(sessions::ended_at.is_null())
        .set(sessions::ended_at.eq(now))
        .execute(c))?;
    Ok(())
}

/// The user's sessions that have neither ended nor expired, newest first.
pub fn live_of_user(
    conn: &mut DbConn,
    user_id: &str,
    now: i64,
) -> Result<Vec<SessionRow>, StoreError> {
    Ok(db_run!(conn, |c| sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .order(sessions::created_at.desc())
        .select(SessionRow::as_select())
        .load(c))?)
}

/// Ends every live session of the user; returns how many.
pub fn end_all_of_user(conn: &mut DbConn, user_id: &str, now: i64) -> Result<usize, StoreError> {
    Ok(db_run!(conn, |c| diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::ended_at.is_null())
            .filter(sessions::expires_at.gt(now))
    )
    .set(sessions::ended_at.eq(now))
    .execute(c))?)
}

/// Ends every live session of the user but `keep_id_hash`; returns how many.
pub fn end_others_of_user(
    conn: &mut DbConn,
    user_id: &str,
    keep_id_hash: &str,
    now: i64,
) -> Result<usize, StoreError> {
    Ok(db_run!(conn, |c| diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id_hash.ne(keep_id_hash))
            .filter(sessions::ended_at.is_null())
            .filter(sessions::expires_at.gt(now))
    )
    .set(sessions::ended_at.eq(now))
    .execute(c))?)
}

/// The user proved who they are again (their password): `auth_time` becomes `now`.
pub fn reauthenticated(conn: &mut DbConn, id_hash: &str, now: i64) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::update(sessions::table.find(id_hash))
        .filter(sessions::ended_at.is_null())
        .set((sessions::auth_time.eq(now), sessions::last_seen_at.eq(now)))
        .execute(c))?;
    Ok(())
}

/// Ends the user's live session with public id `sid`; false when there is none.
pub fn end_by_sid(
    conn: &mut DbConn,
    user_id: &str,
    sid: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = db_run!(conn, |c| diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::sid.eq(sid))
            .filter(sessions::ended_at.is_null())
    )
    .set(sessions::ended_at.eq(now))
    .execute(c))?;
    Ok(n == 1)
}
