//! Registering and listing clients.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;

use super::ManageError;
use crate::crypto::client_secret::ClientSecretHasher;
use crate::crypto::derived_token::SuccessorDeriver;
use crate::crypto::{random, Secret};
use crate::keys::KeyAlg;
use crate::protocol::client_metadata::{self, ClientMetadata, ClientRegistration};
use crate::store::audit::{self, AuditEvent};
use crate::store::clients::{self, ClientRow};
use crate::store::{server_secrets, DbConn, StoreError};

/// Name of the server secret that keys client-secret hashes.
const SECRET_HASH_KEY: &str = "client_secret_hmac_key";

/// The hasher for client secrets, keyed with the server's HMAC key (made on first use).
pub fn secret_hasher(conn: &mut DbConn, now: i64) -> Result<ClientSecretHasher, ManageError> {
    let encoded = server_secrets::get_or_create(conn, SECRET_HASH_KEY, now, || {
        Ok(STANDARD.encode(random::bytes::<32>()?))
    })?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| StoreError::Corrupt(format!("server secret {SECRET_HASH_KEY}")))?;
    Ok(ClientSecretHasher::new(&key))
}

/// Name of the server secret that keys refresh-token successors.
const SUCCESSOR_KEY: &str = "refresh_token_successor_key";

/// The deriver of refresh-token successors, keyed with its own server key (made on
/// first use).
pub fn successor_deriver(conn: &mut DbConn, now: i64) -> Result<SuccessorDeriver, ManageError> {
    let encoded = server_secrets::get_or_create(conn, SUCCESSOR_KEY, now, || {
        Ok(STANDARD.encode(random::bytes::<32>()?))
    })?;
    let key = STANDARD
        .decode(encoded)
        .map_err(|_| StoreError::Corrupt(format!("server secret {SUCCESSOR_KEY}")))?;
    Ok(SuccessorDeriver::new(&key))
}

/// A client as shown to admins: RFC 7591 §3.2.1 metadata, no secret.
#[derive(Debug, Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<&'static str>,
    pub response_types: Vec<&'static str>,
    pub scope: String,
    pub token_endpoint_auth_method: &'static str,
    pub public: bool,
    pub disabled: bool,
    pub client_id_issued_at: i64,
}

impl ClientView {
    fn new(id: String, m: &ClientMetadata, disabled: bool, created_at: i64) -> Self {
        ClientView {
            client_id: id,
            client_name: m.name.clone(),
            redirect_uris: m.redirect_uris.clone(),
            post_logout_redirect_uris: m.post_logout_redirect_uris.clone(),
            grant_types: m.grant_types.iter().map(|g| g.as_str()).collect(),
            response_types: m.response_types(),
            scope: m.scope.to_string(),
            token_endpoint_auth_method: m.token_endpoint_auth_method.as_str(),
            public: m.is_public,
            disabled,
            client_id_issued_at: created_at,
        }
    }
}

/// A client just registered: its metadata and, for a confidential client, the secret,
/// shown this once.
#[derive(Debug)]
pub struct RegisteredClient {
    pub view: ClientView,
    pub secret: Option<Secret<String>>,
}

/// Validates the registration, makes the id and secret, stores the client (secret as
/// a keyed hash only) with an audit event.
pub fn register(
    conn: &mut DbConn,
    registration: ClientRegistration,
    actor: &str,
    now: i64,
) -> Result<RegisteredClient, ManageError> {
    let access_token_alg = parse_alg(
        registration.access_token_signing_alg.as_deref(),
        "access token",
    )?;
    let id_token_alg = parse_alg(
        registration.id_token_signed_response_alg.as_deref(),
        "ID token",
    )?;
    let metadata =
        client_metadata::validate(registration).map_err(|e| ManageError::Invalid(e.to_string()))?;
    let id = random::identifier()?;
    let (secret, secret_hash) = if metadata.is_public {
        (None, None)
    } else {
        let (secret, hash) = secret_hasher(conn, now)?.generate()?;
        (Some(secret), Some(hash))
    };
    let mut row = ClientRow::new(id.clone(), &metadata, secret_hash, now)?;
    row.access_token_signing_alg = access_token_alg.map(|a| a.as_str().to_owned());
    row.id_token_signed_response_alg = id_token_alg.map(|a| a.as_str().to_owned());
    let event = AuditEvent {
        kind: "client.created",
        actor: Some(actor),
        user_id: None,
        client_id: Some(&id),
        ip: None,
        detail: serde_json::json!({
            "client_name": metadata.name,
            "grant_types": metadata.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            "public": metadata.is_public,
        }),
    };
    conn.transaction(|conn| {
        clients::insert(conn, &row)?;
        audit::record(conn, &event, now)
    })?;
    audit::log(&event);
    Ok(RegisteredClient {
        view: ClientView::new(id, &metadata, false, now),
        secret,
    })
}

/// A signing algorithm the admin named, if any: RS256, ES256 or EdDSA only.
fn parse_alg(alg: Option<&str>, what: &str) -> Result<Option<KeyAlg>, ManageError> {
    alg.map(|alg| {
        alg.parse::<KeyAlg>()
            .map_err(|_| ManageError::Invalid(format!("unknown {what} signing algorithm `{alg}`")))
    })
    .transpose()
}

/// Every client.
pub fn list(conn: &mut DbConn) -> Result<Vec<ClientView>, ManageError> {
    clients::list(conn)?
        .into_iter()
        .map(|row| {
            let metadata = row.metadata()?;
            Ok(ClientView::new(
                row.id,
                &metadata,
                row.disabled,
                row.created_at,
            ))
        })
        .collect()
}
