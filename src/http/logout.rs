//! The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0), GET and POST.
//!
//! With a valid `id_token_hint` for the signed-in user, the session ends at once;
//! otherwise the user confirms on a page whose form carries a CSRF token derived
//! from the session id (so only the session's own browser can submit it). The
//! browser goes back to `post_logout_redirect_uri` only when it is registered for
//! the client, with `state`; otherwise it sees a signed-out page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::flow::{self, see_other, SignedIn};
use super::{form, known_token, pages, AppState};
use crate::crypto::{constant_time_eq, token_hash};
use crate::protocol::logout::{self, LogoutError, LogoutHint};
use crate::protocol::params::Params;
use crate::store::audit::{self, AuditEvent};
use crate::store::{clients, sessions};
use crate::views::{LogoutPage, SignedOutPage};

pub const LOGOUT_PATH: &str = "/logout";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(LOGOUT_PATH)
            .wrap(state.rate_limits.authorize())
            .route(web::get().to(logout_get))
            .route(web::post().to(logout_post)),
    );
}

async fn logout_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match Params::from_urlencoded(req.query_string().as_bytes()) {
        Ok(params) => end_session(&state, &req, &params).await,
        Err(e) => bad_request(e.description()),
    }
}

/// §2: the RP may POST the parameters as a form. The confirmation form posts here
/// too; it alone carries `csrf_token`.
async fn logout_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let params = match form::params(&req, &body) {
        Ok(params) => params,
        Err(e) => return bad_request(e.description()),
    };
    if params.get("csrf_token").is_some() {
        confirmed(&state, &req, &params).await
    } else {
        end_session(&state, &req, &params).await
    }
}

/// Where the logout leads: the client (if any) and the checked return address.
struct Destination {
    client_id: Option<String>,
    client_name: Option<String>,
    return_to: Option<String>,
}

/// Checks the client and `post_logout_redirect_uri` of a logout request.
async fn destination(
    state: &web::Data<AppState>,
    params: &Params,
    hint: &LogoutHint,
) -> Result<Destination, HttpResponse> {
    let client_id = logout::client_of(params.get("client_id"), hint).map_err(refused)?;
    let client = match &client_id {
        None => None,
        Some(id) => {
            let id = id.clone();
            let row = state
                .store
                .run(move |conn| clients::find(conn, &id))
                .await
                .map_err(|e| pages::server_error(&e))?;
            match row {
                Some(row) if !row.disabled => {
                    let metadata = row.metadata().map_err(|e| pages::server_error(&e))?;
                    Some((row.name, metadata.post_logout_redirect_uris))
                }
                _ => return Err(refused(LogoutError(
                    "The application that sent you here is not registered, or has been disabled."
                        .into(),
                ))),
            }
        }
    };
    let return_to = logout::return_to(
        params.get("post_logout_redirect_uri"),
        client.as_ref().map(|(_, uris)| uris.as_slice()),
        params.get("state"),
    )
    .map_err(refused)?;
    Ok(Destination {
        client_id,
        client_name: client.map(|(name, _)| name),
        return_to,
    })
}

/// The checked destination and the signed-in user of a logout request; without a
/// session there is nothing to end, and the answer is the signed-out one (or the
/// error page of a bad request).
async fn checked(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    params: &Params,
    hint: &LogoutHint,
) -> Result<(Destination, SignedIn), HttpResponse> {
    let destination = destination(state, params, hint).await?;
    match flow::signed_in(state, req).await {
        Ok(Some(signed_in)) => Ok((destination, signed_in)),
        // Not signed in (never, in another tab already, or the session expired).
        Ok(None) => Err(signed_out(state, req, destination, None).await),
        Err(e) => Err(pages::server_error(&e)),
    }
}

/// An RP's logout request (§2).
async fn end_session(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    params: &Params,
) -> HttpResponse {
    let hint = match params.get("id_token_hint") {
        None => LogoutHint::Absent,
        Some(token) => match known_token::our_id_token(state, token) {
            Some(claims) => LogoutHint::Valid {
                subject: claims.sub,
                audience: claims.aud,
            },
            None => LogoutHint::NotOurs,
        },
    };
    let (destination, signed_in) = match checked(state, req, params, &hint).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    if !logout::needs_confirmation(&hint, &signed_in.user.id) {
        return signed_out(state, req, destination, Some(&signed_in.user.id)).await;
    }
    let Some(csrf_token) = state.cookies.session_id(req).map(|id| csrf_token(&id)) else {
        return signed_out(state, req, destination, None).await;
    };
    pages::render(
        StatusCode::OK,
        &LogoutPage {
            username: &signed_in.user.username,
            client_name: destination.client_name.as_deref(),
            csrf_token: &csrf_token,
            client_id: destination.client_id.as_deref().unwrap_or(""),
            post_logout_redirect_uri: params.get("post_logout_redirect_uri").unwrap_or(""),
            state: params.get("state").unwrap_or(""),
        },
    )
}

/// The user confirmed on the page: the token must be the session's own.
async fn confirmed(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    params: &Params,
) -> HttpResponse {
    let (destination, signed_in) = match checked(state, req, params, &LogoutHint::Absent).await {
        Ok(checked) => checked,
        Err(response) => return response,
    };
    let genuine = state.cookies.session_id(req).is_some_and(|id| {
        params
            .get("csrf_token")
            .is_some_and(|presented| constant_time_eq(presented, &csrf_token(&id)))
    });
    if !genuine {
        return pages::error(
            StatusCode::FORBIDDEN,
            "The form could not be accepted",
            "The form was not sent from this page or has expired. Go back, reload the page and try again.",
        );
    }
    signed_out(state, req, destination, Some(&signed_in.user.id)).await
}

/// The CSRF token of the confirmation form: bound to the session id (a secret only
/// the session's browser holds), distinct from the id's stored hash.
fn csrf_token(session_id: &str) -> String {
    token_hash(&format!("logout-confirmation:{session_id}"))
}

/// Ends the browser's session (when `user_id` is given), clears its cookie, and
/// sends the browser on.
async fn signed_out(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    destination: Destination,
    user_id: Option<&str>,
) -> HttpResponse {
    if let (Some(user_id), Some(session_id)) = (user_id, state.cookies.session_id(req)) {
        let id_hash = token_hash(&session_id);
        let now = state.clock.now();
        let user_id = user_id.to_owned();
        let client_id = destination.client_id.clone();
        let ended = state
            .store
            .run(move |conn| {
                conn.transaction(|conn| {
                    sessions::end(conn, &id_hash, now)?;
                    let event = AuditEvent {
                        kind: "logout",
                        actor: None,
                        user_id: Some(&user_id),
                        client_id: client_id.as_deref(),
                        ip: None,
                        detail: serde_json::json!({}),
                    };
                    audit::record(conn, &event, now)
                })
            })
            .await;
        if let Err(e) = ended {
            return pages::server_error(&e);
        }
    }
    let mut response = match &destination.return_to {
        Some(uri) => see_other(uri),
        None => pages::render(
            StatusCode::OK,
            &SignedOutPage {
                client_name: destination.client_name.as_deref(),
            },
        ),
    };
    if state.cookies.session_id(req).is_some() {
        if let Err(e) = response.add_cookie(&state.cookies.clear_session()) {
            return pages::server_error(&e);
        }
    }
    response
}

fn refused(error: LogoutError) -> HttpResponse {
    bad_request(&error.0)
}

fn bad_request(message: &str) -> HttpResponse {
    pages::error(
        StatusCode::BAD_REQUEST,
        "This sign-out cannot be completed",
        message,
    )
}
