//! The `refresh_token_families` and `refresh_tokens` tables. Tokens are stored as
//! SHA-256. A rotation is one conditional UPDATE (`WHERE rotated_at IS NULL`): of
//! concurrent rotations of one token exactly one succeeds. Revoking a family also
//! revokes the access tokens issued with its refresh tokens.

use diesel::prelude::*;

use super::schema::{refresh_token_families, refresh_tokens};
use super::{consents, revoked_access_tokens, users, DbConn, StoreError};
use crate::db_run;
use crate::protocol::scope::Scope;

/// One grant's chain of refresh tokens.
#[derive(Queryable, Selectable, Insertable, Clone, Debug)]
#[diesel(table_name = refresh_token_families)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct FamilyRow {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    /// The code the family came from: a replay of it revokes the family.
    pub origin_code_hash: Option<String>,
    /// The granted scope, the most any refresh may ask for.
    pub scope: String,
    pub sid: Option<String>,
    pub auth_time: i64,
    pub amr: String,
    pub created_at: i64,
    pub absolute_expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    /// RFC 8707: the API the family's access tokens are for, if any.
    pub resource: Option<String>,
}

/// One refresh token. No `Debug`: the hash identifies the token.
#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = refresh_tokens)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub family_id: String,
    /// The scope of the access token issued together with this refresh token.
    pub scope: String,
    pub created_at: i64,
    pub idle_expires_at: i64,
    pub rotated_at: Option<i64>,
    pub successor_hash: Option<String>,
    pub access_token_jti: Option<String>,
    pub access_token_expires_at: Option<i64>,
}

pub fn insert_family(conn: &mut DbConn, row: &FamilyRow) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::insert_into(refresh_token_families::table)
        .values(row)
        .execute(c))?;
    Ok(())
}

pub fn insert_token(conn: &mut DbConn, row: &RefreshTokenRow) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(c))?;
    Ok(())
}

