//! Client credentials of a token request: an `Authorization` header (Basic or
//! anything else) with a form body. Nothing may panic; a failure is
//! `invalid_client` or `invalid_request` with a clean description; a success names
//! a non-empty client id without control characters.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::protocol::client_auth;
use portcullis::protocol::error::is_description_charset;
use portcullis::protocol::params::{has_control, Params};

fuzz_target!(|input: (&str, &[u8])| {
    let (header, body) = input;
    let Ok(params) = Params::from_urlencoded(body) else {
        return;
    };
    match client_auth::presented(Some(header), &params) {
        Ok(presented) => {
            assert!(!presented.client_id.is_empty());
            if header.trim_start().to_ascii_lowercase().starts_with("basic ") {
                assert!(!has_control(&presented.client_id));
            }
        }
        Err(e) => {
            assert!(matches!(e.code(), "invalid_client" | "invalid_request"));
            assert!(is_description_charset(e.description()));
        }
    }
});
