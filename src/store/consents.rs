//! The `consents` table: what a user allowed a client, remembered per (user, client).

use diesel::prelude::*;

use super::schema::consents;
use super::{DbConn, StoreError};
use crate::db_run;

/// The scope the user has allowed the client, if any consent is stored.
pub fn find(
    conn: &mut DbConn,
    user_id: &str,
    client_id: &str,
) -> Result<Option<String>, StoreError> {
    Ok(db_run!(conn, |c| consents::table
        .find((user_id, client_id))
        .select(consents::scope)
        .get_result::<String>(c)
        .optional())?)
}

/// Stores the consent, replacing the scope of an earlier one.
pub fn upsert(
    conn: &mut DbConn,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: i64,
) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::insert_into(consents::table)
        .values((
            consents::user_id.eq(user_id),
            consents::client_id.eq(client_id),
            consents::scope.eq(scope),
            consents::granted_at.eq(now),
            consents::updated_at.eq(now),
        ))
        .on_conflict((consents::user_id, consents::client_id))
        .do_update()
        .set((consents::scope.eq(scope), consents::updated_at.eq(now)))
        .execute(c))?;
    Ok(())
}

/// Withdraws the consent; refresh tokens of the pair stop working at their next use.
pub fn delete(conn: &mut DbConn, user_id: &str, client_id: &str) -> Result<bool, StoreError> {
    let n = db_run!(conn, |c| diesel::delete(
        consents::table.find((user_id, client_id))
    )
    .execute(c))?;
    Ok(n == 1)
}

/// A stored consent.
#[derive(Queryable, Clone, Debug)]
pub struct ConsentRow {
    pub client_id: String,
    pub client_name: String,
    pub scope: String,
    pub granted_at: i64,
    pub updated_at: i64,
}

/// The user's consents with the clients' names, oldest first.
pub fn of_user(conn: &mut DbConn, user_id: &str) -> Result<Vec<ConsentRow>, StoreError> {
    use super::schema::clients;
    Ok(db_run!(conn, |c| consents::table
        .inner_join(clients::table)
        .filter(consents::user_id.eq(user_id))
        .order((consents::granted_at.asc(), consents::client_id.asc()))
        .select((
            consents::client_id,
            clients::name,
            consents::scope,
            consents::granted_at,
            consents::updated_at,
        ))
        .load::<ConsentRow>(c))?)
}
