//! Resources (APIs, RFC 8707): the lifecycle an admin drives — create, list, show,
//! update, delete — and what the token and introspection endpoints ask of them.

use serde::Serialize;

use super::clients::secret_hasher;
use super::{Actor, AdminError, Services};
use crate::crypto::{random, Secret};
use crate::keys::KeyAlg;
use crate::protocol::error::OAuthError;
use crate::protocol::resource;
use crate::protocol::scope::Scope;
use crate::store::audit::{self, AuditEvent, AuditKind};
use crate::store::resources::{self, ResourceRow};
use crate::store::{clients, DbConn, Store, StoreError};

/// What an admin gives to register or change a resource.
#[derive(Debug, Clone, Default)]
pub struct ResourceInput {
    pub identifier: String,
    pub name: String,
    /// The scopes the API defines, space-separated (RFC 6749 §3.3 tokens).
    pub scope: String,
    /// Client ids allowed to ask tokens for it.
    pub clients: Vec<String>,
    /// Seconds its access tokens live; `None`: `access_token_lifetime`.
    pub access_token_lifetime: Option<i64>,
    /// RS256, ES256 or EdDSA; `None`: the client's or the server's.
    pub signing_alg: Option<String>,
    /// Whether its access tokens carry the user's `roles` and `groups`.
    pub include_roles: bool,
}

