//! New key pairs and their public JWKs, named by their RFC 7638 thumbprint.
//!
//! ring generates ECDSA and Ed25519 keys but not RSA keys; those come from OpenSSL
//! (the copy libpq already links), which also makes RS256 signatures
//! ([`super::signer`]); parsing and verification are ring.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse,
    RSAKeyParameters, RSAKeyType,
};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

use super::signer::{PublicParts, SigningKey};
use super::{KeyAlg, KeyError};
use crate::crypto::Secret;

/// RSA modulus size: RFC 7518 §3.3 asks for 2048 bits or more.
pub const RSA_BITS: u32 = 2048;

/// A freshly generated key.
pub struct KeyMaterial {
    pub kid: String,
    pub alg: KeyAlg,
    /// PKCS#1 `RSAPrivateKey` (RS256) or PKCS#8 (ES256, EdDSA) DER.
    pub private_der: Secret<Vec<u8>>,
    /// The public JWK, with `kid`, `use: sig` and `alg`.
    pub public_jwk: Jwk,
    pub signing_key: SigningKey,
}

/// Generates a key pair for `alg`.
pub fn generate(alg: KeyAlg) -> Result<KeyMaterial, KeyError> {
    let failed = |reason: String| KeyError::Generate { alg, reason };
    let rng = SystemRandom::new();
    let der = match alg {
        KeyAlg::Rs256 => openssl::rsa::Rsa::generate(RSA_BITS)
            .and_then(|rsa| rsa.private_key_to_der())
            .map_err(|e| failed(e.to_string()))?,
        KeyAlg::Es256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| failed("ring refused".into()))?
            .as_ref()
            .to_vec(),
        KeyAlg::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| failed("ring refused".into()))?
            .as_ref()
            .to_vec(),
    };
    let signing_key = SigningKey::from_der(alg, &der).map_err(|e| failed(e.0))?;
    let public_jwk = public_jwk(&signing_key).map_err(|e| failed(e.to_string()))?;
    let kid = public_jwk.common.key_id.clone().unwrap_or_default();
    Ok(KeyMaterial {
        kid,
        alg,
        private_der: Secret::new(der),
        public_jwk,
        signing_key,
    })
}

/// The public JWK of `key` (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2): only public
/// members, `use: sig`, the `alg` it is pinned to, and its thumbprint as `kid`.
pub fn public_jwk(key: &SigningKey) -> Result<Jwk, KeyError> {
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let algorithm = match key.public_parts().map_err(|e| KeyError::Generate {
        alg: key.alg(),
        reason: e.0,
    })? {
        PublicParts::Rsa { n, e } => AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: b64(&n),
            e: b64(&e),
        }),
        PublicParts::P256 { x, y } => {
            AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: EllipticCurve::P256,
                x: b64(&x),
                y: b64(&y),
            })
        }
        PublicParts::Ed25519 { x } => AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
            key_type: OctetKeyPairType::OctetKeyPair,
            curve: EllipticCurve::Ed25519,
            x: b64(&x),
        }),
    };
    let kid = thumbprint(&algorithm);
    Ok(Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(key.alg().jwk_algorithm()),
            key_id: Some(kid),
            ..CommonParameters::default()
        },
        algorithm,
    })
}

/// RFC 7638 §3: SHA-256 over the required public members, in lexicographic order,
/// with no whitespace, base64url-encoded.
pub fn thumbprint(params: &AlgorithmParameters) -> String {
    let canonical = match params {
        AlgorithmParameters::RSA(p) => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, p.e, p.n),
        AlgorithmParameters::EllipticCurve(p) => format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            p.x, p.y
        ),
        AlgorithmParameters::OctetKeyPair(p) => {
            format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, p.x)
        }
        // We never make symmetric or other keys; hash what there is so it stays unique.
        other => serde_json::to_string(other).unwrap_or_default(),
    };
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        canonical.as_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of RFC 7638 §3.1.
    #[test]
    fn rfc7638_example_thumbprint() {
        let params = AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
            e: "AQAB".into(),
        });
        assert_eq!(
            thumbprint(&params),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn generated_keys_sign_and_carry_only_public_members() {
        for alg in KeyAlg::ALL {
            let key = generate(alg).unwrap();
            let json = serde_json::to_value(&key.public_jwk).unwrap();
            assert_eq!(json["kid"], key.kid.as_str());
            assert_eq!(json["use"], "sig");
            assert_eq!(json["alg"], alg.as_str());
            for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(json.get(private).is_none(), "{alg}: {private} in {json}");
            }
            let again = SigningKey::from_der(alg, key.private_der.expose()).unwrap();
            assert_eq!(
                public_jwk(&again).unwrap().common.key_id,
                Some(key.kid.clone())
            );
            assert!(!key.signing_key.sign(b"message").unwrap().is_empty());
        }
    }

    #[test]
    fn rsa_keys_are_2048_bits() {
        let key = generate(KeyAlg::Rs256).unwrap();
        let json = serde_json::to_value(&key.public_jwk).unwrap();
        let n = URL_SAFE_NO_PAD.decode(json["n"].as_str().unwrap()).unwrap();
        assert_eq!(n.len() * 8, RSA_BITS as usize);
        assert_eq!(json["e"], "AQAB");
    }
}
