//! Small cryptographic building blocks, all on `ring` (and `argon2` for passwords).

pub mod client_secret;
pub mod password;
pub mod random;
mod secret;

pub use secret::Secret;

/// The system random source failed; nothing secret can be made without it.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;
