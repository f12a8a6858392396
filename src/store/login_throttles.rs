//! The `login_throttles` table: failed sign-ins per (username, client address) and
//! per username (address [`ANY_ADDRESS`](crate::protocol::login::ANY_ADDRESS)).
//! The rules are `protocol::login`'s; this counts them without races.

use std::collections::HashMap;

use diesel::prelude::*;

use super::schema::login_throttles;
use super::{DbConn, StoreError};
use crate::db_run;
use crate::protocol::login::Throttle;

/// The counter of (`username_key`, `client_address`), if any.
pub fn find(
    conn: &mut DbConn,
    username_key: &str,
    client_address: &str,
) -> Result<Option<Throttle>, StoreError> {
    Ok(db_run!(conn, |c| login_throttles::table
        .find((username_key, client_address))
        .select((login_throttles::failures, login_throttles::last_failure_at))
        .get_result::<(i32, i64)>(c)
        .optional())?
    .map(|(failures, last_failure_at)| Throttle {
        failures,
        last_failure_at,
    }))
}

/// Replaces the counter `previous` (absent: no row) with `next`, in one statement
/// that succeeds only if nobody changed it since it was read. `false`: read again.
pub fn replace(
    conn: &mut DbConn,
    username_key: &str,
    client_address: &str,
    previous: Option<Throttle>,
    next: Throttle,
) -> Result<bool, StoreError> {
    let changed = match previous {
        None => db_run!(conn, |c| diesel::insert_into(login_throttles::table)
            .values((
                login_throttles::username_key.eq(username_key),
                login_throttles::client_address.eq(client_address),
                login_throttles::failures.eq(next.failures),
                login_throttles::last_failure_at.eq(next.last_failure_at),
            ))
            .on_conflict((
                login_throttles::username_key,
                login_throttles::client_address
            ))
            .do_nothing()
            .execute(c))?,
        Some(previous) => db_run!(conn, |c| diesel::update(
            login_throttles::table
                .find((username_key, client_address))
                .filter(login_throttles::failures.eq(previous.failures))
                .filter(login_throttles::last_failure_at.eq(previous.last_failure_at))
        )
        .set((
            login_throttles::failures.eq(next.failures),
            login_throttles::last_failure_at.eq(next.last_failure_at),
        ))
        .execute(c))?,
    };
    Ok(changed == 1)
}

/// Forgets the counters of `username_key` at `client_addresses` (a successful sign-in),
/// one row at a time in the order given. Callers give the order in which a sign-in
/// attempt counts them (its address, then every address): on Postgres, where
/// concurrent transactions lock these rows, one order everywhere means no deadlock
/// between a sign-in that clears and a parallel attempt that counts.
pub fn clear(
    conn: &mut DbConn,
    username_key: &str,
    client_addresses: &[&str],
) -> Result<(), StoreError> {
    for address in client_addresses {
        db_run!(conn, |c| diesel::delete(
            login_throttles::table
                .filter(login_throttles::username_key.eq(username_key))
                .filter(login_throttles::client_address.eq(*address))
        )
        .execute(c))?;
    }
    Ok(())
}

/// Forgets every counter of `username_key` (an admin's unlock).
pub fn clear_all(conn: &mut DbConn, username_key: &str) -> Result<usize, StoreError> {
    Ok(db_run!(conn, |c| diesel::delete(
        login_throttles::table.filter(login_throttles::username_key.eq(username_key))
    )
    .execute(c))?)
}

/// Every counter of `username_key`, by client address (for admins).
pub fn of_username(
    conn: &mut DbConn,
    username_key: &str,
) -> Result<Vec<(String, Throttle)>, StoreError> {
    Ok(load(conn, Some(username_key))?
        .into_iter()
        .map(|(_, address, throttle)| (address, throttle))
        .collect())
}

/// Every counter, by username key then client address (for the admins' user list;
/// the table holds only recent failures).
pub fn all(conn: &mut DbConn) -> Result<HashMap<String, Vec<(String, Throttle)>>, StoreError> {
    let mut by_user: HashMap<String, Vec<(String, Throttle)>> = HashMap::new();
    for (key, address, throttle) in load(conn, None)? {
        by_user.entry(key).or_default().push((address, throttle));
    }
    Ok(by_user)
}

fn load(
    conn: &mut DbConn,
    username_key: Option<&str>,
) -> Result<Vec<(String, String, Throttle)>, StoreError> {
    let rows: Vec<(String, String, i32, i64)> = db_run!(conn, |c| {
        let mut query = login_throttles::table
            .select((
                login_throttles::username_key,
                login_throttles::client_address,
                login_throttles::failures,
                login_throttles::last_failure_at,
            ))
            .into_boxed();
        if let Some(key) = username_key {
            query = query.filter(login_throttles::username_key.eq(key));
        }
        query.load(c)
    })?;
    Ok(rows
        .into_iter()
        .map(|(key, address, failures, last_failure_at)| {
            (
                key,
                address,
                Throttle {
                    failures,
                    last_failure_at,
                },
            )
        })
        .collect())
}

/// Deletes counters whose last failure is older than `before` (fully decayed).
pub fn delete_stale(conn: &mut DbConn, before: i64) -> Result<usize, StoreError> {
    Ok(db_run!(conn, |c| diesel::delete(
        login_throttles::table.filter(login_throttles::last_failure_at.lt(before))
    )
    .execute(c))?)
}
