//! CORS for browser-based public clients (OAuth 2.0 for Browser-Based Apps, and
//! RFC 9700 §2.x) at the token and revocation endpoints: a single-page app must be
//! able to redeem its code and revoke its tokens with `fetch`.
//!
//! Allowed: exactly the origins of a **public** client's registered redirect URIs
//! (the page that received the code is the one redeeming it). Never
//! `Access-Control-Allow-Credentials`: nothing here uses cookies, and a browser
//! must not send any. Confidential clients keep their secret on a server, so their
//! requests get no CORS headers. A preflight is answered for an origin some enabled
//! public client has registered; the response itself names the origin only when it
//! belongs to the client that authenticated.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

use super::AppState;
use crate::protocol::redirect_uri;
use crate::service::clients::{self, AuthenticatedClient};

/// How long a browser may cache a preflight answer.
const PREFLIGHT_MAX_AGE: &str = "600";

/// The request's `Origin`, if it is a serialized http(s) origin.
fn origin(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::ORIGIN)?.to_str().ok()?;
    (redirect_uri::origin_of(value).as_deref() == Some(value)).then_some(value)
}

/// Adds the CORS headers to `response` when the request's origin is one of the
/// public `client`'s redirect-URI origins.
pub fn allow_client(req: &HttpRequest, client: &AuthenticatedClient, response: &mut HttpResponse) {
    let Some(origin) = origin(req) else { return };
    if !clients::is_browser_origin_of(&client.metadata, origin) {
        return;
    }
    if let Ok(value) = HeaderValue::from_str(origin) {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// Answers a CORS preflight for a POST with a form body: 204 with the allowed
/// origin, or 403 with no CORS headers for an origin no public client registered.
pub async fn preflight(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let Some(origin) = origin(&req).map(str::to_owned) else {
        return HttpResponse::Forbidden().finish();
    };
    match clients::is_browser_origin(&state.services.store, &origin).await {
        Ok(true) => match HeaderValue::from_str(&origin) {
            Ok(value) => HttpResponse::NoContent()
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, value))
                .insert_header((header::VARY, "Origin"))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "POST, OPTIONS"))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "Content-Type"))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, PREFLIGHT_MAX_AGE))
                .finish(),
            Err(_) => HttpResponse::Forbidden().finish(),
        },
        Ok(false) => HttpResponse::Forbidden().finish(),
        Err(e) => {
            tracing::error!(error = %e, "CORS preflight failed");
            HttpResponse::ServiceUnavailable().finish()
        }
    }
}
