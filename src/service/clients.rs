//! Clients: authentication at the token, revocation and introspection endpoints,
//! and the lifecycle an admin drives (register, show, update, disable, enable,
//! delete, rotate the secret).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;

use super::{Actor, AdminError, OAuthFailure, Services};
use crate::crypto::client_secret::ClientSecretHasher;
use crate::crypto::derived_token::SuccessorDeriver;
use crate::crypto::{random, Secret};
use crate::keys::KeyAlg;
use crate::protocol::client_auth::{self, RegisteredClient};
use crate::protocol::client_metadata::{self, ClientMetadata, ClientRegistration};
use crate::protocol::error::OAuthError;
use crate::protocol::params::Params;
use crate::protocol::redirect_uri;
use crate::store::audit::{self, AuditEvent, AuditKind};
use crate::store::clients::{self, ClientRow};
use crate::store::{refresh_tokens, server_secrets, DbConn, Store, StoreError};

/// Name of the server secret that keys client-secret hashes.
const SECRET_HASH_KEY: &str = "client_secret_hmac_key";
/// Name of the server secret that keys refresh-token successors.
const SUCCESSOR_KEY: &str = "refresh_token_successor_key";

/// A 32-byte server key stored (base64) under `name`, made on first use.
fn server_key(conn: &mut DbConn, name: &str, now: i64) -> Result<Vec<u8>, StoreError> {
    let encoded = server_secrets::get_or_create(conn, name, now, || {
        Ok(STANDARD.encode(random::bytes::<32>()?))
    })?;
    STANDARD
        .decode(encoded)
        .map_err(|_| StoreError::Corrupt(format!("server secret {name}")))
}

/// The hasher for client secrets, keyed with the server's HMAC key (made on first use).
pub fn secret_hasher(conn: &mut DbConn, now: i64) -> Result<ClientSecretHasher, StoreError> {
    Ok(ClientSecretHasher::new(&server_key(
        conn,
        SECRET_HASH_KEY,
        now,
    )?))
}

/// The deriver of refresh-token successors, keyed with its own server key.
pub fn successor_deriver(conn: &mut DbConn, now: i64) -> Result<SuccessorDeriver, StoreError> {
    Ok(SuccessorDeriver::new(&server_key(
        conn,
        SUCCESSOR_KEY,
        now,
    )?))
}

/// A stored signing algorithm: absent means the default; a value that is not one of
/// ours is corrupt, never silently replaced.
pub fn stored_alg(row: &ClientRow, stored: Option<&str>) -> Result<Option<KeyAlg>, StoreError> {
    stored
        .map(|alg| {
            alg.parse::<KeyAlg>().map_err(|_| {
                StoreError::Corrupt(format!(
                    "client {}: `{alg}` is not a signing algorithm",
                    row.id
                ))
            })
        })
        .transpose()
}

/// A client that proved who it is, and the client address it spoke from (for the
/// audit trail of what it then does).
pub struct AuthenticatedClient {
    pub row: ClientRow,
    pub metadata: ClientMetadata,
    pub ip: Option<String>,
}

/// Authenticates the client of a request by the method it registered (RFC 6749
/// §2.3). Every failure is the same `invalid_client` (nothing tells an unknown
/// client from a disabled one or a wrong secret); the audit trail records why, with
/// the client address `ip`. The secret check is a keyed HMAC in constant time;
/// during a secret rotation the previous secret counts until its end.
pub async fn authenticate(
    services: &Services,
    authorization: Option<&str>,
    params: &Params,
    ip: Option<String>,
    now: i64,
) -> Result<AuthenticatedClient, OAuthFailure> {
    let presented = client_auth::presented(authorization, params)?;
    let row = find_cached(&services.store, &presented.client_id).await?;
    // The metadata is parsed once: its auth method is what authentication checks.
    let client = match row {
        Some(row) => {
            let metadata = row.metadata()?;
            Some(AuthenticatedClient {
                row,
                metadata,
                ip: ip.clone(),
            })
        }
        None => None,
    };
    let registered = client.as_ref().map(|c| RegisteredClient {
        method: c.metadata.token_endpoint_auth_method,
        disabled: c.row.disabled,
        secret_hash: c.row.secret_hash.as_deref(),
        previous_secret_hash: c.row.previous_secret_hash.as_deref(),
        previous_secret_expires_at: c.row.previous_secret_expires_at,
    });
    let checked = client_auth::authenticate(
        &presented,
        registered,
        |given, stored| services.secret_hasher.verify(given, stored),
        now,
    );
    match (checked, client) {
        (Ok(()), Some(client)) => Ok(client),
        (Ok(()), None) => {
            Err(StoreError::Corrupt("a client authenticated without a row".into()).into())
        }
        (Err(failure), client) => {
            // An unknown id is the caller's text: recorded, but bounded.
            let named: String = presented.client_id.chars().take(128).collect();
            let mut event = AuditEvent::new(AuditKind::ClientAuthenticationFailed)
                .ip(ip.as_deref())
                .detail(serde_json::json!({
                    "reason": failure.reason(),
                    "client_id": named,
                    "method": presented.method.to_string(),
                }));
            if let Some(client) = &client {
                event = event.client(&client.row.id);
            }
            services.audit.write(event, now).await;
            Err(OAuthError::from(failure).into())
        }
    }
}

