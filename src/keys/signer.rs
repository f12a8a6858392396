//! Private keys parsed once into key pairs, and JWTs signed with them.
//!
//! ES256 and EdDSA sign with ring. RS256 signs with OpenSSL (the copy libpq already
//! links): an RS256 ID token is most of the CPU of a refresh or a signed-in code
//! flow, and OpenSSL's RSA (with AVX-512 IFMA) signed in 0.24 ms where ring took
//! 0.50 ms in `bench_costs` on the benchmark machine — about 1.8× once the
//! machine's own drift between the runs (ES256 17.5 → 14.8 µs) is taken out
//! (BENCHMARKS.md). PKCS#1 v1.5 is deterministic,
//! so both give the same bytes for the same key and message (a test checks it);
//! ring still parses the key first and gives its public half. OpenSSL's copy of the
//! key is made at its first signature: a server that has not signed with RSA yet
//! has not touched OpenSSL's code (about half a MiB of resident pages).
//!
//! `jsonwebtoken::encode` asks the crypto provider for a signer on every call, which
//! would parse (and, for RSA, validate) the private key for every token. A
//! [`SigningKey`] is parsed when the key set is loaded and implements
//! `jsonwebtoken`'s own [`JwtSigner`]; [`encode`] is `jsonwebtoken::encode` with that
//! signer passed in.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::crypto::JwtSigner;
use jsonwebtoken::signature::{self, Signer};
use jsonwebtoken::{Algorithm, Header};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde::Serialize;
use std::sync::OnceLock;

use super::KeyAlg;
use crate::crypto::Secret;

/// A private key ready to sign: RSA from PKCS#1 DER, ECDSA and Ed25519 from PKCS#8.
pub enum SigningKey {
    Rs256(RsaKey),
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

/// An RSA private key: ring's pair, checked at load, and OpenSSL's, which signs.
pub struct RsaKey {
    pair: RsaKeyPair,
    /// PKCS#1 `RSAPrivateKey` DER, for OpenSSL's copy.
    der: Secret<Vec<u8>>,
    openssl: OnceLock<PKey<Private>>,
}

impl RsaKey {
    /// OpenSSL's copy of the key, made on first use.
    fn openssl(&self) -> Result<&PKey<Private>, SignerError> {
        if let Some(key) = self.openssl.get() {
            return Ok(key);
        }
        let key = Rsa::private_key_from_der(self.der.expose())
            .and_then(PKey::from_rsa)
            .map_err(|e| SignerError(e.to_string()))?;
        Ok(self.openssl.get_or_init(|| key))
    }
}

/// The public half, in the raw forms a JWK carries.
pub enum PublicParts {
    /// Modulus and exponent, big-endian without leading zeros (RFC 7518 §6.3.1).
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// P-256 affine coordinates, 32 bytes each (RFC 7518 §6.2.1).
    P256 { x: Vec<u8>, y: Vec<u8> },
    /// The Ed25519 public key (RFC 8037 §2).
    Ed25519 { x: Vec<u8> },
}

/// ring refused the key or the signature.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SignerError(pub String);

impl SigningKey {
    /// Parses `der` as a private key for `alg`.
    pub fn from_der(alg: KeyAlg, der: &[u8]) -> Result<SigningKey, SignerError> {
        let rejected = |e: ring::error::KeyRejected| SignerError(e.to_string());
        Ok(match alg {
            KeyAlg::Rs256 => SigningKey::Rs256(RsaKey {
                pair: RsaKeyPair::from_der(der).map_err(rejected)?,
                der: Secret::new(der.to_vec()),
                openssl: OnceLock::new(),
            }),
            KeyAlg::Es256 => SigningKey::Es256(
                EcdsaKeyPair::from_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    der,
                    &SystemRandom::new(),
                )
                .map_err(rejected)?,
            ),
            KeyAlg::EdDsa => SigningKey::EdDsa(Ed25519KeyPair::from_pkcs8(der).map_err(rejected)?),
        })
    }

    pub fn alg(&self) -> KeyAlg {
        match self {
            SigningKey::Rs256(..) => KeyAlg::Rs256,
            SigningKey::Es256(_) => KeyAlg::Es256,
            SigningKey::EdDsa(_) => KeyAlg::EdDsa,
        }
    }

