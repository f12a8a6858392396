//! Signing keys in the admin UI: the key set on a timeline (which key signs now,
//! which waits and when it starts, which retired and when it leaves the JWKS),
//! rotation on demand and emergency revocation (DESIGN.md §4), through
//! [`service::keys`].

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::{confirm, query, submitted, Confirmation};
use crate::http::flow::see_other;
use crate::http::pages::{self, PageError};
use crate::http::viewer::{self, confirm_it_is_you};
use crate::http::{form, AppState};
use crate::keys::KeyAlg;
use crate::service::keys::{self, KeyView};
use crate::views::admin::{KeyLine, KeysPage};
use crate::views::when;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/keys", web::get().to(list))
        .route("/keys/rotate", web::post().to(rotate))
        .route("/keys/{kid}/revoke", web::get().to(revoke_confirm))
        .route("/keys/{kid}/revoke", web::post().to(revoke));
}

/// A key as the timeline shows it at `now`.
pub fn line(k: &KeyView, now: i64) -> KeyLine {
    let status = match k.state {
        "active" => "signs now".to_owned(),
        "next" if k.activates_at > now => format!("waits, signs from {}", when(k.activates_at)),
        "next" => "waits".to_owned(),
        "retired" => "retired".to_owned(),
        other => other.to_owned(),
    };
    KeyLine {
        kid: k.kid.clone(),
        alg: k.alg.clone(),
        state: k.state,
        status,
        created: when(k.created_at),
        signs_from: if k.state == "revoked" {
            "—".to_owned()
        } else {
            when(k.activates_at)
        },
        signs_until: match (k.state, k.retires_at) {
            ("revoked", _) => k
                .revoked_at
                .map_or("—".to_owned(), |at| format!("revoked {}", when(at))),
            (_, Some(at)) => when(at),
            (_, None) => "—".to_owned(),
        },
        leaves_jwks: match (k.state, k.delete_after) {
            ("revoked", _) => "left at once".to_owned(),
            (_, Some(at)) => when(at),
            (_, None) => "after it retires".to_owned(),
        },
        revocable: k.state != "revoked",
    }
}

async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let now = state.clock.now();
    let services = &state.services;
    let keys = keys::list(&services.store, &services.config, &viewer.actor(), now).await?;
    let mut lines: Vec<KeyLine> = keys.iter().map(|k| line(k, now)).collect();
    // Waiting keys first, then the signing ones, then the retired and revoked.
    let order = |state: &str| match state {
        "next" => 0,
        "active" => 1,
        "retired" => 2,
        _ => 3,
    };
    lines.sort_by(|a, b| order(a.state).cmp(&order(b.state)).then(a.alg.cmp(&b.alg)));
    Ok(pages::render_app(
        StatusCode::OK,
        &KeysPage {
            chrome: viewer.chrome(&state, "keys", query(&req).get("done")),
            keys: lines,
            algs: services
                .config
                .keys
                .algs
                .iter()
                .map(|a| a.as_str())
                .collect(),
            jwks_max_age: services.config.keys.jwks_max_age.as_secs(),
        },
    ))
}

async fn rotate(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, form) = submitted(&state, &req, &body).await?;
    let alg = match form.get("alg") {
        None => None,
        Some(alg) => Some(alg.parse::<KeyAlg>().map_err(|_| {
            PageError::bad_request(
                "This cannot be done",
                format!("`{alg}` is not a signing algorithm"),
            )
        })?),
    };
    let services = &state.services;
    keys::rotate(
        &services.store,
        &services.config,
        alg,
        &viewer.actor(),
        state.clock.now(),
    )
    .await?;
    services.keys.refresh().await?;
    Ok(see_other(&state.path("/admin/keys?done=key-rotated")))
}

fn revoke_question(kid: &str) -> Confirmation {
    Confirmation {
        title: format!("Revoke key {kid}?"),
        message: "The key leaves the JWKS at once and never signs again. Every token it signed stops verifying at resource servers as soon as they refetch the JWKS — users of those tokens must sign in again. Use this when the key may have leaked; for routine changes, rotate instead.".into(),
        action: format!("/admin/keys/{kid}/revoke"),
        button: "Revoke key",
        cancel: "/admin/keys".into(),
        hidden: Vec::new(),
    }
}

async fn revoke_confirm(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let kid = path.into_inner();
    let services = &state.services;
    let keys = keys::list(
        &services.store,
        &services.config,
        &viewer.actor(),
        state.clock.now(),
    )
    .await?;
    match keys.iter().find(|k| k.kid == kid) {
        None => Err(PageError::NotFound(format!(
            "There is no signing key `{kid}`."
        ))),
        Some(k) if k.state == "revoked" => Err(PageError::bad_request(
            "This cannot be done",
            format!("The signing key {kid} is already revoked."),
        )),
        Some(_) => Ok(confirm(
            &state,
            &viewer,
            "keys",
            revoke_question(&kid),
            None,
        )),
    }
}

async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (viewer, form) = submitted(&state, &req, &body).await?;
    let kid = path.into_inner();
    if let Err(error) = confirm_it_is_you(&state, &req, &viewer, &form).await? {
        return Ok(confirm(
            &state,
            &viewer,
            "keys",
            revoke_question(&kid),
            Some(error),
        ));
    }
    let services = &state.services;
    keys::revoke(
        &services.store,
        &services.config,
        &kid,
        &viewer.actor(),
        state.clock.now(),
    )
    .await?;
    services.keys.refresh().await?;
    Ok(see_other(&state.path("/admin/keys?done=key-revoked")))
}
