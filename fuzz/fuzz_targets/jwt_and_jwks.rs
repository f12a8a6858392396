//! JWT and JWKS handling as a resource server or relying party meets it: header
//! decoding, JWK and JWK Set parsing, and verification of arbitrary text against a
//! JWK from the input. Nothing may panic, and nothing random verifies.
#![no_main]

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str)| {
    let (token, jwk_text) = input;
    portcullis::keys::jwt_provider::install();
    let header = decode_header(token);
    let _ = serde_json::from_str::<JwkSet>(jwk_text);
    let Ok(jwk) = serde_json::from_str::<Jwk>(jwk_text) else {
        return;
    };
    let Ok(key) = DecodingKey::from_jwk(&jwk) else {
        return;
    };
    if let Ok(header) = header {
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let verified = decode::<serde_json::Value>(token, &key, &validation);
        // A fuzzer cannot forge a signature; only an HMAC key it wrote itself can
        // verify, which no Portcullis verifier accepts (asymmetric algorithms only).
        if verified.is_ok() {
            assert!(matches!(
                header.alg,
                jsonwebtoken::Algorithm::HS256
                    | jsonwebtoken::Algorithm::HS384
                    | jsonwebtoken::Algorithm::HS512
            ));
        }
    }
});
