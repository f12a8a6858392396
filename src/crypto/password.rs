//! User passwords: argon2id (RFC 9106) in PHC string form, parameters from config.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::{random, Secret};

/// argon2id cost parameters for user passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2: {0}")]
    Argon2(String),
    #[error(transparent)]
    Random(#[from] super::RandomError),
}

fn argon2(params: &Argon2Params) -> Result<Argon2<'static>, PasswordError> {
    let params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        None,
    )
    .map_err(|e| PasswordError::Argon2(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The PHC string (`$argon2id$v=19$m=…`) for `password` with a fresh 128-bit salt.
pub fn hash(params: &Argon2Params, password: &Secret<String>) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(&random::bytes::<16>()?)
        .map_err(|e| PasswordError::Argon2(e.to_string()))?;
    argon2(params)?
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Argon2(e.to_string()))
}

/// True when `password` matches `stored`. The cost parameters come from the stored
/// string, so hashes made under older settings still verify.
pub fn verify(password: &Secret<String>, stored: &str) -> Result<bool, PasswordError> {
    let parsed = PasswordHash::new(stored).map_err(|e| PasswordError::Argon2(e.to_string()))?;
    match Argon2::default().verify_password(password.expose().as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(PasswordError::Argon2(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: Argon2Params = Argon2Params {
        memory_kib: 8 * 1024,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn hash_is_argon2id_and_verifies() {
        let pw = Secret::new("correct horse".to_string());
        let stored = hash(&CHEAP, &pw).unwrap();
        assert!(
            stored.starts_with("$argon2id$v=19$m=8192,t=1,p=1$"),
            "{stored}"
        );
        assert!(verify(&pw, &stored).unwrap());
        assert!(!verify(&Secret::new("correct horsf".to_string()), &stored).unwrap());
    }

    #[test]
    fn same_password_gets_different_salts() {
        let pw = Secret::new("pw".to_string());
        assert_ne!(hash(&CHEAP, &pw).unwrap(), hash(&CHEAP, &pw).unwrap());
    }

    #[test]
    fn garbage_hash_is_an_error_not_a_match() {
        assert!(verify(&Secret::new("x".to_string()), "not-a-hash").is_err());
    }
}
