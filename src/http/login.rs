//! The login page of a pending authorization request (DESIGN.md §5).
//!
//! No enumeration: an unknown user, a wrong password, a locked and a disabled
//! account all get the same message after the same argon2 work (an unknown user is
//! checked against a dummy hash made with the configured cost).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::flow::{self, SignedIn};
use super::{pages, AppState};
use crate::clock::seconds;
use crate::crypto::{password, random, token_hash, Secret};
use crate::protocol::login;
use crate::protocol::params::Params;
use crate::store::audit::{self, AuditEvent};
use crate::store::authorization_requests::{self, PendingRequestRow};
use crate::store::sessions::{self, SessionRow};
use crate::store::users::{self, UserRow};
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

async fn login_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let params = Params::from_urlencoded(req.query_string().as_bytes()).unwrap_or_default();
    let pending = match flow::pending(&state, &req, params.get("request")).await {
        Ok(p) => p,
        Err(page) => return page,
    };
    // OIDC Core §3.1.2.1: login_hint prefills the username.
    let hint = flow::interaction_of(&pending)
        .ok()
        .and_then(|i| i.login_hint)
        .unwrap_or_default();
    render(&state, &pending, &hint, None, StatusCode::OK).await
}

async fn render(
    state: &web::Data<AppState>,
    pending: &PendingRequestRow,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> HttpResponse {
    let client_name = match flow::client_name(state, &pending.client_id).await {
        Ok(name) => name,
        Err(page) => return page,
    };
    pages::render(
        status,
        &LoginPage {
            client_name: &client_name,
            request_id: &pending.id,
            csrf_token: &pending.csrf_token,
            username,
            error,
        },
    )
}

/// Why a login failed, for the audit trail only: the user always reads [`LOGIN_FAILED`].
#[derive(Debug, Clone, Copy)]
enum Failure {
    UnknownUser,
    WrongPassword,
    Locked,
    Disabled,
}

async fn login_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (params, pending) = match flow::submitted_form(&state, &req, &body).await {
        Ok(submitted) => submitted,
        Err(page) => return page,
    };
    let username = params.get("username").unwrap_or("").to_owned();
    let password = Secret::new(params.get("password").unwrap_or("").to_owned());
    let ip = req.peer_addr().map(|a| a.ip().to_string());

    let lookup = username.clone();
    let user = match state
        .store
        .run(move |conn| users::find_by_username(conn, &lookup))
        .await
    {
        Ok(user) => user,
        Err(e) => return pages::server_error(&e),
    };
    // The same argon2 work whoever the user is, even for an empty form.
    let hash = user.as_ref().map_or_else(
        || state.dummy_password_hash.clone(),
        |u| u.password_hash.clone(),
    );
    let matches =
        match tokio::task::spawn_blocking(move || password::verify(&password, &hash)).await {
            Ok(Ok(matches)) => matches,
            Ok(Err(e)) => return pages::server_error(&e),
            Err(e) => return pages::server_error(&e),
        };
    let now = state.clock.now();
    let failure = match &user {
        None => Some(Failure::UnknownUser),
        Some(u) if u.disabled => Some(Failure::Disabled),
        Some(u) if login::is_locked(u.locked_until, now) => Some(Failure::Locked),
        Some(_) if !matches => Some(Failure::WrongPassword),
        Some(_) => None,
    };
    match (failure, user) {
        (None, Some(user)) => {
            let previous_session = state.cookies.session_id(&req);
            sign_in(&state, pending, user, now, ip, previous_session).await
        }
        (Some(failure), user) => {
            let user_id = user.map(|u| u.id);
            if let Err(e) = state
                .store
                .run(move |conn| {
                    record_failure(conn, user_id.as_deref(), failure, ip.as_deref(), now)
                })
                .await
            {
                return pages::server_error(&e);
            }
            render(
                &state,
                &pending,
                &username,
                Some(LOGIN_FAILED),
                StatusCode::OK,
            )
            .await
        }
        (None, None) => pages::server_error(&"login without a user"),
    }
}

fn record_failure(
    conn: &mut crate::store::DbConn,
    user_id: Option<&str>,
    failure: Failure,
    ip: Option<&str>,
    now: i64,
) -> Result<(), crate::store::StoreError> {
    conn.transaction(|conn| {
        let mut detail = serde_json::json!({ "reason": format!("{failure:?}") });
        if let (Some(id), Failure::WrongPassword) = (user_id, failure) {
            let failures = users::count_failed_login(conn, id)?;
            if let Some(until) = login::locked_until(failures, now) {
                users::lock(conn, id, until)?;
                detail["locked_until"] = until.into();
            }
        }
        let event = AuditEvent {
            kind: "login_failed",
            actor: None,
            user_id,
            client_id: None,
            ip,
            detail,
        };
        audit::record(conn, &event, now)
    })?;
    Ok(())
}

/// Starts a session for `user` (ending the browser's previous one) and goes on with
/// the authorization request.
async fn sign_in(
    state: &web::Data<AppState>,
    pending: PendingRequestRow,
    user: UserRow,
    now: i64,
    ip: Option<String>,
    previous_session: Option<String>,
) -> HttpResponse {
    let (session_id, sid) = match (random::token(), random::identifier()) {
        (Ok(id), Ok(sid)) => (id, sid),
        (Err(e), _) | (_, Err(e)) => return pages::server_error(&e),
    };
    let lifetimes = state.config.lifetimes;
    let session = SessionRow {
        id_hash: token_hash(&session_id),
        sid,
        user_id: user.id.clone(),
        auth_time: now,
        amr: r#"["pwd"]"#.to_owned(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + seconds(lifetimes.session_idle.min(lifetimes.session_absolute)),
        ended_at: None,
    };
    let row = session.clone();
    let client_id = pending.client_id.clone();
    let pending_id = pending.id.clone();
    let result = state
        .store
        .run(move |conn| {
            conn.transaction(|conn| {
                users::clear_failed_logins(conn, &row.user_id)?;
                if let Some(previous) = &previous_session {
                    sessions::end(conn, &token_hash(previous), now)?;
                }
                sessions::insert(conn, &row)?;
                authorization_requests::mark_authenticated(conn, &pending_id, &row.sid)?;
                let event = AuditEvent {
                    kind: "login_succeeded",
                    actor: None,
                    user_id: Some(&row.user_id),
                    client_id: Some(&client_id),
                    ip: ip.as_deref(),
                    detail: serde_json::json!({ "sid": row.sid, "amr": ["pwd"] }),
                };
                audit::record(conn, &event, now)
            })
        })
        .await;
    if let Err(e) = result {
        return pages::server_error(&e);
    }
    let pending = PendingRequestRow {
        authenticated_sid: Some(session.sid.clone()),
        ..pending
    };
    let signed_in = SignedIn { session, user };
    let mut response = flow::proceed(state, pending, Some(signed_in)).await;
    let cookie = state
        .cookies
        .session(session_id, seconds(lifetimes.session_absolute));
    if let Err(e) = response.add_cookie(&cookie) {
        return pages::server_error(&e);
    }
    response
}
