//! Refresh-token successors derived from their predecessor.
//!
//! The successor of a refresh token is HMAC-SHA-256(server key, token): as
//! unpredictable as a random token to anyone without the key, yet the server can
//! name it again from the old token alone. That is what lets a client retrying a
//! refresh inside the grace window get the very answer it got the first time,
//! though only hashes of tokens are stored.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;

/// Derives successors under one server key.
pub struct SuccessorDeriver {
    key: hmac::Key,
}

impl std::fmt::Debug for SuccessorDeriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SuccessorDeriver(<redacted>)")
    }
}

impl SuccessorDeriver {
    pub fn new(key: &[u8]) -> Self {
        SuccessorDeriver {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// The token that replaces `token`: 256 bits, BASE64URL like a random token.
    pub fn successor(&self, token: &str) -> String {
        let tag = hmac::sign(&self.key, token.as_bytes());
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successors_are_stable_distinct_and_keyed() {
        let d = SuccessorDeriver::new(&[1u8; 32]);
        let a = d.successor("token-a");
        assert_eq!(a, d.successor("token-a"));
        assert_ne!(a, d.successor("token-b"));
        assert_ne!(a, SuccessorDeriver::new(&[2u8; 32]).successor("token-a"));
        assert_eq!(a.len(), 43);
    }
}
