//! The JWS algorithms Portcullis signs with (RFC 7518 §3, RFC 8037 §3.1). Never `none`,
//! never HMAC: every token verifies against a published public key.

use std::fmt;
use std::str::FromStr;

use jsonwebtoken::jwk::KeyAlgorithm;
use jsonwebtoken::Algorithm;

/// A signing algorithm we keep keys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA 2048: OIDC Core's default for ID tokens.
    Rs256,
    /// ECDSA on P-256 with SHA-256: small and fast, the default for access tokens.
    Es256,
    /// EdDSA on Ed25519 (RFC 8037): on request, as some clients reject OKP keys.
    EdDsa,
}

impl KeyAlg {
    pub const ALL: [KeyAlg; 3] = [KeyAlg::Rs256, KeyAlg::Es256, KeyAlg::EdDsa];

    /// The `alg` value (RFC 7518 §3.1, RFC 8037 §3.1).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlg::Rs256 => "RS256",
            KeyAlg::Es256 => "ES256",
            KeyAlg::EdDsa => "EdDSA",
        }
    }

    /// The same algorithm in `jsonwebtoken`'s types.
    pub fn jwt_algorithm(self) -> Algorithm {
        match self {
            KeyAlg::Rs256 => Algorithm::RS256,
            KeyAlg::Es256 => Algorithm::ES256,
            KeyAlg::EdDsa => Algorithm::EdDSA,
        }
    }

    /// The JWK `alg` member.
    pub fn jwk_algorithm(self) -> KeyAlgorithm {
        match self {
            KeyAlg::Rs256 => KeyAlgorithm::RS256,
            KeyAlg::Es256 => KeyAlgorithm::ES256,
            KeyAlg::EdDsa => KeyAlgorithm::EdDSA,
        }
    }
}

impl fmt::Display for KeyAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Not one of RS256, ES256, EdDSA.
#[derive(Debug, thiserror::Error)]
#[error("unsupported signing algorithm")]
pub struct UnsupportedAlg;

impl FromStr for KeyAlg {
    type Err = UnsupportedAlg;

    /// Exact, case-sensitive names: JOSE `alg` values are case-sensitive (RFC 7515 §4.1.1).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyAlg::ALL
            .into_iter()
            .find(|alg| alg.as_str() == s)
            .ok_or(UnsupportedAlg)
    }
}
