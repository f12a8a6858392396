//! What admins do to users and clients, shared by the command line and the admin UI:
//! validate, write in one transaction, record an audit event.

pub mod clients;
pub mod users;

use crate::crypto::password::PasswordError;
use crate::crypto::RandomError;
use crate::store::StoreError;

/// Why an admin operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// The input breaks a rule; nothing was written.
    #[error("{0}")]
    Invalid(String),
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
