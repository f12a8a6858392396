//! The `clients` table: RFC 7591 metadata, list fields as JSON text.

use diesel::prelude::*;

use super::schema::clients;
use super::{DbConn, StoreError};
use crate::db_run;
use crate::protocol::client_metadata::{AuthMethod, ClientMetadata, GrantType};
use crate::protocol::scope::Scope;

/// A stored client. No `Debug`: it carries secret hashes.
#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = clients)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub redirect_uris: String,
    pub post_logout_redirect_uris: String,
    pub grant_types: String,
    pub scope: String,
    pub token_endpoint_auth_method: String,
    pub is_public: bool,
    pub secret_hash: Option<String>,
    pub previous_secret_hash: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub access_token_signing_alg: Option<String>,
    pub id_token_signed_response_alg: Option<String>,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ClientRow {
    /// A row for a newly registered client.
    pub fn new(
        id: String,
        metadata: &ClientMetadata,
        secret_hash: Option<String>,
        now: i64,
    ) -> Result<ClientRow, StoreError> {
        let grant_types: Vec<&str> = metadata.grant_types.iter().map(|g| g.as_str()).collect();
        Ok(ClientRow {
            id,
            name: metadata.name.clone(),
            redirect_uris: to_json(&metadata.redirect_uris)?,
            post_logout_redirect_uris: to_json(&metadata.post_logout_redirect_uris)?,
            grant_types: to_json(&grant_types)?,
            scope: metadata.scope.to_string(),
            token_endpoint_auth_method: metadata.token_endpoint_auth_method.to_string(),
            is_public: metadata.is_public,
            secret_hash,
            previous_secret_hash: None,
            previous_secret_expires_at: None,
            access_token_signing_alg: None,
            id_token_signed_response_alg: None,
            disabled: false,
            created_at: now,
            updated_at: now,
        })
    }

    /// The metadata back in protocol types; a row that does not parse is corrupt.
    pub fn metadata(&self) -> Result<ClientMetadata, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("client {}: {what}", self.id));
        let grant_types: Vec<String> = from_json(&self.grant_types, &self.id)?;
        Ok(ClientMetadata {
            name: self.name.clone(),
            redirect_uris: from_json(&self.redirect_uris, &self.id)?,
            post_logout_redirect_uris: from_json(&self.post_logout_redirect_uris, &self.id)?,
            grant_types: grant_types
                .iter()
                .map(|g| g.parse::<GrantType>())
                .collect::<Result<_, _>>()
                .map_err(|_| corrupt("grant_types"))?,
            scope: Scope::parse(&self.scope).map_err(|_| corrupt("scope"))?,
            token_endpoint_auth_method: self
                .token_endpoint_auth_method
                .parse::<AuthMethod>()
                .map_err(|_| corrupt("token_endpoint_auth_method"))?,
            is_public: self.is_public,
        })
    }
}

fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, id: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("client {id}: {e}")))
}

/// Inserts a client.
pub fn insert(conn: &mut DbConn, row: &ClientRow) -> Result<(), StoreError> {
    db_run!(conn, |c| diesel::insert_into(clients::table)
        .values(row)
        .execute(c))?;
    Ok(())
}

/// All clients, oldest first.
pub fn list(conn: &mut DbConn) -> Result<Vec<ClientRow>, StoreError> {
    Ok(db_run!(conn, |c| clients::table
        .order((clients::created_at.asc(), clients::id.asc()))
        .select(ClientRow::as_select())
        .load(c))?)
}

/// The client with this id, if any.
pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<ClientRow>, StoreError> {
    Ok(db_run!(conn, |c| clients::table
        .find(id)
        .select(ClientRow::as_select())
        .get_result(c)
        .optional())?)
}

/// Writes the editable metadata of a client (name, URIs, grants, scope, algorithms).
/// False when there is no such client.
pub fn update(conn: &mut DbConn, row: &ClientRow, now: i64) -> Result<bool, StoreError> {
    let n = db_run!(conn, |c| diesel::update(clients::table.find(&row.id))
        .set((
            clients::name.eq(&row.name),
            clients::redirect_uris.eq(&row.redirect_uris),
            clients::post_logout_redirect_uris.eq(&row.post_logout_redirect_uris),
            clients::grant_types.eq(&row.grant_types),
            clients::scope.eq(&row.scope),
            clients::access_token_signing_alg.eq(&row.access_token_signing_alg),
            clients::id_token_signed_response_alg.eq(&row.id_token_signed_response_alg),
            clients::updated_at.eq(now),
        ))
        .execute(c))?;
    Ok(n == 1)
}

/// Disables or enables the client; false when there is no such client.
pub fn set_disabled(
    conn: &mut DbConn,
    id: &str,
    disabled: bool,
    now: i64,
) -> Result<bool, StoreError> {
    let n = db_run!(conn, |c| diesel::update(clients::table.find(id))
        .set((clients::disabled.eq(disabled), clients::updated_at.eq(now)))
        .execute(c))?;
    Ok(n == 1)
}

/// Replaces the secret: the current one becomes the previous one until
/// `previous_expires_at` (an earlier previous secret is dropped: two live at most).
pub fn rotate_secret(
    conn: &mut DbConn,
    id: &str,
    new_hash: &str,
    previous_expires_at: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let n = db_run!(conn, |c| diesel::update(
        clients::table
            .find(id)
            .filter(clients::secret_hash.is_not_null())
    )
    .set((
        clients::previous_secret_hash.eq(clients::secret_hash),
        clients::previous_secret_expires_at.eq(previous_expires_at),
        clients::secret_hash.eq(new_hash),
        clients::updated_at.eq(now),
    ))
    .execute(c))?;
    Ok(n == 1)
}

/// Deletes the client; its codes, pending requests, consents and refresh-token
/// families go with it (foreign keys `ON DELETE CASCADE`).
pub fn delete(conn: &mut DbConn, id: &str) -> Result<bool, StoreError> {
    let n = db_run!(conn, |c| diesel::delete(clients::table.find(id)).execute(c))?;
    Ok(n == 1)
}
