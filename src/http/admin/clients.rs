//! Clients in the admin UI: list and search, register (the secret shown once),
//! edit, rotate the secret with a grace period, disable and enable, delete. Each is
//! one call of [`service::clients`].

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{confirm, query, submitted, Confirmation};
use crate::http::flow::see_other;
use crate::http::page_form::PageForm;
use crate::http::pages::{self, PageError};
use crate::http::viewer::{self, confirm_it_is_you, Viewer};
use crate::http::{form, AppState};
use crate::protocol::client_metadata::ClientRegistration;
use crate::service::clients::{self, ClientUpdate, ClientView, ClientWithSecret};
use crate::service::AdminError;
use crate::views::admin::{
    AlgChoice, ClientForm, ClientLine, ClientNewPage, ClientPage, ClientSecretPage, ClientsPage,
    Hidden,
};
use crate::views::{when, FieldErrors};

/// The longest grace an admin may give an old secret (30 days).
const MAX_GRACE: i64 = 30 * 86_400;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/clients", web::get().to(list))
        .route("/clients", web::post().to(register))
        .route("/clients/new", web::get().to(new_form))
        .route("/clients/{id}", web::get().to(show))
        .route("/clients/{id}", web::post().to(update))
        .route("/clients/{id}/rotate-secret", web::post().to(rotate_secret))
        .route("/clients/{id}/disable", web::post().to(disable))
        .route("/clients/{id}/enable", web::post().to(enable))
        .route("/clients/{id}/delete", web::get().to(delete_confirm))
        .route("/clients/{id}/delete", web::post().to(delete));
}

async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let params = query(&req);
    let q = params.get("q").unwrap_or_default().trim().to_owned();
    let all = clients::list(&state.services.store, state.clock.now()).await?;
    let total = all.len();
    let needle = q.to_lowercase();
    let mut shown: Vec<ClientLine> = all
        .iter()
        .filter(|c| {
            needle.is_empty()
                || c.client_name.to_lowercase().contains(&needle)
                || c.client_id.to_lowercase().contains(&needle)
        })
        .map(|c| ClientLine {
            client_id: c.client_id.clone(),
            name: c.client_name.clone(),
            kind: if c.public { "public" } else { "confidential" },
            grant_types: c.grant_types.join(", "),
            created: when(c.client_id_issued_at),
            disabled: c.disabled,
        })
        .collect();
    shown.reverse(); // newest first
    Ok(pages::render_app(
        StatusCode::OK,
        &ClientsPage {
            chrome: viewer.chrome(&state, "clients", params.get("done")),
            q,
            total,
            clients: shown,
        },
    ))
}

/// The algorithm choices: the default, then those the server keeps keys for.
fn alg_choices(state: &AppState, default_label: &str) -> Vec<AlgChoice> {
    let mut choices = vec![AlgChoice {
        value: "",
        label: default_label.to_owned(),
    }];
    choices.extend(state.services.config.keys.algs.iter().map(|a| AlgChoice {
        value: a.as_str(),
        label: a.as_str().to_owned(),
    }));
    choices
}

fn algs(state: &AppState) -> Vec<AlgChoice> {
    alg_choices(state, "server default")
}

async fn new_form(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let form = ClientForm {
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        token_endpoint_auth_method: "client_secret_basic".into(),
        ..ClientForm::default()
    };
    Ok(render_new(&state, &viewer, form, FieldErrors::none()))
}

fn render_new(
    state: &AppState,
    viewer: &Viewer,
    form: ClientForm,
    errors: FieldErrors,
) -> HttpResponse {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    pages::render_app(
        status,
        &ClientNewPage {
            chrome: viewer.chrome(state, "clients", None),
            form,
            errors,
            algs: algs(state),
        },
    )
}

/// The client form as typed.
fn typed(form: &PageForm) -> ClientForm {
    ClientForm {
        client_name: form.text("client_name"),
        redirect_uris: form.lines("redirect_uris").join("\n"),
        post_logout_redirect_uris: form.lines("post_logout_redirect_uris").join("\n"),
        grant_types: form.all("grant_types"),
        scope: form.text("scope"),
        token_endpoint_auth_method: form.text("token_endpoint_auth_method"),
        access_token_signing_alg: form.text("access_token_signing_alg"),
        id_token_signed_response_alg: form.text("id_token_signed_response_alg"),
    }
}

