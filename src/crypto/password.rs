//! User passwords: argon2id (RFC 9106) in PHC string form, parameters from config.

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;

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
    verify_in(password, stored, &mut Vec::new())
}

/// [`verify`] with argon2's working memory in `memory`, grown as needed and kept for
/// the next call: a worker thread verifying many passwords allocates its ~19 MiB
/// once, not per login.
pub fn verify_in(
    password: &Secret<String>,
    stored: &str,
    memory: &mut Vec<Block>,
) -> Result<bool, PasswordError> {
    let failed = |e: &dyn std::fmt::Display| PasswordError::Argon2(e.to_string());
    let parsed = PasswordHash::new(stored).map_err(|e| failed(&e))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| failed(&e))?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|e| failed(&e))?,
        None => Version::V0x13,
    };
    let params = Params::try_from(&parsed).map_err(|e| failed(&e))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(PasswordError::Argon2(
            "stored hash without salt or output".into(),
        ));
    };
    let mut salt_bytes = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_bytes).map_err(|e| failed(&e))?;
    let blocks = params.block_count();
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let mut output = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt,
            &mut output,
            &mut memory[..blocks],
        )
        .map_err(|e| failed(&e))?;
    Ok(bool::from(output.ct_eq(expected.as_bytes())))
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
    fn reused_memory_verifies_like_fresh_memory() {
        let pw = Secret::new("correct horse".to_string());
        let small = hash(&CHEAP, &pw).unwrap();
        let big = hash(
            &Argon2Params {
                memory_kib: 16 * 1024,
                ..CHEAP
            },
            &pw,
        )
        .unwrap();
        let mut memory = Vec::new();
        assert!(verify_in(&pw, &big, &mut memory).unwrap());
        assert_eq!(memory.len(), 16 * 1024);
        assert!(verify_in(&pw, &small, &mut memory).unwrap());
        assert!(!verify_in(&Secret::new("nope".into()), &small, &mut memory).unwrap());
        assert_eq!(memory.len(), 16 * 1024, "the larger buffer is kept");
    }

    #[test]
    fn garbage_hash_is_an_error_not_a_match() {
        assert!(verify(&Secret::new("x".to_string()), "not-a-hash").is_err());
    }
}
