//! The `signing_keys` table. Every state change is one conditional UPDATE (`WHERE kid
//! = ? AND state = ?`): when two instances race, one changes the row and the other
//! changes nothing and learns it lost. The partial unique indexes (one `active`, one
//! `next` per algorithm) settle racing inserts.

use diesel::prelude::*;

use super::schema::signing_keys;
use super::{DbConn, StoreError};
use crate::db_run;

/// A stored key. No `Debug`: it carries the encrypted private key.
#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = signing_keys)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct SigningKeyRow {
    pub kid: String,
    pub alg: String,
    /// `next`, `active`, `retired` or `revoked`.
    pub state: String,
    pub public_jwk: String,
    pub private_key_encrypted: String,
    pub created_at: i64,
    /// When the key starts (or may start) signing.
    pub activates_at: i64,
    /// When the decision to promote it was taken.
    pub activated_at: Option<i64>,
    /// When it stops signing (set when it is retired; may lie a little in the future).
    pub retired_at: Option<i64>,
    /// When it may leave the JWKS: no token it signed is still valid then.
    pub delete_after: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Every key, revoked ones included, by algorithm and age.
pub fn list(conn: &mut DbConn) -> Result<Vec<SigningKeyRow>, StoreError> {
    Ok(db_run!(conn, |c| signing_keys::table
        .order((
            signing_keys::alg.asc(),
            signing_keys::created_at.asc(),
            signing_keys::kid.asc()
        ))
        .select(SigningKeyRow::as_select())
        .load(c))?)
}

/// How many keys there are, revoked ones included.
pub fn count(conn: &mut DbConn) -> Result<i64, StoreError> {
    Ok(db_run!(conn, |c| signing_keys::table
        .count()
        .get_result(c))?)
}

/// Inserts a key. A second `active` or `next` key for the algorithm is a unique
/// violation, reported as [`StoreError::Conflict`].
pub fn insert(conn: &mut DbConn, row: &SigningKeyRow) -> Result<(), StoreError> {
    match db_run!(conn, |c| diesel::insert_into(signing_keys::table)
        .values(row)
        .execute(c))
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = StoreError::from(e);
            if e.is_unique_violation() {
                Err(StoreError::Conflict("another instance made this key first"))
            } else {
                Err(e)
            }
        }
    }
}

/// `next` → `active`, signing from `activates_at`.
pub fn promote(
    conn: &mut DbConn,
    kid: &str,
    activates_at: i64,
    decided_at: i64,
) -> Result<(), StoreError> {
    let changed = db_run!(conn, |c| diesel::update(
        signing_keys::table
            .filter(signing_keys::kid.eq(kid))
            .filter(signing_keys::state.eq("next"))
    )
    .set((
        signing_keys::state.eq("active"),
        signing_keys::activates_at.eq(activates_at),
        signing_keys::activated_at.eq(decided_at),
    ))
    .execute(c))?;
    expect_one(changed, "the waiting key was promoted by another instance")
}

/// `active` → `retired`, signing until `retired_at`, published until `delete_after`.
pub fn retire(
    conn: &mut DbConn,
    kid: &str,
    retired_at: i64,
    delete_after: i64,
) -> Result<(), StoreError> {
    let changed = db_run!(conn, |c| diesel::update(
        signing_keys::table
            .filter(signing_keys::kid.eq(kid))
            .filter(signing_keys::state.eq("active"))
    )
    .set((
        signing_keys::state.eq("retired"),
        signing_keys::retired_at.eq(retired_at),
        signing_keys::delete_after.eq(delete_after),
    ))
    .execute(c))?;
    expect_one(changed, "the active key was retired by another instance")
}

/// Moves the start of an `active` key that has not begun signing to `now`, provided
/// its start is still `expected_activates_at`.
pub fn start_now(
    conn: &mut DbConn,
    kid: &str,
    expected_activates_at: i64,
    now: i64,
) -> Result<(), StoreError> {
    let changed = db_run!(conn, |c| diesel::update(
        signing_keys::table
            .filter(signing_keys::kid.eq(kid))
            .filter(signing_keys::state.eq("active"))
            .filter(signing_keys::activates_at.eq(expected_activates_at))
    )
    .set(signing_keys::activates_at.eq(now))
    .execute(c))?;
    expect_one(changed, "the key's start was changed by another instance")
}

/// Any state but `revoked` → `revoked`: out of the JWKS and never used again.
/// Returns the state it had, or `None` when there is no such unrevoked key.
pub fn revoke(conn: &mut DbConn, kid: &str, now: i64) -> Result<Option<String>, StoreError> {
    let before: Option<String> = db_run!(conn, |c| signing_keys::table
        .find(kid)
        .select(signing_keys::state)
        .get_result(c)
        .optional())?;
    let Some(before) = before.filter(|s| s != "revoked") else {
        return Ok(None);
    };
    let changed = db_run!(conn, |c| diesel::update(
        signing_keys::table
            .filter(signing_keys::kid.eq(kid))
            .filter(signing_keys::state.eq(&before))
    )
    .set((
        signing_keys::state.eq("revoked"),
        signing_keys::revoked_at.eq(now),
    ))
    .execute(c))?;
    expect_one(changed, "the key changed while being revoked")?;
    Ok(Some(before))
}

/// Removes a key whose time in the JWKS is over (`retired`, `delete_after` passed),
/// or a `next` key that never signed.
pub fn delete(conn: &mut DbConn, kid: &str, expected_state: &str) -> Result<(), StoreError> {
    let changed = db_run!(conn, |c| diesel::delete(
        signing_keys::table
            .filter(signing_keys::kid.eq(kid))
            .filter(signing_keys::state.eq(expected_state))
    )
    .execute(c))?;
    expect_one(changed, "the key was removed by another instance")
}

fn expect_one(changed: usize, conflict: &'static str) -> Result<(), StoreError> {
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(conflict))
    }
}
