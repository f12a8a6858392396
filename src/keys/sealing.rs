//! Private keys at rest: AES-256-GCM under a key derived from the master key with
//! HKDF-SHA-256 (RFC 5869). The associated data binds each ciphertext to its `kid`
//! and `alg`, so a row's key cannot be swapped into another row.
//!
//! Stored form: `v1.` + base64url(96-bit nonce ‖ ciphertext ‖ tag).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf;

use super::{KeyAlg, KeyError, MasterKey};
use crate::crypto::{random, RandomError};

const PREFIX: &str = "v1.";
/// HKDF salt and info: this key encrypts signing keys and nothing else.
const HKDF_SALT: &[u8] = b"portcullis master key";
const HKDF_INFO: &[u8] = b"signing-key-encryption v1";

/// Encrypts and decrypts private signing keys.
pub struct KeySealer {
    key: LessSafeKey,
}

/// The ciphertext did not open: wrong master key, or tampered data.
#[derive(Debug, thiserror::Error)]
#[error("the encrypted private key does not open under this master key")]
pub struct OpenError;

impl KeySealer {
    pub fn new(master: &MasterKey) -> Result<KeySealer, KeyError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(master.bytes());
        let info = [HKDF_INFO];
        let unbound: UnboundKey = prk
            .expand(&info, &AES_256_GCM)
            .map_err(|_| KeyError::MasterKey("cannot derive the key-encryption key".into()))?
            .into();
        Ok(KeySealer {
            key: LessSafeKey::new(unbound),
        })
    }

    /// The stored form of `private_der` for the key `kid`.
    pub fn seal(&self, kid: &str, alg: KeyAlg, private_der: &[u8]) -> Result<String, RandomError> {
        let nonce_bytes = random::bytes::<NONCE_LEN>()?;
        let mut buffer = private_der.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(associated_data(kid, alg)),
                &mut buffer,
            )
            .map_err(|_| RandomError)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buffer);
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// The private key DER behind `stored`, if this master key sealed it for `kid`/`alg`.
    pub fn open(&self, kid: &str, alg: KeyAlg, stored: &str) -> Result<Vec<u8>, OpenError> {
        let encoded = stored.strip_prefix(PREFIX).ok_or(OpenError)?;
        let mut data = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| OpenError)?;
        if data.len() < NONCE_LEN + aead::MAX_TAG_LEN {
            return Err(OpenError);
        }
        let mut ciphertext = data.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&data).map_err(|_| OpenError)?;
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(associated_data(kid, alg)), &mut ciphertext)
            .map_err(|_| OpenError)?;
        Ok(plain.to_vec())
    }
}

fn associated_data(kid: &str, alg: KeyAlg) -> Vec<u8> {
    format!("portcullis signing key|{kid}|{alg}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> KeySealer {
        KeySealer::new(&MasterKey::generate().unwrap()).unwrap()
    }

    #[test]
    fn round_trip() {
        let s = sealer();
        let sealed = s.seal("kid1", KeyAlg::Es256, b"private der").unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("private"));
        assert_eq!(
            s.open("kid1", KeyAlg::Es256, &sealed).unwrap(),
            b"private der"
        );
    }

    #[test]
    fn another_master_key_cannot_open() {
        let sealed = sealer().seal("kid1", KeyAlg::Es256, b"x").unwrap();
        assert!(sealer().open("kid1", KeyAlg::Es256, &sealed).is_err());
    }

    #[test]
    fn ciphertext_is_bound_to_kid_and_alg() {
        let s = sealer();
        let sealed = s.seal("kid1", KeyAlg::Es256, b"x").unwrap();
        assert!(s.open("kid2", KeyAlg::Es256, &sealed).is_err());
        assert!(s.open("kid1", KeyAlg::Rs256, &sealed).is_err());
        assert!(s.open("kid1", KeyAlg::Es256, "v1.AAAA").is_err());
        assert!(s.open("kid1", KeyAlg::Es256, "garbage").is_err());
    }
}
