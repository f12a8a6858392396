//! Redirect URIs: registration checks and exact matching (RFC 9700 §2.1, RFC 8252
//! §7.3). Nothing may panic; a match is always a registered URI, and an accepted
//! registration matches itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis::protocol::redirect_uri;

fuzz_target!(|input: (&str, &str)| {
    let (registered, requested) = input;
    let list = vec![registered.to_owned()];
    if let Some(found) = redirect_uri::matches_registered(requested, &list) {
        assert_eq!(found, registered);
    }
    if redirect_uri::validate_for_registration(registered).is_ok() {
        assert_eq!(
            redirect_uri::matches_registered(registered, &list),
            Some(registered)
        );
    }
    let _ = redirect_uri::origin_of(requested);
});
