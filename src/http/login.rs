//! The login page of a pending authorization request (DESIGN.md §5). The checks,
//! the lockout and the session are [`service::sessions::sign_in`]'s; every failure
//! reads the same.

use actix_web::http::header::RETRY_AFTER;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::metrics::LoginOutcome;
use super::pages::{self, PageError};
use super::{client_address, flow, form, AppState};
use crate::clock::seconds;
use crate::crypto::Secret;
use crate::protocol::login;
use crate::protocol::params::Params;
use crate::service::authorization;
use crate::service::sessions::{self, SignIn, SignInAttempt};
use crate::store::authorization_requests::PendingRequestRow;
use crate::views::LoginPage;

pub const LOGIN_PATH: &str = "/login";

/// The one message for every failed login.
const LOGIN_FAILED: &str = "Wrong username or password.";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(LOGIN_PATH)
            .route(web::get().to(login_page))
            .route(web::post().to(login_submit).wrap(state.rate_limits.login())),
    );
}

async fn login_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::from_urlencoded(req.query_string().as_bytes()).unwrap_or_default();
    let pending = flow::pending(&state, &req, params.get("request")).await?;
    // OIDC Core §3.1.2.1: login_hint prefills the username.
    let hint = authorization::interaction_of(&pending)?
        .login_hint
        .unwrap_or_default();
    render(&state, &pending, &hint, None).await
}

async fn render(
    state: &AppState,
    pending: &PendingRequestRow,
    username: &str,
    error: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let client_name = flow::client_name(state, &pending.client_id).await?;
    Ok(pages::render(
        StatusCode::OK,
        &LoginPage {
            base: &state.base_path,
            client_name: &client_name,
            request_id: &pending.id,
            csrf_token: &pending.csrf_token,
            username,
            error,
        },
    ))
}

async fn login_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (params, pending) = flow::submitted_form(&state, &req, &body).await?;
    let username = params.get("username").unwrap_or("").to_owned();
    let password = params.get("password").unwrap_or("");
    if !login::credentials_well_formed(&username, password) {
        return Err(PageError::bad_request(
            "The form could not be read",
            "The username or password is too long or holds characters that cannot be typed. Go back and try again.",
        ));
    }
    let attempt = SignInAttempt {
        pending_id: pending.id.clone(),
        client_id: pending.client_id.clone(),
        username: username.clone(),
        password: Secret::new(password.to_owned()),
        ip: client_address::of_request(&state, &req).map(|ip| ip.to_string()),
        previous_session: state.cookies.session_id(&req),
    };
    let now = state.clock.now();
    match sessions::sign_in(&state.services, attempt, now).await? {
        SignIn::Succeeded {
            session_id,
            signed_in,
        } => {
            let pending = PendingRequestRow {
                authenticated_sid: Some(signed_in.session.sid.clone()),
                ..pending
            };
            let pending_id = pending.id.clone();
            let step = authorization::proceed(&state.services, pending, Some(signed_in), now).await;
            state.metrics.login(LoginOutcome::Succeeded, 0);
            let mut response = flow::respond(&state, step, &pending_id);
            let lifetime = seconds(state.services.config.lifetimes.session_absolute);
            response.add_cookie(&state.cookies.session(session_id, lifetime))?;
            Ok(response)
        }
        SignIn::Failed { locks_started } => {
            state.metrics.login(LoginOutcome::Failed, locks_started);
            render(&state, &pending, &username, Some(LOGIN_FAILED)).await
        }
        SignIn::Busy => {
            state.metrics.login(LoginOutcome::Busy, 0);
            let mut response = pages::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again",
                "The server is busy signing people in. Go back and send the form again in a moment.",
            );
            response.headers_mut().insert(
                RETRY_AFTER,
                actix_web::http::header::HeaderValue::from(1u32),
            );
            Ok(response)
        }
    }
}