/// An operation's refusal as errors next to the form's fields; anything else is a
/// page error.
fn field_errors(e: AdminError) -> Result<FieldErrors, PageError> {
    match e {
        AdminError::InvalidField { field, message } => Ok(FieldErrors::of(field, message)),
        AdminError::Invalid(message) | AdminError::Conflict(message) => {
            Ok(FieldErrors::general(message))
        }
        other => Err(other.into()),
    }
}

fn optional(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, form) = submitted(&state, &req, &body).await?;
    let typed = typed(&form);
    if typed.grant_types.is_empty() {
        let errors = FieldErrors::of("grant_types", "choose at least one grant type");
        return Ok(render_new(&state, &viewer, typed, errors));
    }
    let method = optional(&typed.token_endpoint_auth_method);
    let registration = ClientRegistration {
        name: typed.client_name.clone(),
        redirect_uris: form.lines("redirect_uris"),
        post_logout_redirect_uris: form.lines("post_logout_redirect_uris"),
        grant_types: typed.grant_types.clone(),
        scope: optional(&typed.scope),
        public: method.as_deref() == Some("none"),
        token_endpoint_auth_method: method,
        access_token_signing_alg: optional(&typed.access_token_signing_alg),
        id_token_signed_response_alg: optional(&typed.id_token_signed_response_alg),
    };
    let algs = state.services.config.keys.algs.clone();
    match clients::register(
        &state.services.store,
        registration,
        &algs,
        &viewer.actor(),
        state.clock.now(),
    )
    .await
    {
        Ok(registered) => Ok(secret_page(&state, &viewer, registered, false)),
        Err(e) => Ok(render_new(&state, &viewer, typed, field_errors(e)?)),
    }
}

/// The page that shows a new secret once.
fn secret_page(
    state: &AppState,
    viewer: &Viewer,
    client: ClientWithSecret,
    rotated: bool,
) -> HttpResponse {
    pages::render_app(
        StatusCode::OK,
        &ClientSecretPage {
            chrome: viewer.chrome(state, "clients", None),
            client_id: client.view.client_id.clone(),
            client_name: client.view.client_name.clone(),
            secret: client.secret.map(|s| s.expose().clone()),
            rotated,
            previous_secret_until: client.view.previous_secret_expires_at.map(when),
            token_endpoint_auth_method: client.view.token_endpoint_auth_method,
        },
    )
}

/// The edit form filled with what is stored.
fn stored(view: &ClientView) -> ClientForm {
    ClientForm {
        client_name: view.client_name.clone(),
        redirect_uris: view.redirect_uris.join("\n"),
        post_logout_redirect_uris: view.post_logout_redirect_uris.join("\n"),
        grant_types: view.grant_types.iter().map(|g| (*g).to_owned()).collect(),
        scope: view.scope.clone(),
        token_endpoint_auth_method: view.token_endpoint_auth_method.to_owned(),
        access_token_signing_alg: view.access_token_signing_alg.unwrap_or_default().to_owned(),
        id_token_signed_response_alg: view
            .id_token_signed_response_alg
            .unwrap_or_default()
            .to_owned(),
    }
}

fn render_client(
    state: &AppState,
    viewer: &Viewer,
    view: &ClientView,
    form: ClientForm,
    errors: FieldErrors,
    done: Option<&str>,
) -> HttpResponse {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    pages::render_app(
        status,
        &ClientPage {
            chrome: viewer.chrome(state, "clients", done),
            client_id: view.client_id.clone(),
            name: view.client_name.clone(),
            public: view.public,
            disabled: view.disabled,
            auth_method: view.token_endpoint_auth_method,
            created: when(view.client_id_issued_at),
            updated: when(view.updated_at),
            previous_secret_until: view.previous_secret_expires_at.map(when),
            form,
            errors,
            algs: algs(state),
            reauthenticate: viewer.must_reauthenticate(state.clock.now()),
        },
    )
}

async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let view = clients::show(&state.services.store, &path, state.clock.now()).await?;
    let form = stored(&view);
    Ok(render_client(
        &state,
        &viewer,
        &view,
        form,
        FieldErrors::none(),
        query(&req).get("done"),
    ))
}

