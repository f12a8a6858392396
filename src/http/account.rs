//! The account page (`/account`) of every signed-in user: their profile, the apps
//! they allowed (each revocable at once), their sessions ("sign out everywhere
//! else"), changing their password, and signing out. The work is
//! [`service::account`]'s.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::flow::see_other;
use super::page_form::PageForm;
use super::pages::{self, PageError};
use super::{client_address, form, viewer, AppState};
use crate::protocol::params::Params;
use crate::service::account::{self, PasswordChange};
use crate::service::{sessions, users, AdminError};
use crate::views::account::{AccountPage, AppLine, SessionLine};
use crate::views::{describe_scope, when, FieldErrors};

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::scope("/account")
            .wrap(actix_web::middleware::from_fn(
                super::viewer::refuse_unreadable_addresses,
            ))
            .wrap(state.rate_limits.admin())
            .route("", web::get().to(account_page))
            .route("/apps/{client_id}/revoke", web::post().to(revoke_app))
            .route("/sessions/end-others", web::post().to(end_others))
            .route("/password", web::post().to(change_password))
            .route("/sign-out", web::post().to(sign_out)),
    );
}

async fn account_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::from_urlencoded(req.query_string().as_bytes()).unwrap_or_default();
    let viewer = viewer::user(&state, &req).await?;
    render(&state, &viewer, params.get("done"), FieldErrors::none()).await
}

async fn render(
    state: &AppState,
    viewer: &viewer::Viewer,
    done: Option<&str>,
    errors: FieldErrors,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let user = viewer.user();
    let store = &state.services.store;
    let apps = account::apps(store, &user.id, now).await?;
    let live = users::sessions(store, &user.id, now).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(pages::render_app(
        status,
        &AccountPage {
            chrome: viewer.chrome(state, "account", done),
            username: user.username.clone(),
            name: user.name.clone(),
            email: user.email.clone(),
            roles: user.role_names().unwrap_or_default(),
            groups: user.groups().unwrap_or_default(),
            apps: apps
                .into_iter()
                .map(|a| AppLine {
                    scopes: a.scope.split_whitespace().map(describe_scope).collect(),
                    client_id: a.client_id,
                    client_name: a.client_name,
                    granted: when(a.granted_at),
                    last_used: when(a.last_used_at),
                    offline: a.offline,
                })
                .collect(),
            sessions: live
                .into_iter()
                .map(|s| SessionLine {
                    current: s.sid == viewer.signed_in.session.sid,
                    started: when(s.auth_time),
                    last_seen: when(s.last_seen_at),
                    expires: when(s.expires_at),
                })
                .collect(),
            errors,
        },
    ))
}

/// Checks the form of a signed-in user's POST: the user, then the CSRF token.
async fn submitted(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(viewer::Viewer, PageForm), PageError> {
    let viewer = viewer::user(state, req).await?;
    let form = PageForm::read(req, body)?;
    viewer.check(&form)?;
    Ok((viewer, form))
}

async fn revoke_app(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, _) = submitted(&state, &req, &body).await?;
    let client_id = path.into_inner();
    account::revoke_app(
        &state.services.store,
        &viewer.user().id,
        &client_id,
        state.clock.now(),
    )
    .await?;
    Ok(see_other(&state.path("/account?done=app-revoked")))
}

async fn end_others(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, _) = submitted(&state, &req, &body).await?;
    account::end_other_sessions(&state.services.store, &viewer.signed_in, state.clock.now())
        .await?;
    Ok(see_other(&state.path("/account?done=others-signed-out")))
}

async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, form) = submitted(&state, &req, &body).await?;
    let change = PasswordChange {
        current: form.secret("current_password"),
        new: form.secret("new_password"),
        confirm: form.secret("new_password_confirm"),
    };
    let ip = client_address::of_request(&state, &req).map(|ip| ip.to_string());
    match account::change_password(
        &state.services,
        &viewer.signed_in,
        change,
        ip,
        state.clock.now(),
    )
    .await
    {
        Ok(()) => Ok(see_other(&state.path("/account?done=password-changed"))),
        Err(AdminError::InvalidField { field, message }) => {
            render(&state, &viewer, None, FieldErrors::of(field, message)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn sign_out(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, _) = submitted(&state, &req, &body).await?;
    if let Some(session_id) = state.cookies.session_id(&req) {
        sessions::log_out(
            &state.services.store,
            &session_id,
            &viewer.user().id,
            None,
            state.clock.now(),
        )
        .await?;
    }
    let mut response = see_other(&state.path("/"));
    response.add_cookie(&state.cookies.clear_session())?;
    Ok(response)
}
