//! Users in the admin UI: list and search, create, edit (profile, roles, groups,
//! the admin flag), reset the password, disable, enable, unlock, delete, and per
//! user the live sessions and the apps holding consent, each revocable. Each is one
//! call of [`service::users`]. An admin cannot disable, delete or demote themselves
//! (the last admin would lock everyone out).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{confirm, query, submitted, Confirmation};
use crate::crypto::Secret;
use crate::http::flow::see_other;
use crate::http::pages::{self, PageError};
use crate::http::viewer::{self, confirm_it_is_you, Viewer};
use crate::http::{form, AppState};
use crate::service::users::{self, NameList, UserInput, UserUpdate, UserView};
use crate::service::{account, setup, AdminError};
use crate::views::admin::{
    UserAppLine, UserForm, UserLine, UserNewPage, UserPage, UserSessionLine, UsersPage,
};
use crate::views::{when, FieldErrors};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users", web::post().to(create))
        .route("/users/new", web::get().to(new_form))
        .route("/users/{id}", web::get().to(show))
        .route("/users/{id}", web::post().to(update))
        .route("/users/{id}/password", web::post().to(set_password))
        .route("/users/{id}/disable", web::post().to(disable))
        .route("/users/{id}/enable", web::post().to(enable))
        .route("/users/{id}/unlock", web::post().to(unlock))
        .route("/users/{id}/sessions/end", web::post().to(end_sessions))
        .route(
            "/users/{id}/sessions/{sid}/end",
            web::post().to(end_session),
        )
        .route(
            "/users/{id}/consents/{client_id}/revoke",
            web::post().to(revoke_consent),
        )
        .route("/users/{id}/delete", web::get().to(delete_confirm))
        .route("/users/{id}/delete", web::post().to(delete));
}

async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let params = query(&req);
    let q = params.get("q").unwrap_or_default().trim().to_owned();
    let all = users::list(&state.services.store, state.clock.now()).await?;
    let total = all.len();
    let needle = q.to_lowercase();
    let matches = |text: &Option<String>| {
        text.as_deref()
            .is_some_and(|t| t.to_lowercase().contains(&needle))
    };
    let shown = all
        .iter()
        .filter(|u| {
            needle.is_empty()
                || u.username.to_lowercase().contains(&needle)
                || matches(&u.name)
                || matches(&u.email)
        })
        .map(|u| UserLine {
            id: u.id.clone(),
            username: u.username.clone(),
            name: u.name.clone().unwrap_or_default(),
            email: u.email.clone().unwrap_or_default(),
            admin: u.admin,
            disabled: u.disabled,
            locked: u.locked_until.is_some(),
            created: when(u.created_at),
        })
        .collect();
    Ok(pages::render_app(
        StatusCode::OK,
        &UsersPage {
            chrome: viewer.chrome(&state, "users", params.get("done")),
            q,
            total,
            users: shown,
        },
    ))
}

async fn new_form(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    Ok(render_new(
        &state,
        &viewer,
        UserForm::default(),
        FieldErrors::none(),
    ))
}

fn render_new(
    state: &AppState,
    viewer: &Viewer,
    form: UserForm,
    errors: FieldErrors,
) -> HttpResponse {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    pages::render_app(
        status,
        &UserNewPage {
            chrome: viewer.chrome(state, "users", None),
            form,
            errors,
        },
    )
}

fn field_errors(e: AdminError) -> Result<FieldErrors, PageError> {
    match e {
        AdminError::InvalidField { field, message } => Ok(FieldErrors::of(field, message)),
        AdminError::Invalid(message) | AdminError::Conflict(message) => {
            Ok(FieldErrors::general(message))
        }
        other => Err(other.into()),
    }
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, form) = submitted(&state, &req, &body).await?;
    let typed = UserForm {
        username: form.text("username"),
        email: form.text("email"),
        name: form.text("name"),
        admin: form.checked("admin"),
        ..UserForm::default()
    };
    if let Err(errors) = new_password_rules(&form.secret("password")) {
        return Ok(render_new(&state, &viewer, typed, errors));
    }
    let input = UserInput {
        username: typed.username.clone(),
        email: Some(typed.email.clone()),
        name: Some(typed.name.clone()),
        is_admin: typed.admin,
        password: form.secret("password"),
    };
    let services = &state.services;
    match users::create(
        &services.store,
        &services.config.argon2,
        input,
        &viewer.actor(),
        state.clock.now(),
    )
    .await
    {
        Ok(user) => Ok(see_other(
            &state.path(&format!("/admin/users/{}?done=user-created", user.id)),
        )),
        Err(e) => Ok(render_new(&state, &viewer, typed, field_errors(e)?)),
    }
}

