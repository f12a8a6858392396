//! The `resources` table: the APIs tokens are minted for (RFC 8707).

use diesel::prelude::*;

use super::schema::resources;
use super::{DbConn, StoreError};
use crate::db_run;

/// A stored resource. No `Debug`: it carries the secret's hash.
#[derive(Queryable, Selectable, Insertable, AsChangeset, Clone)]
#[diesel(table_name = resources)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ResourceRow {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub scope: String,
    /// JSON array of the client ids that may ask tokens for this resource.
    pub clients: String,
    pub access_token_lifetime: Option<i64>,
    pub signing_alg: Option<String>,
    pub include_roles: bool,
    pub secret_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ResourceRow {
    /// The client ids allowed to ask for this resource; unreadable is corrupt.
    pub fn client_ids(&self) -> Result<Vec<String>, StoreError> {
        serde_json::from_str(&self.clients)
            .map_err(|e| StoreError::Corrupt(format!("resource {}: clients: {e}", self.id)))
    }
}

pub fn insert(conn: &mut DbConn, row: &ResourceRow) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::insert_into(resources::table)
        .values(row)
        .execute(c))?;
    Ok(())
}

/// Every resource, oldest first.
pub fn list(conn: &mut DbConn) -> Result<Vec<ResourceRow>, StoreError> {
    Ok(db_run!(conn, |c| resources::table
        .order((resources::created_at.asc(), resources::id.asc()))
        .select(ResourceRow::as_select())
        .load(c))?)
}

/// The resource with this id, or else this identifier.
pub fn find(conn: &mut DbConn, id_or_identifier: &str) -> Result<Option<ResourceRow>, StoreError> {
    Ok(db_run!(conn, |c| resources::table
        .filter(
            resources::id
                .eq(id_or_identifier)
                .or(resources::identifier.eq(id_or_identifier))
        )
        .select(ResourceRow::as_select())
        .first(c)
        .optional())?)
}

/// The resource whose identifier (the `aud` of its tokens) is `identifier`.
pub fn find_by_identifier(
    conn: &mut DbConn,
    identifier: &str,
) -> Result<Option<ResourceRow>, StoreError> {
    Ok(db_run!(conn, |c| resources::table
        .filter(resources::identifier.eq(identifier))
        .select(ResourceRow::as_select())
        .get_result(c)
        .optional())?)
}

/// The resource whose id (its introspection credential's name) is `id`.
pub fn find_by_id(conn: &mut DbConn, id: &str) -> Result<Option<ResourceRow>, StoreError> {
    Ok(db_run!(conn, |c| resources::table
        .find(id)
        .select(ResourceRow::as_select())
        .get_result(c)
        .optional())?)
}

/// Writes every column of `row` (by id); `false` when it is gone.
pub fn update(conn: &mut DbConn, row: &ResourceRow) -> Result<bool, StoreError> {
    let changed = db_run!(conn, |c| diesel::update(resources::table.find(&row.id))
        .set(row)
        .execute(c))?;
    Ok(changed == 1)
}

pub fn delete(conn: &mut DbConn, id: &str) -> Result<bool, StoreError> {
    let changed = db_run!(conn, |c| diesel::delete(resources::table.find(id))
        .execute(c))?;
    Ok(changed == 1)
}
