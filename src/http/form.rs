//! Form bodies of the OAuth endpoints and pages (`application/x-www-form-urlencoded`).

use std::future::{poll_fn, Future};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_core::Stream;

use crate::protocol::error::OAuthError;
use crate::protocol::params::Params;

/// The largest form accepted; OAuth requests are small.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The parameters of a form POST. RFC 6749 §3.2 / §4.1.3: the body must be
/// `application/x-www-form-urlencoded`; anything else, a repeated parameter or an
/// oversized body is `invalid_request`.
pub fn params(req: &HttpRequest, body: &[u8]) -> Result<Params, OAuthError> {
    if !is_form(req) {
        return Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    if body.len() > MAX_FORM_BYTES {
        return Err(OAuthError::InvalidRequest("the body is too large"));
    }
    Params::from_urlencoded(body)
}

/// Whether the body is declared `application/x-www-form-urlencoded`.
pub fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| {
            media
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// A request body read up to one byte past [`MAX_FORM_BYTES`] and no further, so
/// that an oversized form reaches [`params`] (and gets the endpoint's own error:
/// OAuth JSON or a page) instead of actix's plain-text 413, and the rest of a huge
/// upload is never buffered.
pub struct FormBody(pub Bytes);

impl std::ops::Deref for FormBody {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl FromRequest for FormBody {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<FormBody, actix_web::Error>>>>;

    fn from_request(_: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mut payload = payload.take();
        Box::pin(async move {
            let mut body = BytesMut::new();
            while body.len() <= MAX_FORM_BYTES {
                let Some(chunk) = poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await else {
                    break;
                };
                let chunk = chunk?;
                let room = MAX_FORM_BYTES + 1 - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(FormBody(body.freeze()))
        })
    }
}
