//! The `server_secrets` table: keys the server makes for itself on first start.

use diesel::prelude::*;

use super::schema::server_secrets;
use super::{DbConn, StoreError};
use crate::db_run;

/// The secret called `name`, created with `make` if there is none yet. Two processes
/// racing on first start agree: the first insert wins, the other reads it.
pub fn get_or_create(
    conn: &mut DbConn,
    name: &str,
    now: i64,
    make: impl FnOnce() -> Result<String, StoreError>,
) -> Result<String, StoreError> {
    if let Some(value) = get(conn, name)? {
        return Ok(value);
    }
    let value = make()?;
    db_run!(conn, |c| diesel::insert_into(server_secrets::table)
        .values((
            server_secrets::name.eq(name),
            server_secrets::value.eq(&value),
            server_secrets::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    get(conn, name)?.ok_or_else(|| StoreError::Corrupt(format!("server secret {name} vanished")))
}

fn get(conn: &mut DbConn, name: &str) -> Result<Option<String>, StoreError> {
    Ok(db_run!(conn, |c| server_secrets::table
        .find(name)
        .select(server_secrets::value)
        .get_result::<String>(c)
        .optional())?)
}
