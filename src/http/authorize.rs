//! The authorization endpoint (RFC 6749 §3.1, §4.1.1), GET and POST: checks the
//! request, stores it as pending, and sends the browser on to login or consent.

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::pages::PageError;
use super::{flow, form, AppState};
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

async fn authorize_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::from_urlencoded(req.query_string().as_bytes());
    authorize(state, req, params).await
}

/// RFC 6749 §3.1: the endpoint may also accept POST, with the parameters as a form.
async fn authorize_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let params = form::params(&req, &body);
    authorize(state, req, params).await
}

async fn authorize(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: Result<Params, crate::protocol::error::OAuthError>,
) -> Result<HttpResponse, PageError> {
    // Until client and redirect URI are known good, errors are told to the user.
    let params = params.map_err(|e| cannot_answer(e.description()))?;
    // The browser binding: an existing cookie, or a new one set on this answer.
    let (browser, new_browser) = match state.cookies.browser_id(&req) {
        Some(b) if !b.is_empty() => (b, false),
        _ => (random::token()?, true),
    };
    let now = state.clock.now();
    let begun = authorization::begin(&state.services, &params, token_hash(&browser), now).await;
    let pending = match begun {
        Ok(pending) => pending,
        Err(Refused::ErrorPage(message)) => return Err(cannot_answer(&message)),
        // The endpoint's redirects are the classic 302 (RFC 6749 §4.1.2's example).
        Err(Refused::Redirect(location)) => {
            return Ok(HttpResponse::Found()
                .insert_header((LOCATION, location))
                .finish())
        }
        Err(Refused::Internal(e)) => return Err(e.into()),
    };
    let pending_id = pending.id.clone();
    let session_id = state.cookies.session_id(&req);
    let step = authorization::start(&state.services, pending, session_id.as_deref(), now).await;
    let mut response = flow::respond(&state, step, &pending_id);
    // The flow's 303 is for the answers to the login and consent forms.
    if response.status() == StatusCode::SEE_OTHER {
        *response.status_mut() = StatusCode::FOUND;
    }
    if new_browser {
        response.add_cookie(&state.cookies.browser(browser))?;
    }
    Ok(response)
}

fn cannot_answer(message: &str) -> PageError {
    PageError::bad_request("This request cannot be answered", message)
}
