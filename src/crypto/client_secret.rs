//! Client secrets: 256-bit random values, stored as HMAC-SHA-256 under a server key
//! and checked in constant time (DESIGN.md §3). A check costs microseconds; the
//! secret's own entropy is the protection, so a slow password hash would add nothing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;

use super::{random, RandomError, Secret};

/// Prefix of a stored hash, naming its scheme so it can change later.
const SCHEME: &str = "hmac-sha256:";

/// Hashes and verifies client secrets with the server's HMAC key.
pub struct ClientSecretHasher {
    key: hmac::Key,
}

impl std::fmt::Debug for ClientSecretHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecretHasher(<redacted>)")
    }
}

impl ClientSecretHasher {
    /// A hasher keyed with `key` (the server's 256-bit secret).
    pub fn new(key: &[u8]) -> Self {
        ClientSecretHasher {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// A fresh secret and the hash to store for it.
    pub fn generate(&self) -> Result<(Secret<String>, String), RandomError> {
        let secret = Secret::new(random::token()?);
        let hash = self.hash(&secret);
        Ok((secret, hash))
    }

    /// The stored form of `secret`.
    pub fn hash(&self, secret: &Secret<String>) -> String {
        let tag = hmac::sign(&self.key, secret.expose().as_bytes());
        format!("{SCHEME}{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// True when `presented` is the secret behind `stored`. `ring::hmac::verify`
    /// compares the tags in constant time; a malformed stored value never matches.
    pub fn verify(&self, presented: &str, stored: &str) -> bool {
        let Some(encoded) = stored.strip_prefix(SCHEME) else {
            return false;
        };
        let Ok(tag) = URL_SAFE_NO_PAD.decode(encoded) else {
            return false;
        };
        hmac::verify(&self.key, presented.as_bytes(), &tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> ClientSecretHasher {
        ClientSecretHasher::new(&[7u8; 32])
    }

    #[test]
    fn generated_secret_verifies() {
        let h = hasher();
        let (secret, stored) = h.generate().unwrap();
        assert!(stored.starts_with(SCHEME));
        assert!(!stored.contains(secret.expose().as_str()));
        assert!(h.verify(secret.expose(), &stored));
    }

    #[test]
    fn wrong_secret_is_rejected() {
        let h = hasher();
        let (secret, stored) = h.generate().unwrap();
        let mut wrong = secret.expose().clone();
        wrong.pop();
        wrong.push('x');
        assert!(!h.verify(&wrong, &stored));
        assert!(!h.verify("", &stored));
        assert!(!h.verify(&format!("{}a", secret.expose()), &stored));
    }

    #[test]
    fn another_server_key_does_not_verify() {
        let (secret, stored) = hasher().generate().unwrap();
        assert!(!ClientSecretHasher::new(&[8u8; 32]).verify(secret.expose(), &stored));
    }

    #[test]
    fn malformed_stored_hash_never_matches() {
        let h = hasher();
        assert!(!h.verify("x", "x"));
        assert!(!h.verify("x", "hmac-sha256:!!!"));
        assert!(!h.verify("x", "hmac-sha256:"));
    }
}
