//! Small cryptographic building blocks, all on `ring` (and `argon2` for passwords).

pub mod client_secret;
pub mod derived_token;
pub mod key_alg;
pub mod master_key;
pub mod password;
pub mod password_pool;
pub mod random;
mod secret;

pub use secret::Secret;

/// A strong entity tag for `body` (RFC 9110 §8.8.3): 128 bits of its SHA-256, base64url,
/// quoted. Served documents change exactly when their bytes do.
pub fn etag(body: &[u8]) -> String {
    use base64::Engine;
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    format!(
        "\"{}\"",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
    )
}

/// `bytes` as lowercase hex digits, two per byte.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    text
}

/// The system random source failed; nothing secret can be made without it.
#[derive(Debug, thiserror::Error)]
#[error("the system random number generator failed")]
pub struct RandomError;

/// How bearer values (codes, refresh tokens, session ids) are stored: BASE64URL of
/// their SHA-256, so a copy of the database redeems nothing.
pub fn token_hash(token: &str) -> String {
    use base64::Engine;
    let digest = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// Compares two secrets without leaking where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
}