/// The user's page; `errors` belong to the profile form, `password_errors` to the
/// password form.
async fn render_user(
    state: &AppState,
    viewer: &Viewer,
    user: &UserView,
    form: Option<UserForm>,
    errors: FieldErrors,
    password_errors: FieldErrors,
    done: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let store = &state.services.store;
    let sessions = users::sessions(store, &user.id, now).await?;
    let apps = account::apps(store, &user.id, now).await?;
    let status = if errors.is_empty() && password_errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let form = form.unwrap_or_else(|| UserForm {
        username: user.username.clone(),
        email: user.email.clone().unwrap_or_default(),
        name: user.name.clone().unwrap_or_default(),
        admin: user.admin,
        roles: user.roles.join(" "),
        groups: user.groups.join(" "),
    });
    Ok(pages::render_app(
        status,
        &UserPage {
            chrome: viewer.chrome(state, "users", done),
            id: user.id.clone(),
            username: user.username.clone(),
            admin: user.admin,
            disabled: user.disabled,
            locked_until: user.locked_until.map(when),
            failed_logins: user.failed_login_count,
            created: when(user.created_at),
            updated: when(user.updated_at),
            form,
            errors,
            password_errors,
            sessions: sessions
                .into_iter()
                .map(|s| UserSessionLine {
                    sid: s.sid,
                    started: when(s.auth_time),
                    last_seen: when(s.last_seen_at),
                    expires: when(s.expires_at),
                })
                .collect(),
            apps: apps
                .into_iter()
                .map(|a| UserAppLine {
                    client_id: a.client_id,
                    client_name: a.client_name,
                    scope: a.scope,
                    granted: when(a.granted_at),
                    last_used: when(a.last_used_at),
                })
                .collect(),
            is_self: viewer.user().id == user.id,
        },
    ))
}

async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let user = users::show(&state.services.store, &path, state.clock.now()).await?;
    render_user(
        &state,
        &viewer,
        &user,
        None,
        FieldErrors::none(),
        FieldErrors::none(),
        query(&req).get("done"),
    )
    .await
}

/// Space-separated names, without repeats.
fn names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for name in text.split_whitespace() {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    names
}

async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, form) = submitted(&state, &req, &body).await?;
    let now = state.clock.now();
    let store = &state.services.store;
    let user = users::show(store, &path, now).await?;
    let typed = UserForm {
        username: user.username.clone(),
        email: form.text("email"),
        name: form.text("name"),
        admin: form.checked("admin"),
        roles: form.text("roles"),
        groups: form.text("groups"),
    };
    // Everything is checked before anything is saved.
    let refused = if viewer.user().id == user.id && !typed.admin {
        Some(FieldErrors::of(
            "admin",
            "you cannot remove your own admin flag",
        ))
    } else {
        users::check_names(NameList::Roles, &names(&typed.roles))
            .and_then(|()| users::check_names(NameList::Groups, &names(&typed.groups)))
            .err()
            .map(field_errors)
            .transpose()?
    };
    if let Some(errors) = refused {
        return render_user(
            &state,
            &viewer,
            &user,
            Some(typed),
            errors,
            FieldErrors::none(),
            None,
        )
        .await;
    }
    let actor = viewer.actor();
    let change = UserUpdate {
        email: Some(typed.email.clone()),
        name: Some(typed.name.clone()),
        admin: Some(typed.admin),
    };
    let result = async {
        users::update(store, &user.id, change, &actor, now).await?;
        for (list, wanted, current) in [
            (NameList::Roles, names(&typed.roles), &user.roles),
            (NameList::Groups, names(&typed.groups), &user.groups),
        ] {
            let add: Vec<String> = wanted
                .iter()
                .filter(|n| !current.contains(n))
                .cloned()
                .collect();
            let remove: Vec<String> = current
                .iter()
                .filter(|n| !wanted.contains(n))
                .cloned()
                .collect();
            if !add.is_empty() || !remove.is_empty() {
                users::change_names(store, &user.id, list, add, remove, &actor, now)
                    .await
                    .map_err(|e| match (e, list) {
                        (AdminError::Invalid(m), NameList::Roles) => AdminError::field("roles", m),
                        (AdminError::Invalid(m), NameList::Groups) => {
                            AdminError::field("groups", m)
                        }
                        (other, _) => other,
                    })?;
            }
        }
        Ok::<(), AdminError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(see_other(
            &state.path(&format!("/admin/users/{}?done=user-updated", user.id)),
        )),
        Err(e) => {
            let errors = field_errors(e)?;
            render_user(
                &state,
                &viewer,
                &user,
                Some(typed),
                errors,
                FieldErrors::none(),
                None,
            )
            .await
        }
    }
}