/// Whether `origin` is the origin of one of the redirect URIs of the public client
/// `metadata` (a browser app redeeming its own code: CORS at the token endpoint).
pub fn is_browser_origin_of(metadata: &ClientMetadata, origin: &str) -> bool {
    metadata.is_public
        && metadata
            .redirect_uris
            .iter()
            .any(|uri| redirect_uri::origin_of(uri).as_deref() == Some(origin))
}

/// Whether some enabled public client registered a redirect URI at `origin` (a CORS
/// preflight names no client).
pub async fn is_browser_origin(store: &Store, origin: &str) -> Result<bool, StoreError> {
    let origin = origin.to_owned();
    store
        .run(move |conn| {
            for row in clients::list(conn)? {
                if !row.disabled && is_browser_origin_of(&row.metadata()?, &origin) {
                    return Ok(true);
                }
            }
            Ok(false)
        })
        .await
}

/// The registered, enabled client `id`, for the pages that name it.
pub async fn enabled(store: &Store, id: &str) -> Result<Option<ClientRow>, StoreError> {
    Ok(find_cached(store, id).await?.filter(|row| !row.disabled))
}

/// Whether a client `id` is registered (enabled or not).
pub async fn is_registered(store: &Store, id: &str) -> Result<bool, StoreError> {
    Ok(find_cached(store, id).await?.is_some())
}

/// The client `id`, from this process's cache when it is current (SQLite), else
/// from the database ([`crate::store::client_cache`]).
pub async fn find_cached(store: &Store, id: &str) -> Result<Option<ClientRow>, StoreError> {
    let cache = store.client_cache();
    let (hit, ticket) = cache.get(id);
    if let Some(row) = hit {
        return Ok(Some(ClientRow::clone(&row)));
    }
    let lookup = id.to_owned();
    let row = store.run(move |conn| clients::find(conn, &lookup)).await?;
    if let Some(row) = &row {
        cache.put(ticket, std::sync::Arc::new(row.clone()));
    }
    Ok(row)
}

/// A client as shown to admins: RFC 7591 §3.2.1 metadata, never a secret.
#[derive(Debug, Serialize, Clone)]
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
    pub updated_at: i64,
    /// `None`: the server's `access_token_signing_alg`.
    pub access_token_signing_alg: Option<&'static str>,
    /// `None`: RS256 (OIDC Core §3.1.3.7).
    pub id_token_signed_response_alg: Option<&'static str>,
    /// While a secret rotation's grace runs: when the previous secret stops working.
    pub previous_secret_expires_at: Option<i64>,
}

impl ClientView {
    /// The view of a stored row; a row that does not parse is corrupt.
    pub fn of(row: &ClientRow, now: i64) -> Result<ClientView, StoreError> {
        let m = row.metadata()?;
        Ok(ClientView {
            client_id: row.id.clone(),
            client_name: m.name.clone(),
            redirect_uris: m.redirect_uris.clone(),
            post_logout_redirect_uris: m.post_logout_redirect_uris.clone(),
            grant_types: m.grant_types.iter().map(|g| g.as_str()).collect(),
            response_types: m.response_types(),
            scope: m.scope.to_string(),
            token_endpoint_auth_method: m.token_endpoint_auth_method.as_str(),
            public: m.is_public,
            disabled: row.disabled,
            client_id_issued_at: row.created_at,
            updated_at: row.updated_at,
            access_token_signing_alg: stored_alg(row, row.access_token_signing_alg.as_deref())?
                .map(KeyAlg::as_str),
            id_token_signed_response_alg: stored_alg(
                row,
                row.id_token_signed_response_alg.as_deref(),
            )?
            .map(KeyAlg::as_str),
            previous_secret_expires_at: row
                .previous_secret_hash
                .as_ref()
                .and(row.previous_secret_expires_at)
                .filter(|&at| at > now),
        })
    }
}

