//! Form bodies and query strings: `Params` decoding, the character check, and
//! every parameter parser fed from them. Nothing may panic, and every error's
//! description stays in RFC 6749 §5.2's character set.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::protocol::error::{is_description_charset, OAuthError};
use portcullis::protocol::interaction;
use portcullis::protocol::params::Params;
use portcullis::protocol::scope::{self, Scope};

fn clean(error: &OAuthError) {
    assert!(is_description_charset(error.code()));
    assert!(is_description_charset(error.description()));
}

fuzz_target!(|data: &[u8]| {
    let params = match Params::from_urlencoded(data) {
        Ok(params) => params,
        Err(e) => return clean(&e),
    };
    if let Err(e) = params.check_characters() {
        clean(&e);
    }
    if let Err(e) = interaction::parse_prompt(params.get("prompt")) {
        clean(&e);
    }
    if let Err(e) = interaction::parse_max_age(params.get("max_age")) {
        clean(&e);
    }
    if let Ok(allowed) = Scope::parse("openid profile email offline_access") {
        if let Err(e) = scope::requested_within(params.get("scope"), &allowed) {
            clean(&e);
        }
    }
    if let Err(e) = portcullis::protocol::grants::grant_type(
        &params,
        &portcullis::protocol::client_metadata::GrantType::ALL,
    ) {
        clean(&e);
    }
});