async fn set_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, form) = submitted(&state, &req, &body).await?;
    let now = state.clock.now();
    let services = &state.services;
    let user = users::show(&services.store, &path, now).await?;
    if let Err(errors) = new_password_rules(&form.secret("password")) {
        return render_user(
            &state,
            &viewer,
            &user,
            None,
            FieldErrors::none(),
            errors,
            None,
        )
        .await;
    }
    match users::set_password(
        &services.store,
        &services.config.argon2,
        &user.id,
        form.secret("password"),
        &viewer.actor(),
        now,
    )
    .await
    {
        Ok(_) => Ok(see_other(
            &state.path(&format!("/admin/users/{}?done=password-set", user.id)),
        )),
        Err(e) => {
            let errors = field_errors(e)?;
            render_user(
                &state,
                &viewer,
                &user,
                None,
                FieldErrors::none(),
                errors,
                None,
            )
            .await
        }
    }
}

/// A password an admin types for someone follows the rules of the account page.
fn new_password_rules(password: &Secret<String>) -> Result<(), FieldErrors> {
    setup::check_new_password("password", password, "password", password).map_err(|e| match e {
        AdminError::InvalidField { field, message } => FieldErrors::of(field, message),
        other => FieldErrors::general(other.to_string()),
    })
}

/// Refuses an action on the admin's own account.
fn not_on_self(viewer: &Viewer, user: &UserView, what: &str) -> Result<(), PageError> {
    if viewer.user().id == user.id {
        return Err(PageError::bad_request(
            "This cannot be done",
            format!("You cannot {what} your own account. Another admin can."),
        ));
    }
    Ok(())
}

/// The admin, the user named in the path and the time, for a one-click POST on
/// the user's page (CSRF checked).
async fn target(
    state: &AppState,
    req: &HttpRequest,
    user: &str,
    body: &[u8],
) -> Result<(Viewer, UserView, i64), PageError> {
    let (viewer, _) = submitted(state, req, body).await?;
    let now = state.clock.now();
    let user = users::show(&state.services.store, user, now).await?;
    Ok((viewer, user, now))
}

/// Back to the user's page with the notice `done`.
fn back_to(state: &AppState, user: &UserView, done: &str) -> HttpResponse {
    see_other(&state.path(&format!("/admin/users/{}?done={done}", user.id)))
}

async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, user, now) = target(&state, &req, &path, &body).await?;
    not_on_self(&viewer, &user, "disable")?;
    users::disable(&state.services.store, &user.id, &viewer.actor(), now).await?;
    Ok(back_to(&state, &user, "user-disabled"))
}

async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, user, now) = target(&state, &req, &path, &body).await?;
    users::enable(&state.services.store, &user.id, &viewer.actor(), now).await?;
    Ok(back_to(&state, &user, "user-enabled"))
}

async fn unlock(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, user, now) = target(&state, &req, &path, &body).await?;
    users::unlock(&state.services.store, &user.id, &viewer.actor(), now).await?;
    Ok(back_to(&state, &user, "user-unlocked"))
}

async fn end_sessions(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, user, now) = target(&state, &req, &path, &body).await?;
    users::end_sessions(&state.services.store, &user.id, &viewer.actor(), now).await?;
    Ok(back_to(&state, &user, "sessions-ended"))
}

async fn end_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (user, sid) = path.into_inner();
    let (viewer, user, now) = target(&state, &req, &user, &body).await?;
    users::end_session(&state.services.store, &user.id, &sid, &viewer.actor(), now).await?;
    Ok(back_to(&state, &user, "session-ended"))
}

async fn revoke_consent(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (user, client_id) = path.into_inner();
    let (viewer, user, now) = target(&state, &req, &user, &body).await?;
    let store = &state.services.store;
    users::revoke_consent(store, &user.id, &client_id, &viewer.actor(), now).await?;
    Ok(back_to(&state, &user, "consent-revoked"))
}

fn delete_question(user: &UserView) -> Confirmation {
    let id = &user.id;
    Confirmation {
        title: format!("Delete {}?", user.username),
        message: "Their sessions end, their refresh tokens are revoked and their consents are deleted. This cannot be undone; disabling keeps the account.".into(),
        action: format!("/admin/users/{id}/delete"),
        button: "Delete user",
        cancel: format!("/admin/users/{id}"),
        hidden: Vec::new(),
    }
}

async fn delete_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let user = users::show(&state.services.store, &path, state.clock.now()).await?;
    not_on_self(&viewer, &user, "delete")?;
    Ok(confirm(
        &state,
        &viewer,
        "users",
        delete_question(&user),
        None,
    ))
}

async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, form) = submitted(&state, &req, &body).await?;
    let now = state.clock.now();
    let store = &state.services.store;
    let user = users::show(store, &path, now).await?;
    not_on_self(&viewer, &user, "delete")?;
    if let Err(error) = confirm_it_is_you(&state, &req, &viewer, &form).await? {
        return Ok(confirm(
            &state,
            &viewer,
            "users",
            delete_question(&user),
            Some(error),
        ));
    }
    users::delete(store, &user.id, &viewer.actor(), now).await?;
    Ok(see_other(&state.path("/admin/users?done=user-deleted")))
}