/// A client just registered, or whose secret was just rotated: its metadata and,
/// for a confidential client, the secret, shown this once.
#[derive(Debug)]
pub struct ClientWithSecret {
    pub view: ClientView,
    pub secret: Option<Secret<String>>,
}

/// The algorithms the server keeps keys for: a client may name only these.
fn checked_alg(
    alg: Option<&str>,
    field: &'static str,
    allowed: &[KeyAlg],
) -> Result<Option<KeyAlg>, AdminError> {
    let Some(alg) = alg else { return Ok(None) };
    let what = if field == "access_token_signing_alg" {
        "access token"
    } else {
        "ID token"
    };
    let parsed = alg.parse::<KeyAlg>().map_err(|_| {
        AdminError::field(field, format!("unknown {what} signing algorithm `{alg}`"))
    })?;
    if !allowed.contains(&parsed) {
        return Err(AdminError::field(
            field,
            format!("the {what} signing algorithm {alg} is not in signing_algs"),
        ));
    }
    Ok(Some(parsed))
}

/// Validates the registration, makes the id and secret, stores the client (secret as
/// a keyed hash only) with an audit event.
pub async fn register(
    store: &Store,
    registration: ClientRegistration,
    allowed_algs: &[KeyAlg],
    actor: &Actor,
    now: i64,
) -> Result<ClientWithSecret, AdminError> {
    let access_token_alg = checked_alg(
        registration.access_token_signing_alg.as_deref(),
        "access_token_signing_alg",
        allowed_algs,
    )?;
    let id_token_alg = checked_alg(
        registration.id_token_signed_response_alg.as_deref(),
        "id_token_signed_response_alg",
        allowed_algs,
    )?;
    let metadata = client_metadata::validate_fields(registration)
        .map_err(|(field, e)| AdminError::field(field, e.to_string()))?;
    let id = random::identifier()?;
    let event = AuditEvent::new(AuditKind::ClientCreated)
        .actor(actor.as_str())
        .client(&id)
        .detail(serde_json::json!({
            "client_name": metadata.name,
            "grant_types": metadata.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            "public": metadata.is_public,
        }));
    let logged = event.clone();
    let (row, secret) = store
        .transaction(move |conn| {
            let (secret, secret_hash) = if metadata.is_public {
                (None, None)
            } else {
                let (secret, hash) = secret_hasher(conn, now)?.generate()?;
                (Some(secret), Some(hash))
            };
            let mut row = ClientRow::new(id, &metadata, secret_hash, now)?;
            row.access_token_signing_alg = access_token_alg.map(|a| a.as_str().to_owned());
            row.id_token_signed_response_alg = id_token_alg.map(|a| a.as_str().to_owned());
            clients::insert(conn, &row)?;
            event.record(conn, now)?;
            Ok((row, secret))
        })
        .await?;
    audit::log(&logged);
    Ok(ClientWithSecret {
        view: ClientView::of(&row, now)?,
        secret,
    })
}

/// Every client, oldest first.
pub async fn list(store: &Store, now: i64) -> Result<Vec<ClientView>, AdminError> {
    let rows = store.run(clients::list).await?;
    Ok(rows
        .iter()
        .map(|row| ClientView::of(row, now))
        .collect::<Result<_, _>>()?)
}

/// The client `id`.
pub async fn show(store: &Store, id: &str, now: i64) -> Result<ClientView, AdminError> {
    let lookup = id.to_owned();
    let row = store
        .run(move |conn| clients::find(conn, &lookup))
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(ClientView::of(&row, now)?)
}

fn not_found(id: &str) -> AdminError {
    AdminError::NotFound(format!("no client `{id}`"))
}

/// What an admin changes about a client; `None` keeps the current value, a list
/// given replaces the whole list.
#[derive(Debug, Clone, Default)]
pub struct ClientUpdate {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub scope: Option<String>,
    /// `Some("")` goes back to the server's default.
    pub access_token_signing_alg: Option<String>,
    /// `Some("")` goes back to RS256.
    pub id_token_signed_response_alg: Option<String>,
}

