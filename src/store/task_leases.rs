//! The `task_leases` table: which instance runs a background task now. A claim is
//! one conditional statement, so two instances never both hold a lease; it works
//! the same through PgBouncer in transaction mode (no session-level advisory lock).

use diesel::prelude::*;

use super::schema::task_leases;
use super::{DbConn, StoreError};
use crate::db_run;

/// Claims the lease `name` for `holder` until `now + ttl` if it is free, expired or
/// already `holder`'s; `false` when another instance holds it.
pub fn claim(
    conn: &mut DbConn,
    name: &str,
    holder: &str,
    now: i64,
    ttl: i64,
) -> Result<bool, StoreError> {
    let until = now + ttl;
    let inserted = db_run!(conn, |c| diesel::insert_into(task_leases::table)
        .values((
            task_leases::name.eq(name),
            task_leases::holder.eq(holder),
            task_leases::expires_at.eq(until),
        ))
        .on_conflict(task_leases::name)
        .do_nothing()
        .execute(c))?;
    if inserted == 1 {
        return Ok(true);
    }
    let taken = db_run!(conn, |c| diesel::update(
        task_leases::table.find(name).filter(
            task_leases::expires_at
                .le(now)
                .or(task_leases::holder.eq(holder))
        )
    )
    .set((
        task_leases::holder.eq(holder),
        task_leases::expires_at.eq(until)
    ))
    .execute(c))?;
    Ok(taken == 1)
}

/// Gives the lease back early (the task is done), if `holder` still has it.
pub fn release(conn: &mut DbConn, name: &str, holder: &str, now: i64) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::update(
        task_leases::table
            .find(name)
            .filter(task_leases::holder.eq(holder))
    )
    .set(task_leases::expires_at.eq(now))
    .execute(c))?;
    Ok(())
}
