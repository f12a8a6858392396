//! Operations: one public function per thing a user, a client or an admin does. The
//! HTTP handlers, the command line and the admin UI call these and nothing below them.
//!
//! Each operation validates through [`crate::protocol`], runs one transaction through
//! [`crate::store`], records its audit event in that transaction and logs it after the
//! commit, and returns a typed outcome. No actix, no HTTP status codes; time comes in
//! as `now` (unix seconds), as in the protocol.
//!
//! | module            | owns                                                              |
//! |-------------------|-------------------------------------------------------------------|
//! | [`authorization`] | the authorization request, pending requests, consent, issuing codes |
//! | [`sessions`]      | sign-in, the signed-in user, logout, a user's sessions            |
//! | [`tokens`]        | the token endpoint's grants and the signing of what they issue    |
//! | [`introspection`] | recognising our tokens, introspection (RFC 7662), revocation (RFC 7009) |
//! | [`userinfo`]      | the UserInfo answer (OIDC Core §5.3)                              |
//! | [`clients`]       | client authentication and the client lifecycle                    |
//! | [`users`]         | the user lifecycle and consents                                   |
//! | [`keys`]          | the signing keys' timeline, rotation on demand, revocation        |
//! | [`audit`]         | reading the audit trail and enforcing its retention               |
//! | [`account`]       | the signed-in user's own apps, sessions and password              |
//! | [`setup`]         | the first-run setup link and the first admin                      |

pub mod account;
pub mod audit;
pub mod authorization;
pub mod clients;
pub mod introspection;
pub mod keys;
pub mod resources;
pub mod sessions;
pub mod setup;
pub mod tokens;
pub mod userinfo;
pub mod users;

use std::sync::Arc;

use crate::config::Config;
use crate::crypto::client_secret::ClientSecretHasher;
use crate::crypto::derived_token::SuccessorDeriver;
use crate::crypto::password::PasswordError;
use crate::crypto::password_pool::PasswordPool;
use crate::crypto::RandomError;
use crate::keys::{KeyError, KeyRing};
use crate::protocol::error::OAuthError;
use crate::store::audit_writer::AuditWriter;
use crate::store::{Store, StoreError};

/// What the request-serving operations need: configuration, storage, signing keys
/// and the server's own keyed hashers. Built once at start.
pub struct Services {
    pub config: Arc<Config>,
    pub store: Store,
    pub keys: Arc<KeyRing>,
    /// Checks client secrets (HMAC-SHA-256 under a server key).
    pub secret_hasher: ClientSecretHasher,
    /// Derives refresh-token successors.
    pub successors: SuccessorDeriver,
    /// An argon2id hash of nothing, checked for unknown users (same work, no enumeration).
    pub dummy_password_hash: String,
    /// The bounded password-hashing workers (every sign-in's argon2 runs there).
    pub passwords: PasswordPool,
    /// Batches the audit events that change no other state (DESIGN.md §5).
    pub audit: AuditWriter,
}

/// Why an operation serving an OAuth endpoint did not give what was asked.
#[derive(Debug)]
pub enum OAuthFailure {
    /// The request broke a rule: the answer is the spec's error.
    Refused(OAuthError),
    /// The server failed: logged, answered with `server_error` and no detail.
    Internal(String),
    /// The database is away: 503 `temporarily_unavailable` with `Retry-After`.
    Unavailable(String),
}

impl From<OAuthError> for OAuthFailure {
    fn from(e: OAuthError) -> Self {
        OAuthFailure::Refused(e)
    }
}

impl From<StoreError> for OAuthFailure {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            OAuthFailure::Unavailable(e.to_string())
        } else {
            OAuthFailure::Internal(e.to_string())
        }
    }
}

impl From<KeyError> for OAuthFailure {
    fn from(e: KeyError) -> Self {
        OAuthFailure::Internal(e.to_string())
    }
}

impl From<RandomError> for OAuthFailure {
    fn from(e: RandomError) -> Self {
        OAuthFailure::Internal(e.to_string())
    }
}

/// Why an admin operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The input breaks a rule; nothing was written.
    #[error("{0}")]
    Invalid(String),
    /// One field of the input breaks a rule (the admin UI shows it next to that
    /// field); nothing was written.
    #[error("{message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    /// The thing named does not exist; nothing was written.
    #[error("{0}")]
    NotFound(String),
    /// The input collides with what exists; nothing was written.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl AdminError {
    /// A refusal of `field`'s value.
    pub fn field(field: &'static str, message: impl Into<String>) -> AdminError {
        AdminError::InvalidField {
            field,
            message: message.into(),
        }
    }

    /// Whether the input was refused (nothing was written), as opposed to a failure.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            AdminError::Invalid(_) | AdminError::InvalidField { .. } | AdminError::Conflict(_)
        )
    }
}

/// Who an admin action is attributed to in the audit trail: `cli`, or an admin's
/// user id in the admin UI.
#[derive(Debug, Clone)]
pub struct Actor(pub String);

impl Actor {
    /// The command line.
    pub fn cli() -> Actor {
        Actor("cli".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
