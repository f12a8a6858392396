//! Client credentials of a token request: an `Authorization` header (Basic or
//! anything else) with a form body, read in the server's order (the body's
//! characters are checked first, as `http::client_auth` does). Nothing may panic; a
//! failure is `invalid_client` or `invalid_request` with a clean description; a
//! success names a non-empty client id without control characters.
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
    if params.check_characters().is_err() {
        return;
    }
    match client_auth::presented(Some(header), &params) {
        Ok(presented) => {
            assert!(!presented.client_id.is_empty());
            assert!(!has_control(&presented.client_id));
        }
        Err(e) => {
            assert!(matches!(e.code(), "invalid_client" | "invalid_request"));
            assert!(is_description_charset(e.description()));
        }
    }
});