/// The token and its family.
pub fn find(
    conn: &mut DbConn,
    token_hash: &str,
) -> Result<Option<(RefreshTokenRow, FamilyRow)>, StoreError> {
    Ok(db_run!(conn, |c| refresh_tokens::table
        .inner_join(refresh_token_families::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((RefreshTokenRow::as_select(), FamilyRow::as_select()))
        .get_result(c)
        .optional())?)
}

/// The token alone.
pub fn find_token(
    conn: &mut DbConn,
    token_hash: &str,
) -> Result<Option<RefreshTokenRow>, StoreError> {
    Ok(db_run!(conn, |c| refresh_tokens::table
        .find(token_hash)
        .select(RefreshTokenRow::as_select())
        .get_result(c)
        .optional())?)
}

/// Marks the token rotated to `successor_hash`; false when another request rotated
/// it first.
pub fn claim_rotation(
    conn: &mut DbConn,
    token_hash: &str,
    successor_hash: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = db_run!(conn, |c| diesel::update(
        refresh_tokens::table
            .find(token_hash)
            .filter(refresh_tokens::rotated_at.is_null())
    )
    .set((
        refresh_tokens::rotated_at.eq(now),
        refresh_tokens::successor_hash.eq(successor_hash),
    ))
    .execute(c))?;
    Ok(n == 1)
}

/// Revokes the family and every unexpired access token issued with its refresh
/// tokens. True when this call revoked it (false: it already was).
pub fn revoke_family(
    conn: &mut DbConn,
    family_id: &str,
    reason: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let n = db_run!(conn, |c| diesel::update(
        refresh_token_families::table
            .find(family_id)
            .filter(refresh_token_families::revoked_at.is_null())
    )
    .set((
        refresh_token_families::revoked_at.eq(now),
        refresh_token_families::revoked_reason.eq(reason),
    ))
    .execute(c))?;
    let issued: Vec<(Option<String>, Option<i64>)> = db_run!(conn, |c| refresh_tokens::table
        .filter(refresh_tokens::family_id.eq(family_id))
        .filter(refresh_tokens::access_token_expires_at.gt(now))
        .select((
            refresh_tokens::access_token_jti,
            refresh_tokens::access_token_expires_at
        ))
        .load(c))?;
    for (jti, expires_at) in issued {
        if let (Some(jti), Some(expires_at)) = (jti, expires_at) {
            revoked_access_tokens::revoke(conn, &jti, expires_at, now)?;
        }
    }
    Ok(n == 1)
}

/// Locks the family row until the transaction ends (Postgres `SELECT … FOR UPDATE`),
/// so a rotation and a revocation of one family never interleave. SQLite
/// transactions are `BEGIN IMMEDIATE` and already hold the one write lock.
pub fn lock_family(conn: &mut DbConn, family_id: &str) -> Result<(), StoreError> {
    if let DbConn::Postgres(c) = conn {
        refresh_token_families::table
            .find(family_id)
            .select(refresh_token_families::id)
            .for_update()
            .load::<String>(c)?;
    }
    Ok(())
}

/// Revokes every live family of the user (`user_id`) or of the client
/// (`client_id`), or of the pair when both are given, with their access tokens.
/// Returns the ids of the families this call revoked.
pub fn revoke_families_of(
    conn: &mut DbConn,
    user_id: Option<&str>,
    client_id: Option<&str>,
    reason: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let ids: Vec<String> = db_run!(conn, |c| {
        let mut query = refresh_token_families::table
            .filter(refresh_token_families::revoked_at.is_null())
            .select(refresh_token_families::id)
            .into_boxed();
        if let Some(user) = user_id {
            query = query.filter(refresh_token_families::user_id.eq(user));
        }
        if let Some(client) = client_id {
            query = query.filter(refresh_token_families::client_id.eq(client));
        }
        query.load(c)
    })?;
    let mut revoked = Vec::with_capacity(ids.len());
    for id in ids {
        if revoke_family(conn, &id, reason, now)? {
            revoked.push(id);
        }
    }
    Ok(revoked)
}

/// The user is still enabled and still consents to everything the family holds.
pub fn grant_still_holds(
    conn: &mut DbConn,
    family: &FamilyRow,
    family_scope: &Scope,
) -> Result<bool, StoreError> {
    if users::find(conn, &family.user_id)?.is_none_or(|u| u.disabled) {
        return Ok(false);
    }
    match consents::find(conn, &family.user_id, &family.client_id)? {
        None => Ok(false),
        Some(stored) => {
            let granted = Scope::parse(&stored).map_err(|e| {
                StoreError::Corrupt(format!(
                    "consent of user {} for client {}: {e}",
                    family.user_id, family.client_id
                ))
            })?;
            Ok(family_scope.is_subset_of(&granted))
        }
    }
}

/// The families that grew from the code.
pub fn families_from_code(conn: &mut DbConn, code_hash: &str) -> Result<Vec<String>, StoreError> {
    Ok(db_run!(conn, |c| refresh_token_families::table
        .filter(refresh_token_families::origin_code_hash.eq(code_hash))
        .select(refresh_token_families::id)
        .load(c))?)
}

/// Removes at most `limit` families whose absolute lifetime ended before `before`,
/// with their tokens.
pub fn delete_expired(conn: &mut DbConn, before: i64, limit: i64) -> Result<usize, StoreError> {
    let keys: Vec<String> = db_run!(conn, |c| refresh_token_families::table
        .select(refresh_token_families::id)
        .filter(refresh_token_families::absolute_expires_at.lt(before))
        .limit(limit)
        .load(c))?;
    if keys.is_empty() {
        return Ok(0);
    }
    Ok(db_run!(conn, |c| diesel::delete(
        refresh_token_families::table.filter(refresh_token_families::id.eq_any(&keys))
    )
    .execute(c))?)
}

/// Per client, the newest refresh token issued to the user in a live family: when
/// each app last used its access (a refresh rotates, so this is its last refresh).
pub fn last_issued_by_client(
    conn: &mut DbConn,
    user_id: &str,
    now: i64,
) -> Result<Vec<(String, i64)>, StoreError> {
    use diesel::dsl::max;
    let rows: Vec<(String, Option<i64>)> = db_run!(conn, |c| refresh_tokens::table
        .inner_join(refresh_token_families::table)
        .filter(refresh_token_families::user_id.eq(user_id))
        .filter(refresh_token_families::revoked_at.is_null())
        .filter(refresh_token_families::absolute_expires_at.gt(now))
        .group_by(refresh_token_families::client_id)
        .select((
            refresh_token_families::client_id,
            max(refresh_tokens::created_at)
        ))
        .load(c))?;
    Ok(rows
        .into_iter()
        .filter_map(|(client, at)| at.map(|at| (client, at)))
        .collect())
}
