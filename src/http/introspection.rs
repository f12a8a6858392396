//! Token introspection (RFC 7662): the client authenticates and learns about its
//! own tokens only ([`service::introspection::introspect`]).

use actix_web::{web, HttpRequest, HttpResponse};

use actix_web::http::header::{HeaderValue, CACHE_CONTROL};

use super::{client_address, client_auth, form, oauth_response, AppState};
use crate::service::introspection::{self, Introspection};
use crate::service::OAuthFailure;

pub const INTROSPECTION_PATH: &str = "/introspect";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(INTROSPECTION_PATH)
            .wrap(state.rate_limits.introspection())
            .route(web::post().to(introspect)),
    );
}

async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> HttpResponse {
    match introspection(&state, &req, &body).await {
        // RFC 7662 §4: an API may cache a positive answer briefly; never past the
        // token's expiry, and never a negative one.
        Ok((answer, true)) if answer.active => {
            let now = state.clock.now();
            let seconds = answer
                .exp
                .map_or(0, |exp| (exp - now).clamp(0, RESOURCE_CACHE_SECONDS));
            let mut response = oauth_response::json(&answer);
            if let Ok(value) = HeaderValue::from_str(&format!("private, max-age={seconds}")) {
                response.headers_mut().insert(CACHE_CONTROL, value);
            }
            response
        }
        Ok((answer, _)) => oauth_response::json(&answer),
        Err(e) => oauth_response::failure(e),
    }
}

/// How long an API may cache a positive introspection answer.
const RESOURCE_CACHE_SECONDS: i64 = 5;

/// The answer, and whether an API (rather than a client) asked.
async fn introspection(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Introspection, bool), OAuthFailure> {
    let params = form::params(req, body)?;
    params.check_characters()?;
    let authorization = client_auth::authorization(req)?;
    let ip = client_address::of_request(state, req).map(|ip| ip.to_string());
    introspection::answer(
        &state.services,
        authorization,
        &params,
        ip,
        state.clock.now(),
    )
    .await
}
