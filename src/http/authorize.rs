//! The authorization endpoint (RFC 6749 §3.1, §4.1.1), GET and POST: checks the
//! request, stores it as pending, and sends the browser on to login or consent.

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{flow, form, pages, AppState};
use crate::crypto::{random, token_hash};
use crate::protocol::params::Params;
use crate::service::authorization::{self, Refused};

/// Where the endpoint is served.
pub const AUTHORIZE_PATH: &str = "/authorize";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(AUTHORIZE_PATH)
            .wrap(state.rate_limits.authorize())
            .route(web::get().to(authorize_get))
            .route(web::post().to(authorize_post)),
    );
}

async fn authorize_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let params = Params::from_urlencoded(req.query_string().as_bytes());
    authorize(state, req, params).await
}

/// RFC 6749 §3.1: the endpoint may also accept POST, with the parameters as a form.
async fn authorize_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let params = form::params(&req, &body);
    authorize(state, req, params).await
}

async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Result<Params, crate::protocol::error::OAuthError>,
) -> HttpResponse {
    // Until client and redirect URI are known good, errors are told to the user.
    let params = match params {
        Ok(p) => p,
        Err(e) => return bad_request_page(e.description()),
    };
    // The browser binding: an existing cookie, or a new one set on this answer.
    let (browser, new_browser) = match state.cookies.browser_id(&req) {
        Some(b) if !b.is_empty() => (b, false),
        _ => match random::token() {
            Ok(b) => (b, true),
            Err(e) => return pages::server_error(&e),
        },
    };
    let now = state.clock.now();
    let begun = authorization::begin(&state.services, &params, token_hash(&browser), now).await;
    let pending = match begun {
        Ok(pending) => pending,
        Err(Refused::ErrorPage(message)) => return bad_request_page(&message),
        // The endpoint's redirects are the classic 302 (RFC 6749 §4.1.2's example).
        Err(Refused::Redirect(location)) => {
            return HttpResponse::Found()
                .insert_header((LOCATION, location))
                .finish()
        }
        Err(Refused::Internal(e)) => return pages::server_error(&e),
    };
    let pending_id = pending.id.clone();
    let mut response = match flow::signed_in(&state, &req).await {
        Ok(signed_in) => {
            let step = authorization::proceed(&state.services, pending, signed_in, now).await;
            flow::respond(&state, step, &pending_id)
        }
        Err(e) => pages::server_error(&e),
    };
    // The flow's 303 is for the answers to the login and consent forms.
    if response.status() == StatusCode::SEE_OTHER {
        *response.status_mut() = StatusCode::FOUND;
    }
    if new_browser {
        if let Err(e) = response.add_cookie(&state.cookies.browser(browser)) {
            return pages::server_error(&e);
        }
    }
    response
}

fn bad_request_page(message: &str) -> HttpResponse {
    pages::error(
        StatusCode::BAD_REQUEST,
        "This request cannot be answered",
        message,
    )
}
