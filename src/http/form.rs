//! Form bodies of the OAuth endpoints and pages (`application/x-www-form-urlencoded`).

use actix_web::http::header::CONTENT_TYPE;
use actix_web::HttpRequest;

use crate::protocol::error::OAuthError;
use crate::protocol::params::Params;

/// The largest form accepted; OAuth requests are small.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The parameters of a form POST. RFC 6749 §3.2 / §4.1.3: the body must be
/// `application/x-www-form-urlencoded`; anything else, a repeated parameter or an
/// oversized body is `invalid_request`.
pub fn params(req: &HttpRequest, body: &[u8]) -> Result<Params, OAuthError> {
    let is_form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    if body.len() > MAX_FORM_BYTES {
        return Err(OAuthError::InvalidRequest("the body is too large"));
    }
    Params::from_urlencoded(body)
}