/// Changes a client's metadata, checked as a registration is. The auth method and
/// public/confidential kind stay (a new kind is a new client).
pub async fn update(
    store: &Store,
    id: &str,
    change: ClientUpdate,
    allowed_algs: &[KeyAlg],
    actor: &Actor,
    now: i64,
) -> Result<ClientView, AdminError> {
    let current = show_row(store, id).await?;
    let m = current.metadata()?;
    let merged = |new: Option<String>, old: &Option<String>| match new {
        Some(s) if s.is_empty() => None,
        Some(s) => Some(s),
        None => old.clone(),
    };
    let access_alg = merged(
        change.access_token_signing_alg.clone(),
        &current.access_token_signing_alg,
    );
    let id_alg = merged(
        change.id_token_signed_response_alg.clone(),
        &current.id_token_signed_response_alg,
    );
    let access_alg = checked_alg(
        access_alg.as_deref(),
        "access_token_signing_alg",
        allowed_algs,
    )?;
    let id_alg = checked_alg(
        id_alg.as_deref(),
        "id_token_signed_response_alg",
        allowed_algs,
    )?;
    let registration = ClientRegistration {
        name: change.name.clone().unwrap_or(m.name.clone()),
        redirect_uris: change
            .redirect_uris
            .clone()
            .unwrap_or(m.redirect_uris.clone()),
        post_logout_redirect_uris: change
            .post_logout_redirect_uris
            .clone()
            .unwrap_or(m.post_logout_redirect_uris.clone()),
        grant_types: change
            .grant_types
            .clone()
            .unwrap_or_else(|| m.grant_types.iter().map(|g| g.to_string()).collect()),
        scope: Some(change.scope.clone().unwrap_or(m.scope.to_string())),
        public: m.is_public,
        token_endpoint_auth_method: Some(m.token_endpoint_auth_method.as_str().to_owned()),
        access_token_signing_alg: None,
        id_token_signed_response_alg: None,
    };
    let metadata = client_metadata::validate_fields(registration)
        .map_err(|(field, e)| AdminError::field(field, e.to_string()))?;
    let mut row = ClientRow::new(
        current.id.clone(),
        &metadata,
        current.secret_hash.clone(),
        now,
    )?;
    row.access_token_signing_alg = access_alg.map(|a| a.as_str().to_owned());
    row.id_token_signed_response_alg = id_alg.map(|a| a.as_str().to_owned());
    let event = AuditEvent::new(AuditKind::ClientUpdated)
        .actor(actor.as_str())
        .client(id)
        .detail(serde_json::json!({
            "changed": changed_fields(&change),
        }));
    let logged = event.clone();
    let written = row.clone();
    let updated = store
        .transaction(move |conn| {
            if !clients::update(conn, &written, now)? {
                return Ok(None);
            }
            event.record(conn, now)?;
            clients::find(conn, &written.id)
        })
        .await?
        .ok_or_else(|| not_found(id))?;
    audit::log(&logged);
    store.client_cache().changed();
    Ok(ClientView::of(&updated, now)?)
}

/// The names of the fields an update sets (for the audit trail; no values).
fn changed_fields(change: &ClientUpdate) -> Vec<&'static str> {
    [
        (change.name.is_some(), "client_name"),
        (change.redirect_uris.is_some(), "redirect_uris"),
        (
            change.post_logout_redirect_uris.is_some(),
            "post_logout_redirect_uris",
        ),
        (change.grant_types.is_some(), "grant_types"),
        (change.scope.is_some(), "scope"),
        (
            change.access_token_signing_alg.is_some(),
            "access_token_signing_alg",
        ),
        (
            change.id_token_signed_response_alg.is_some(),
            "id_token_signed_response_alg",
        ),
    ]
    .into_iter()
    .filter_map(|(set, name)| set.then_some(name))
    .collect()
}

async fn show_row(store: &Store, id: &str) -> Result<ClientRow, AdminError> {
    let lookup = id.to_owned();
    store
        .run(move |conn| clients::find(conn, &lookup))
        .await?
        .ok_or_else(|| not_found(id))
}

/// Disables the client: it can no longer authenticate or start a flow, its refresh
/// families are revoked with their access tokens, and its other access tokens are
/// inactive at introspection and UserInfo (which check the client) at once.
pub async fn disable(
    store: &Store,
    id: &str,
    actor: &Actor,
    now: i64,
) -> Result<ClientView, AdminError> {
    set_disabled(store, id, true, actor, now).await
}

/// Enables the client again; what was revoked stays revoked.
pub async fn enable(
    store: &Store,
    id: &str,
    actor: &Actor,
    now: i64,
) -> Result<ClientView, AdminError> {
    set_disabled(store, id, false, actor, now).await
}

