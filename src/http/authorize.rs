//! The authorization endpoint (RFC 6749 §3.1, §4.1.1), GET and POST: checks the
//! request, stores it as pending, and sends the browser on to login or consent.

use actix_web::http::header::LOCATION;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{flow, form, known_token, pages, AppState};
use crate::clock::seconds;
use crate::crypto::{random, token_hash};
use crate::protocol::authorize::{self, AuthorizeClient, AuthorizeError, AuthorizePolicy};
use crate::protocol::interaction::IdTokenHint;
use crate::protocol::params::Params;
use crate::store::authorization_requests::{self, PendingRequestRow};
use crate::store::clients;

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
    let client_id = match authorize::client_id(&params) {
        Ok(id) => id.to_owned(),
        Err(AuthorizeError::ErrorPage(message)) => return bad_request_page(&message),
        Err(AuthorizeError::Redirect(_)) => return bad_request_page("invalid request"),
    };
    let lookup_id = client_id.clone();
    let row = match state
        .store
        .run(move |conn| clients::find(conn, &lookup_id))
        .await
    {
        Ok(row) => row,
        Err(e) => return pages::server_error(&e),
    };
    let metadata = match row.as_ref().map(|r| r.metadata()).transpose() {
        Ok(m) => m,
        Err(e) => return pages::server_error(&e),
    };
    let client = row
        .as_ref()
        .zip(metadata.as_ref())
        .map(|(row, metadata)| AuthorizeClient {
            metadata,
            disabled: row.disabled,
        });
    let policy = AuthorizePolicy {
        pkce_required_for_confidential_clients: state
            .config
            .oauth
            .pkce_required_for_confidential_clients,
    };
    let hint = match params.get("id_token_hint") {
        None => IdTokenHint::Absent,
        Some(token) => match known_token::our_id_token(&state, token) {
            Some(claims) => IdTokenHint::Subject(claims.sub),
            None => IdTokenHint::NotOurs,
        },
    };
    let request = match authorize::validate(&params, &client_id, client, policy, hint) {
        Ok(request) => request,
        Err(AuthorizeError::ErrorPage(message)) => return bad_request_page(&message),
        Err(AuthorizeError::Redirect(redirect)) => {
            return HttpResponse::Found()
                .insert_header((
                    LOCATION,
                    authorize::error_redirect(&redirect, &state.config.issuer),
                ))
                .finish()
        }
    };

    // The browser binding: an existing cookie, or a new one set on this answer.
    let (browser, new_browser) = match state.cookies.browser_id(&req) {
        Some(b) if !b.is_empty() => (b, false),
        _ => match random::token() {
            Ok(b) => (b, true),
            Err(e) => return pages::server_error(&e),
        },
    };
    let (id, csrf_token) = match (random::token(), random::token()) {
        (Ok(id), Ok(csrf)) => (id, csrf),
        (Err(e), _) | (_, Err(e)) => return pages::server_error(&e),
    };
    let now = state.clock.now();
    let pending = PendingRequestRow {
        id,
        browser_hash: token_hash(&browser),
        csrf_token,
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        redirect_uri_given: request.redirect_uri_given,
        scope: request.scope.to_string(),
        state: request.state.clone(),
        code_challenge: request.code_challenge.clone(),
        nonce: request.nonce.clone(),
        created_at: now,
        expires_at: now + seconds(state.config.lifetimes.authorization_request),
        interaction: match serde_json::to_string(&request.interaction) {
            Ok(json) => json,
            Err(e) => return pages::server_error(&e),
        },
        authenticated_sid: None,
    };
    let row = pending.clone();
    if let Err(e) = state
        .store
        // Expired requests are never read (`find_live`); the purge task removes them.
        .run(move |conn| authorization_requests::insert(conn, &row))
        .await
    {
        return pages::server_error(&e);
    }

    let mut response = match flow::signed_in(&state, &req).await {
        Ok(signed_in) => flow::proceed(&state, pending, signed_in).await,
        Err(e) => pages::server_error(&e),
    };
    // The endpoint's redirects are the classic 302 (RFC 6749 §4.1.2's example); the
    // flow's 303 is for the answers to the login and consent forms.
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
