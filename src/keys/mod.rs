//! Signing keys (DESIGN.md §4): generated here, encrypted at rest under the master key,
//! rotated on a schedule every instance agrees on, published in the JWKS, and used to
//! sign JWTs with keys parsed once and kept in memory.
//!
//! - [`alg`]: the algorithms we keep keys for.
//! - [`master_key`], [`sealing`]: the master key and AES-256-GCM of private keys.
//! - [`material`]: new key pairs, their public JWKs and RFC 7638 `kid`s.
//! - [`signer`], [`jwt_provider`]: ring-backed signing and verification for `jsonwebtoken`.
//! - [`schedule`]: the lifecycle rules as a pure plan (`next` → `active` → `retired` → deleted).
//! - [`lifecycle`]: carrying a plan out against the database, race-safe.
//! - [`keyring`]: the loaded key set an instance signs with and publishes.

pub use crate::crypto::key_alg as alg;
pub mod jwt_provider;
pub mod keyring;
pub mod lifecycle;
pub use crate::crypto::master_key;
pub mod material;
pub mod schedule;
pub mod sealing;
pub mod signer;

pub use alg::KeyAlg;
pub use keyring::{KeyRing, KeySet};
pub use master_key::MasterKey;

use crate::store::StoreError;

/// Why a key operation failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Random(#[from] crate::crypto::RandomError),
    #[error("the master key does not decrypt signing key {kid}: wrong PORTCULLIS_MASTER_KEY or master key file? (refusing to start rather than make new keys)")]
    WrongMasterKey { kid: String },
    #[error("{0}")]
    MasterKey(String),
    #[error("cannot generate a {alg} key: {reason}")]
    Generate { alg: KeyAlg, reason: String },
    #[error("stored signing key {kid} is unusable: {reason}")]
    Corrupt { kid: String, reason: String },
    #[error("no signing key with kid `{0}`")]
    UnknownKid(String),
    #[error("signing key {0} is already revoked")]
    AlreadyRevoked(String),
    #[error("{0} is not in signing_algs; add it there to keep {0} keys")]
    AlgNotConfigured(KeyAlg),
    #[error("no {0} key signs at this time")]
    NoSigningKey(KeyAlg),
    #[error("cannot sign the token: {0}")]
    Sign(String),
}