async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, form) = submitted(&state, &req, &body).await?;
    let id = path.into_inner();
    let typed = typed(&form);
    let now = state.clock.now();
    let current = clients::show(&state.services.store, &id, now).await?;
    if typed.grant_types.is_empty() {
        let errors = FieldErrors::of("grant_types", "choose at least one grant type");
        return Ok(render_client(
            &state, &viewer, &current, typed, errors, None,
        ));
    }
    let change = ClientUpdate {
        name: Some(typed.client_name.clone()),
        redirect_uris: Some(form.lines("redirect_uris")),
        post_logout_redirect_uris: Some(form.lines("post_logout_redirect_uris")),
        grant_types: Some(typed.grant_types.clone()),
        scope: Some(typed.scope.clone()),
        access_token_signing_alg: Some(typed.access_token_signing_alg.clone()),
        id_token_signed_response_alg: Some(typed.id_token_signed_response_alg.clone()),
    };
    let algs = state.services.config.keys.algs.clone();
    match clients::update(
        &state.services.store,
        &id,
        change,
        &algs,
        &viewer.actor(),
        now,
    )
    .await
    {
        Ok(_) => Ok(see_other(
            &state.path(&format!("/admin/clients/{id}?done=client-updated")),
        )),
        Err(e) => {
            let errors = field_errors(e)?;
            Ok(render_client(
                &state, &viewer, &current, typed, errors, None,
            ))
        }
    }
}

/// The grace in seconds (0 to 30 days), or the error to show next to its field.
fn grace(form: &PageForm) -> Result<i64, FieldErrors> {
    match form.get("grace").map(str::parse::<i64>) {
        None => Ok(0),
        Some(Ok(g)) if (0..=MAX_GRACE).contains(&g) => Ok(g),
        Some(_) => Err(FieldErrors::of(
            "grace",
            "the grace period must be between 0 seconds and 30 days",
        )),
    }
}

async fn rotate_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, form) = submitted(&state, &req, &body).await?;
    let id = path.into_inner();
    let now = state.clock.now();
    let view = clients::show(&state.services.store, &id, now).await?;
    let grace = match grace(&form) {
        Ok(grace) => grace,
        Err(errors) => {
            let stored = stored(&view);
            return Ok(render_client(&state, &viewer, &view, stored, errors, None));
        }
    };
    if let Err(error) = confirm_it_is_you(&state, &req, &viewer, &form).await? {
        let asked = Confirmation {
            title: format!("Rotate the secret of {}?", view.client_name),
            message: "A new secret is made and shown once. The current one stops working after the grace period you chose.".into(),
            action: format!("/admin/clients/{id}/rotate-secret"),
            button: "Rotate secret",
            cancel: format!("/admin/clients/{id}"),
            hidden: vec![Hidden {
                name: "grace",
                value: grace.to_string(),
            }],
        };
        return Ok(confirm(&state, &viewer, "clients", asked, Some(error)));
    }
    let rotated =
        clients::rotate_secret(&state.services.store, &id, grace, &viewer.actor(), now).await?;
    Ok(secret_page(&state, &viewer, rotated, true))
}

async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, _) = submitted(&state, &req, &body).await?;
    let id = path.into_inner();
    clients::disable(
        &state.services.store,
        &id,
        &viewer.actor(),
        state.clock.now(),
    )
    .await?;
    Ok(see_other(&state.path(&format!(
        "/admin/clients/{id}?done=client-disabled"
    ))))
}

async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, _) = submitted(&state, &req, &body).await?;
    let id = path.into_inner();
    clients::enable(
        &state.services.store,
        &id,
        &viewer.actor(),
        state.clock.now(),
    )
    .await?;
    Ok(see_other(
        &state.path(&format!("/admin/clients/{id}?done=client-enabled")),
    ))
}

fn delete_question(view: &ClientView) -> Confirmation {
    let id = &view.client_id;
    Confirmation {
        title: format!("Delete {}?", view.client_name),
        message: "The client can no longer sign anyone in or get tokens; its refresh tokens, consents and codes are deleted with it. This cannot be undone.".into(),
        action: format!("/admin/clients/{id}/delete"),
        button: "Delete client",
        cancel: format!("/admin/clients/{id}"),
        hidden: Vec::new(),
    }
}

async fn delete_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let view = clients::show(&state.services.store, &path, state.clock.now()).await?;
    Ok(confirm(
        &state,
        &viewer,
        "clients",
        delete_question(&view),
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
    let view = clients::show(&state.services.store, &path, now).await?;
    if let Err(error) = confirm_it_is_you(&state, &req, &viewer, &form).await? {
        return Ok(confirm(
            &state,
            &viewer,
            "clients",
            delete_question(&view),
            Some(error),
        ));
    }
    clients::delete(&state.services.store, &view.client_id, &viewer.actor(), now).await?;
    Ok(see_other(&state.path("/admin/clients?done=client-deleted")))
}
