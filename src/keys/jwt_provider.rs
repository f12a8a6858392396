//! A `jsonwebtoken` crypto provider on ring (RS256 signatures on OpenSSL, which
//! libpq links anyway: [`super::signer`]), so the binary holds no third crypto
//! library: `jsonwebtoken` is built without its `rust_crypto` and `aws_lc_rs` backends.
//!
//! Only RS256, ES256 and EdDSA exist here. HMAC and every other algorithm are refused
//! (a token "signed" with a client secret or `alg: none` never verifies), and
//! [`install`] must run before `jsonwebtoken::decode` is called.

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::signature::{self, Verifier};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::signature::{
    RsaPublicKeyComponents, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ED25519,
    RSA_PKCS1_2048_8192_SHA256,
};

use super::signer::SigningKey;
use super::KeyAlg;

/// The provider. `signer_factory` parses the key on every call: Portcullis itself
/// signs through [`super::signer::encode`] with keys parsed once.
pub static RING_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: |_| Err(ErrorKind::UnsupportedAlgorithm.into()),
        rsa_pub_components_from_public_key: |_| Err(ErrorKind::UnsupportedAlgorithm.into()),
        ec_pub_components_from_private_key: |_, _| Err(ErrorKind::UnsupportedAlgorithm.into()),
        ed_pub_components_from_private_key: |_, _| Err(ErrorKind::UnsupportedAlgorithm.into()),
        compute_digest,
    },
};

/// Makes [`RING_PROVIDER`] the process's provider. Idempotent; if another provider
/// was installed first, that one stays (and `jsonwebtoken` uses it).
pub fn install() {
    let _ = RING_PROVIDER.install_default();
}

fn key_alg(algorithm: &Algorithm) -> Result<KeyAlg, Error> {
    match algorithm {
        Algorithm::RS256 => Ok(KeyAlg::Rs256),
        Algorithm::ES256 => Ok(KeyAlg::Es256),
        Algorithm::EdDSA => Ok(KeyAlg::EdDsa),
        _ => Err(ErrorKind::UnsupportedAlgorithm.into()),
    }
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    let alg = key_alg(algorithm)?;
    let key = SigningKey::from_der(alg, key.as_bytes())
        .map_err(|e| Error::from(ErrorKind::InvalidRsaKey(e.0)))?;
    Ok(Box::new(key))
}

/// Verifies one algorithm with one public key.
struct RingVerifier {
    alg: KeyAlg,
    key: DecodingKeyKind,
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    let alg = key_alg(algorithm)?;
    // The key's family must match the algorithm: an RSA key never checks an ES256 token.
    let family_matches = matches!(
        (alg, key.family()),
        (KeyAlg::Rs256, jsonwebtoken::AlgorithmFamily::Rsa)
            | (KeyAlg::Es256, jsonwebtoken::AlgorithmFamily::Ec)
            | (KeyAlg::EdDsa, jsonwebtoken::AlgorithmFamily::Ed)
    );
    if !family_matches {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    Ok(Box::new(RingVerifier {
        alg,
        key: key.kind().clone(),
    }))
}

impl Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        let checked = match (&self.key, self.alg) {
            (DecodingKeyKind::RsaModulusExponent { n, e }, KeyAlg::Rs256) => {
                RsaPublicKeyComponents { n, e }.verify(&RSA_PKCS1_2048_8192_SHA256, msg, signature)
            }
            (DecodingKeyKind::SecretOrDer(der), KeyAlg::Rs256) => {
                UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der).verify(msg, signature)
            }
            (DecodingKeyKind::SecretOrDer(point), KeyAlg::Es256) => {
                UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point).verify(msg, signature)
            }
            (DecodingKeyKind::SecretOrDer(x), KeyAlg::EdDsa) => {
                UnparsedPublicKey::new(&ED25519, x).verify(msg, signature)
            }
            _ => Err(ring::error::Unspecified),
        };
        checked.map_err(|_| signature::Error::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.alg.jwt_algorithm()
    }
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>, Error> {
    let algorithm = match hash {
        ThumbprintHash::SHA256 => &ring::digest::SHA256,
        ThumbprintHash::SHA384 => &ring::digest::SHA384,
        ThumbprintHash::SHA512 => &ring::digest::SHA512,
        _ => return Err(ErrorKind::UnsupportedAlgorithm.into()),
    };
    Ok(ring::digest::digest(algorithm, data).as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::material;
    use jsonwebtoken::{decode, Header, Validation};
    use serde_json::json;

    #[test]
    fn tokens_signed_with_parsed_keys_verify_through_jsonwebtoken() {
        install();
        for alg in KeyAlg::ALL {
            let key = material::generate(alg).unwrap();
            let mut header = Header::new(alg.jwt_algorithm());
            header.kid = Some(key.kid.clone());
            let claims = json!({ "sub": "s", "exp": 4_000_000_000u64 });
            let token = crate::keys::signer::encode(&header, &claims, &key.signing_key).unwrap();
            let decoding = DecodingKey::from_jwk(&key.public_jwk).unwrap();
            let mut validation = Validation::new(alg.jwt_algorithm());
            validation.validate_aud = false;
            let data = decode::<serde_json::Value>(&token, &decoding, &validation).unwrap();
            assert_eq!(data.claims["sub"], "s", "{alg}");
            assert_eq!(data.header.kid, Some(key.kid.clone()));

            // A flipped signature byte fails.
            let mut tampered = token.clone().into_bytes();
            let last = tampered.len() - 3;
            tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(tampered).unwrap();
            assert!(decode::<serde_json::Value>(&tampered, &decoding, &validation).is_err());
        }
    }

    #[test]
    fn hmac_and_mismatched_families_are_refused() {
        install();
        let es = material::generate(KeyAlg::Es256).unwrap();
        let decoding = DecodingKey::from_jwk(&es.public_jwk).unwrap();
        assert!(new_verifier(&Algorithm::RS256, &decoding).is_err());
        assert!(new_verifier(&Algorithm::HS256, &DecodingKey::from_secret(b"s")).is_err());
    }
}
