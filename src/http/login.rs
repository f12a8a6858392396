//! The login page (DESIGN.md §5): of a pending authorization request
//! (`?request=…`), or of the server's own pages (`?next=/admin`, the account page,
//! the playground), whose form is bound to the browser cookie. The checks, the
//! lockout and the session are [`service::sessions::sign_in`]'s; every failure
//! reads the same.

use actix_web::http::header::RETRY_AFTER;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::flow::see_other;
use super::metrics::LoginOutcome;
use super::page_form::PageForm;
use super::pages::{self, PageError};
use super::{client_address, csrf, flow, form, viewer, AppState};
use crate::clock::seconds;
use crate::crypto::random;
use crate::crypto::Secret;
use crate::protocol::login;
use crate::protocol::params::Params;
use crate::service::authorization;
use crate::service::sessions::{self, ForRequest, SignIn, SignInAttempt};
use crate::store::authorization_requests::PendingRequestRow;
use crate::views::LoginPage;

pub const LOGIN_PATH: &str = "/login";

/// The one message for every failed login.
const LOGIN_FAILED: &str = "Wrong username or password.";

/// The CSRF purpose of the login form outside a request (bound to the browser cookie).
const SIGN_IN: &str = "sign-in";

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
    let params = Params::from_urlencoded(req.query_string().as_bytes())
        .and_then(|params| params.check_characters().map(|()| params))
        .map_err(|e| PageError::bad_request("This address cannot be read", e.description()))?;
    if params.get("request").is_none() {
        return own_pages_login(&state, &req, params.get("next")).await;
    }
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
            client_name: Some(&client_name),
            request_id: &pending.id,
            next: None,
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
    let own_pages = form::params(&req, &body).is_ok_and(|p| p.get("request").is_none());
    if own_pages {
        return own_pages_submit(&state, &req, &body).await;
    }
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
        request: Some(ForRequest {
            pending_id: pending.id.clone(),
            client_id: pending.client_id.clone(),
        }),
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
        SignIn::Busy => Ok(busy(&state)),
    }
}

/// 503 with `Retry-After`: password hashing is saturated.
fn busy(state: &AppState) -> HttpResponse {
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
    response
}

/// The login form for the server's own pages; it returns to `next` (checked by
/// [`viewer::safe_next`]).
async fn own_pages_login(
    state: &AppState,
    req: &HttpRequest,
    next: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let (browser, fresh) = match state.cookies.browser_id(req) {
        Some(id) => (id, false),
        None => (random::token()?, true),
    };
    let mut response = render_own(
        state,
        viewer::safe_next(next),
        &csrf::session_token(&browser, SIGN_IN),
        "",
        None,
    );
    if fresh {
        response.add_cookie(&state.cookies.browser(browser))?;
    }
    Ok(response)
}

fn render_own(
    state: &AppState,
    next: &str,
    csrf_token: &str,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    pages::render(
        StatusCode::OK,
        &LoginPage {
            base: &state.base_path,
            client_name: None,
            request_id: "",
            next: Some(next),
            csrf_token,
            username,
            error,
        },
    )
}

/// A sign-in to the server's own pages: the same checks, throttling and session as
/// in a flow; success goes to `next`.
async fn own_pages_submit(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, PageError> {
    let form = PageForm::read(req, body)?;
    let browser = state.cookies.browser_id(req);
    let expected = browser.as_deref().map(|b| csrf::session_token(b, SIGN_IN));
    csrf::check(expected.as_deref(), form.get("csrf_token"))?;
    let next = viewer::safe_next(form.get("next")).to_owned();
    let username = form.text("username");
    let password = form.secret("password");
    if !login::credentials_well_formed(&username, password.expose()) {
        return Err(PageError::bad_request(
            "The form could not be read",
            "The username or password is too long or holds characters that cannot be typed. Go back and try again.",
        ));
    }
    let attempt = SignInAttempt {
        request: None,
        username: username.clone(),
        password,
        ip: client_address::of_request(state, req).map(|ip| ip.to_string()),
        previous_session: state.cookies.session_id(req),
    };
    let now = state.clock.now();
    match sessions::sign_in(&state.services, attempt, now).await? {
        SignIn::Succeeded { session_id, .. } => {
            state.metrics.login(LoginOutcome::Succeeded, 0);
            let mut response = see_other(&state.path(&next));
            let lifetime = seconds(state.services.config.lifetimes.session_absolute);
            response.add_cookie(&state.cookies.session(session_id, lifetime))?;
            Ok(response)
        }
        SignIn::Failed { locks_started } => {
            state.metrics.login(LoginOutcome::Failed, locks_started);
            Ok(render_own(
                state,
                &next,
                form.get("csrf_token").unwrap_or_default(),
                &username,
                Some(LOGIN_FAILED),
            ))
        }
        SignIn::Busy => Ok(busy(state)),
    }
}