/// A resource as admins see it: never the secret.
#[derive(Debug, Serialize, Clone, PartialEq, Eq)]
pub struct ResourceView {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub scope: String,
    pub clients: Vec<String>,
    pub access_token_lifetime: Option<i64>,
    pub signing_alg: Option<String>,
    pub include_roles: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ResourceView {
    fn of(row: &ResourceRow) -> Result<ResourceView, StoreError> {
        Ok(ResourceView {
            id: row.id.clone(),
            identifier: row.identifier.clone(),
            name: row.name.clone(),
            scope: row.scope.clone(),
            clients: row.client_ids()?,
            access_token_lifetime: row.access_token_lifetime,
            signing_alg: row.signing_alg.clone(),
            include_roles: row.include_roles,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A resource just created: its view and its introspection secret, shown once.
#[derive(Debug)]
pub struct ResourceWithSecret {
    pub view: ResourceView,
    pub secret: Secret<String>,
}

/// What the server's settings allow a resource: its algorithms, the longest access
/// token (signing keys stay published for the server's longest token lifetime, so a
/// longer one would outlive its key in every JWKS), and identifiers that already
/// mean something (the issuer, `access_token_audience`: tokens without `resource`
/// carry them, and an API with that identifier would accept those).
#[derive(Debug, Clone)]
pub struct ResourcePolicy {
    pub algs: Vec<KeyAlg>,
    pub max_lifetime: i64,
    pub reserved: Vec<String>,
}

impl ResourcePolicy {
    /// The policy of `config`.
    pub fn of(config: &crate::config::Config) -> ResourcePolicy {
        ResourcePolicy {
            algs: config.keys.algs.clone(),
            max_lifetime: crate::clock::seconds(config.lifetimes.access_token),
            reserved: vec![
                config.issuer.clone(),
                config.oauth.access_token_audience.clone(),
            ],
        }
    }
}

/// A resource as the token endpoint uses it.
#[derive(Debug, Clone)]
pub struct Target {
    pub identifier: String,
    pub scope: Scope,
    pub access_token_lifetime: Option<i64>,
    pub signing_alg: Option<KeyAlg>,
    pub include_roles: bool,
}

/// Checks the input: an RFC 8707 identifier, a name, scopes, known clients, a
/// lifetime in range, an algorithm the server keeps keys for.
fn checked(
    conn: &mut DbConn,
    input: &ResourceInput,
    policy: &ResourcePolicy,
) -> Result<Result<(), AdminError>, StoreError> {
    let algs = &policy.algs;
    let invalid = |m: String| Ok(Err(AdminError::Invalid(m)));
    if resource::check_identifier(&input.identifier).is_err() {
        return invalid(format!(
            "the identifier `{}` must be an absolute URI without a fragment (RFC 8707 §2)",
            input.identifier
        ));
    }
    if input.name.trim().is_empty() || input.name.chars().count() > 200 {
        return invalid("the name must be 1 to 200 characters".to_owned());
    }
    match Scope::parse(&input.scope) {
        Ok(scope) if !scope.is_empty() => {}
        _ => return invalid("the scope must list at least one valid scope token".to_owned()),
    }
    if policy.reserved.contains(&input.identifier) {
        return invalid(format!(
            "`{}` is the issuer or access_token_audience: tokens without a resource carry it",
            input.identifier
        ));
    }
    if let Some(lifetime) = input.access_token_lifetime {
        if !(60..=policy.max_lifetime).contains(&lifetime) {
            return invalid(format!(
                "the access token lifetime must be 60 to {} seconds (access_token_lifetime: signing keys stay published that long)",
                policy.max_lifetime
            ));
        }
    }
    if let Some(alg) = &input.signing_alg {
        match alg.parse::<KeyAlg>() {
            Ok(parsed) if algs.contains(&parsed) => {}
            _ => return invalid(format!("`{alg}` is not one of the signing algorithms kept")),
        }
    }
    for client in &input.clients {
        if clients::find(conn, client)?.is_none() {
            return invalid(format!("no client `{client}`"));
        }
    }
    Ok(Ok(()))
}

/// Registers a resource with a fresh introspection secret (a keyed hash is stored;
/// the secret is shown once), in one transaction with its audit event.
pub async fn create(
    store: &Store,
    policy: ResourcePolicy,
    input: ResourceInput,
    actor: &Actor,
    now: i64,
) -> Result<ResourceWithSecret, AdminError> {
    let actor = actor.clone();
    let taken = input.identifier.clone();
    let (row, secret, event) = store
        .run_with(move |conn| {
            conn.transaction_with(|conn| {
                checked(conn, &input, &policy)??;
                let (secret, secret_hash) = secret_hasher(conn, now)?.generate()?;
                let row = ResourceRow {
                    id: random::identifier()?,
                    identifier: input.identifier.clone(),
                    name: input.name.trim().to_owned(),
                    scope: Scope::parse(&input.scope)
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    clients: serde_json::to_string(&input.clients)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    access_token_lifetime: input.access_token_lifetime,
                    signing_alg: input.signing_alg.clone(),
                    include_roles: input.include_roles,
                    secret_hash,
                    created_at: now,
                    updated_at: now,
                };
                resources::insert(conn, &row).map_err(|e| {
                    if e.is_unique_violation() {
                        AdminError::Conflict(format!("a resource `{taken}` exists already"))
                    } else {
                        AdminError::Store(e)
                    }
                })?;
                let event = AuditEvent::new(AuditKind::ResourceCreated)
                    .actor(actor.as_str())
                    .detail(
                        serde_json::json!({ "resource": row.id, "identifier": row.identifier }),
                    );
                event.record(conn, now)?;
                Ok::<_, AdminError>((row, secret, event))
            })
        })
        .await?;
    audit::log(&event);
    Ok(ResourceWithSecret {
        view: ResourceView::of(&row)?,
        secret,
    })
}

/// Every resource, oldest first.
pub async fn list(store: &Store) -> Result<Vec<ResourceView>, AdminError> {
    let rows = store.run(resources::list).await?;
    Ok(rows
        .iter()
        .map(ResourceView::of)
        .collect::<Result<_, _>>()?)
}

/// The resource with this identifier, if any (for the consent page of a request
/// that named it).
pub async fn by_identifier(
    store: &Store,
    identifier: &str,
) -> Result<Option<ResourceView>, StoreError> {
    let lookup = identifier.to_owned();
    store
        .run(move |conn| resources::find_by_identifier(conn, &lookup))
        .await?
        .map(|row| ResourceView::of(&row))
        .transpose()
}

/// The resource named by id or identifier.
pub async fn show(store: &Store, id: &str) -> Result<ResourceView, AdminError> {
    Ok(ResourceView::of(&find(store, id).await?)?)
}

async fn find(store: &Store, id: &str) -> Result<ResourceRow, AdminError> {
    let lookup = id.to_owned();
    store
        .run(move |conn| resources::find(conn, &lookup))
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no resource `{id}`")))
}

/// Replaces what an admin may change (everything but the id and the secret); the
/// tokens already issued keep their `aud` and scope until they expire.
pub async fn update(
    store: &Store,
    policy: ResourcePolicy,
    id: &str,
    input: ResourceInput,
    actor: &Actor,
    now: i64,
) -> Result<ResourceView, AdminError> {
    let existing = find(store, id).await?;
    let actor = actor.clone();
    let (row, event) = store
        .run_with(move |conn| {
            conn.transaction_with(|conn| {
                checked(conn, &input, &policy)??;
                let row = ResourceRow {
                    identifier: input.identifier.clone(),
                    name: input.name.trim().to_owned(),
                    scope: Scope::parse(&input.scope)
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    clients: serde_json::to_string(&input.clients)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    access_token_lifetime: input.access_token_lifetime,
                    signing_alg: input.signing_alg.clone(),
                    include_roles: input.include_roles,
                    updated_at: now,
                    ..existing
                };
                if !resources::update(conn, &row)? {
                    return Err(AdminError::NotFound(format!("no resource `{}`", row.id)));
                }
                let event = AuditEvent::new(AuditKind::ResourceUpdated)
                    .actor(actor.as_str())
                    .detail(
                        serde_json::json!({ "resource": row.id, "identifier": row.identifier }),
                    );
                event.record(conn, now)?;
                Ok::<_, AdminError>((row, event))
            })
        })
        .await?;
    audit::log(&event);
    Ok(ResourceView::of(&row)?)
}

/// Deletes a resource; its tokens stay valid until they expire, but introspection
/// by it ends at once (its secret is gone).
pub async fn delete(
    store: &Store,
    id: &str,
    actor: &Actor,
    now: i64,
) -> Result<ResourceView, AdminError> {
    let row = find(store, id).await?;
    let view = ResourceView::of(&row)?;
    let event = AuditEvent::new(AuditKind::ResourceDeleted)
        .actor(actor.as_str())
        .detail(serde_json::json!({ "resource": row.id, "identifier": row.identifier }));
    let recorded = event.clone();
    let gone = store
        .transaction(move |conn| {
            let gone = resources::delete(conn, &row.id)?;
            if gone {
                recorded.record(conn, now)?;
            }
            Ok(gone)
        })
        .await?;
    if !gone {
        return Err(AdminError::NotFound(format!("no resource `{id}`")));
    }
    audit::log(&event);
    Ok(view)
}

/// RFC 8707 §2: the resource `identifier` a token request names, if `client_id`
/// may ask for it; `invalid_target` when it is malformed, unknown or not allowed
/// to this client (one answer for both: no enumeration of APIs).
pub async fn target_for(
    services: &Services,
    client_id: &str,
    identifier: &str,
) -> Result<Target, super::OAuthFailure> {
    resource::check_identifier(identifier)?;
    let lookup = identifier.to_owned();
    let row = services
        .store
        .run(move |conn| resources::find_by_identifier(conn, &lookup))
        .await?;
    let Some(row) = row else {
        return Err(
            OAuthError::InvalidTarget("this resource is not available to this client").into(),
        );
    };
    if !row.client_ids()?.iter().any(|c| c == client_id) {
        return Err(
            OAuthError::InvalidTarget("this resource is not available to this client").into(),
        );
    }
    Ok(target_of(row)?)
}

/// The resource a grant was authorized for, looked up again when its tokens are
/// minted (inside the grant's transaction); `None` when it has been deleted since.
pub fn target_in(conn: &mut DbConn, identifier: &str) -> Result<Option<Target>, StoreError> {
    let Some(row) = resources::find_by_identifier(conn, identifier)? else {
        return Ok(None);
    };
    Ok(Some(target_of(row)?))
}

fn target_of(row: ResourceRow) -> Result<Target, StoreError> {
    let scope = Scope::parse(&row.scope)
        .map_err(|e| StoreError::Corrupt(format!("resource {}: scope: {e}", row.id)))?;
    let signing_alg = row
        .signing_alg
        .as_deref()
        .map(|alg| {
            alg.parse::<KeyAlg>().map_err(|_| {
                StoreError::Corrupt(format!(
                    "resource {}: `{alg}` is not a signing algorithm",
                    row.id
                ))
            })
        })
        .transpose()?;
    Ok(Target {
        identifier: row.identifier,
        scope,
        access_token_lifetime: row.access_token_lifetime,
        signing_alg,
        include_roles: row.include_roles,
    })
}

/// The resource whose id is `id` (an introspection request names it where a
/// client would name its client id), if any.
pub async fn by_id(store: &Store, id: &str) -> Result<Option<ResourceRow>, StoreError> {
    let lookup = id.to_owned();
    store
        .run(move |conn| resources::find_by_id(conn, &lookup))
        .await
}

/// Whether `secret` is `resource`'s introspection secret (keyed HMAC, constant
/// time): RFC 7662 §2.1's protected-resource credentials.
pub fn secret_matches(services: &Services, resource: &ResourceRow, secret: &str) -> bool {
    services.secret_hasher.verify(secret, &resource.secret_hash)
}