async fn set_disabled(
    store: &Store,
    id: &str,
    disabled: bool,
    actor: &Actor,
    now: i64,
) -> Result<ClientView, AdminError> {
    let kind = if disabled {
        AuditKind::ClientDisabled
    } else {
        AuditKind::ClientEnabled
    };
    let (client_id, actor) = (id.to_owned(), actor.clone());
    let outcome = store
        .transaction(move |conn| {
            if !clients::set_disabled(conn, &client_id, disabled, now)? {
                return Ok(None);
            }
            let revoked = if disabled {
                refresh_tokens::revoke_families_of(
                    conn,
                    None,
                    Some(&client_id),
                    "the client was disabled",
                    now,
                )?
            } else {
                Vec::new()
            };
            let event = AuditEvent::new(kind)
                .actor(actor.as_str())
                .client(&client_id)
                .detail(serde_json::json!({ "revoked_refresh_token_families": revoked.len() }));
            event.record(conn, now)?;
            let row = clients::find(conn, &client_id)?;
            Ok(row.map(|row| (row, event)))
        })
        .await?;
    let (row, event) = outcome.ok_or_else(|| not_found(id))?;
    audit::log(&event);
    store.client_cache().changed();
    Ok(ClientView::of(&row, now)?)
}

/// What a deletion removed.
#[derive(Debug, Serialize)]
pub struct ClientDeleted {
    pub client_id: String,
    pub revoked_refresh_token_families: usize,
}

/// Deletes the client. Its refresh families are revoked first (so their access
/// tokens are listed as revoked), then the client row goes with its codes, pending
/// requests, consents and families.
pub async fn delete(
    store: &Store,
    id: &str,
    actor: &Actor,
    now: i64,
) -> Result<ClientDeleted, AdminError> {
    let (client_id, actor) = (id.to_owned(), actor.clone());
    let outcome = store
        .transaction(move |conn| {
            let Some(row) = clients::find(conn, &client_id)? else {
                return Ok(None);
            };
            let revoked = refresh_tokens::revoke_families_of(
                conn,
                None,
                Some(&client_id),
                "the client was deleted",
                now,
            )?;
            clients::delete(conn, &client_id)?;
            let event = AuditEvent::new(AuditKind::ClientDeleted)
                .actor(actor.as_str())
                .client(&client_id)
                .detail(serde_json::json!({
                    "client_name": row.name,
                    "revoked_refresh_token_families": revoked.len(),
                }));
            event.record(conn, now)?;
            Ok(Some((revoked.len(), event)))
        })
        .await?;
    let (revoked, event) = outcome.ok_or_else(|| not_found(id))?;
    audit::log(&event);
    store.client_cache().changed();
    Ok(ClientDeleted {
        client_id: id.to_owned(),
        revoked_refresh_token_families: revoked,
    })
}

/// Gives a confidential client a new secret, shown this once. The current secret
/// keeps working for `grace` seconds (0: it stops at once); a secret older than that
/// stops now, so at most two are ever live.
pub async fn rotate_secret(
    store: &Store,
    id: &str,
    grace: i64,
    actor: &Actor,
    now: i64,
) -> Result<ClientWithSecret, AdminError> {
    if grace < 0 {
        return Err(AdminError::Invalid(
            "the grace period must not be negative".into(),
        ));
    }
    let current = show_row(store, id).await?;
    if current.secret_hash.is_none() {
        return Err(AdminError::Invalid(format!(
            "client `{id}` is public: it has no secret to rotate"
        )));
    }
    let (client_id, actor) = (id.to_owned(), actor.clone());
    let previous_expires_at = now.saturating_add(grace);
    let outcome = store
        .transaction(move |conn| {
            let (secret, hash) = secret_hasher(conn, now)?.generate()?;
            if !clients::rotate_secret(conn, &client_id, &hash, previous_expires_at, now)? {
                return Ok(None);
            }
            let event = AuditEvent::new(AuditKind::ClientSecretRotated)
                .actor(actor.as_str())
                .client(&client_id)
                .detail(serde_json::json!({ "previous_secret_expires_at": previous_expires_at }));
            event.record(conn, now)?;
            let row = clients::find(conn, &client_id)?;
            Ok(row.map(|row| (row, secret, event)))
        })
        .await?;
    let (row, secret, event) = outcome.ok_or_else(|| not_found(id))?;
    audit::log(&event);
    store.client_cache().changed();
    Ok(ClientWithSecret {
        view: ClientView::of(&row, now)?,
        secret: Some(secret),
    })
}