    /// The public key's components.
    pub fn public_parts(&self) -> Result<PublicParts, SignerError> {
        match self {
            SigningKey::Rs256(key) => {
                let c = ring::rsa::PublicKeyComponents::<Vec<u8>>::from(key.pair.public());
                Ok(PublicParts::Rsa { n: c.n, e: c.e })
            }
            SigningKey::Es256(pair) => {
                // Uncompressed point: 0x04 ‖ x ‖ y (SEC 1 §2.3.3).
                match pair.public_key().as_ref() {
                    [0x04, rest @ ..] if rest.len() == 64 => Ok(PublicParts::P256 {
                        x: rest[..32].to_vec(),
                        y: rest[32..].to_vec(),
                    }),
                    _ => Err(SignerError("unexpected P-256 public key encoding".into())),
                }
            }
            SigningKey::EdDsa(pair) => Ok(PublicParts::Ed25519 {
                x: pair.public_key().as_ref().to_vec(),
            }),
        }
    }

    /// The JWS signature of `message` (RFC 7515 §5.1): PKCS#1 v1.5 for RS256, the fixed
    /// 64-byte R ‖ S form for ES256 (RFC 7518 §3.4), plain Ed25519 for EdDSA.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignerError> {
        let failed = |_| SignerError("signing failed".into());
        match self {
            SigningKey::Rs256(key) => {
                // RSA keys default to PKCS#1 v1.5 padding (RFC 7518 §3.3).
                let mut signer =
                    openssl::sign::Signer::new(MessageDigest::sha256(), key.openssl()?)
                        .map_err(|e| SignerError(e.to_string()))?;
                signer
                    .sign_oneshot_to_vec(message)
                    .map_err(|e| SignerError(e.to_string()))
            }
            SigningKey::Es256(pair) => Ok(pair
                .sign(&SystemRandom::new(), message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
            SigningKey::EdDsa(pair) => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }
}

impl Signer<Vec<u8>> for SigningKey {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        self.sign(msg).map_err(signature::Error::from_source)
    }
}

impl JwtSigner for SigningKey {
    fn algorithm(&self) -> Algorithm {
        self.alg().jwt_algorithm()
    }
}

/// A compact JWS (RFC 7515 §7.1) of `claims` under `header`, signed by `signer`:
/// what `jsonwebtoken::encode` does, with a signer that is already parsed.
pub fn encode<T: Serialize>(
    header: &Header,
    claims: &T,
    signer: &dyn JwtSigner,
) -> Result<String, SignerError> {
    if header.alg != signer.algorithm() {
        return Err(SignerError(format!(
            "header alg {:?} does not match the key",
            header.alg
        )));
    }
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(to_json(header)?),
        URL_SAFE_NO_PAD.encode(to_json(claims)?)
    );
    let signature = signer
        .try_sign(message.as_bytes())
        .map_err(|e| SignerError(e.to_string()))?;
    Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, SignerError> {
    serde_json::to_vec(value).map_err(|e| SignerError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::material;
    use ring::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};

    #[test]
    fn openssl_rs256_signatures_are_ring_signatures() {
        let key = material::generate(KeyAlg::Rs256).unwrap();
        let der = key.private_der.expose();
        let signer = SigningKey::from_der(KeyAlg::Rs256, der).unwrap();
        let ring_pair = RsaKeyPair::from_der(der).unwrap();
        let PublicParts::Rsa { n, e } = signer.public_parts().unwrap() else {
            panic!("an RSA key has RSA public parts");
        };
        for message in [&b""[..], b"eyJhbGciOiJSUzI1NiJ9.e30", &[0xff; 4096]] {
            let ours = signer.sign(message).unwrap();
            let mut by_ring = vec![0; ring_pair.public().modulus_len()];
            ring_pair
                .sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut by_ring,
                )
                .unwrap();
            assert_eq!(ours, by_ring, "PKCS#1 v1.5 is deterministic");
            RsaPublicKeyComponents { n: &n, e: &e }
                .verify(&RSA_PKCS1_2048_8192_SHA256, message, &ours)
                .unwrap();
        }
    }
}
