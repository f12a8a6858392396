//! The admin web UI (`/admin`): clients, users, signing keys and the audit log.
//! Every page needs a signed-in admin (`viewer::admin`); every form carries the
//! session's CSRF token; every change is one call of the operation the command line
//! uses ([`crate::service`]), attributed to the admin in the audit trail.

mod audit;
mod clients;
mod keys;
mod users;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::page_form::PageForm;
use super::pages::{self, PageError};
use super::viewer::{self, Viewer};
use super::AppState;
use crate::protocol::params::Params;
use crate::service;
use crate::store::audit::AuditFilter;
use crate::views::admin::{ConfirmPage, Hidden, OverviewPage};

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::scope("/admin")
            .wrap(actix_web::middleware::from_fn(
                viewer::refuse_unreadable_addresses,
            ))
            .wrap(state.rate_limits.admin())
            .route("", web::get().to(overview))
            .configure(clients::configure)
            .configure(users::configure)
            .configure(keys::configure)
            .configure(audit::configure),
    );
}

/// The query string of a page (`q`, `done`, filters); unreadable ones count as empty.
fn query(req: &HttpRequest) -> Params {
    Params::from_urlencoded(req.query_string().as_bytes()).unwrap_or_default()
}

/// The admin and the form of an admin POST, once the CSRF token is checked.
async fn submitted(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Viewer, PageForm), PageError> {
    let viewer = viewer::admin(state, req).await?;
    let form = PageForm::read(req, body)?;
    viewer.check(&form)?;
    Ok((viewer, form))
}

async fn overview(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let now = state.clock.now();
    let services = &state.services;
    let clients = service::clients::list(&services.store, now).await?;
    let users = service::users::list(&services.store, now).await?;
    let keys = service::keys::list(&services.store, &services.config, &viewer.actor(), now).await?;
    let events = service::audit::list(
        &services.store,
        AuditFilter {
            limit: 8,
            ..AuditFilter::default()
        },
    )
    .await?;
    Ok(pages::render_app(
        StatusCode::OK,
        &OverviewPage {
            chrome: viewer.chrome(&state, "overview", query(&req).get("done")),
            clients: clients.len(),
            admins: users.iter().filter(|u| u.admin).count(),
            users: users.len(),
            keys: keys
                .iter()
                .filter(|k| k.state != "revoked")
                .map(|k| keys::line(k, now))
                .collect(),
            events: events.iter().map(audit::line).collect(),
        },
    ))
}

/// What a confirmation page asks.
struct Confirmation {
    title: String,
    message: String,
    /// The form's action, under the issuer's path.
    action: String,
    button: &'static str,
    cancel: String,
    hidden: Vec<Hidden>,
}

/// The confirmation page: 200 when first shown, 403 with `error` after a missing
/// or wrong password.
fn confirm(
    state: &AppState,
    viewer: &Viewer,
    section: &'static str,
    asked: Confirmation,
    error: Option<&'static str>,
) -> HttpResponse {
    let status = if error.is_some() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::OK
    };
    pages::render_app(
        status,
        &ConfirmPage {
            chrome: viewer.chrome(state, section, None),
            title: asked.title,
            message: asked.message,
            action: state.path(&asked.action),
            button: asked.button,
            cancel: state.path(&asked.cancel),
            hidden: asked.hidden,
            reauthenticate: viewer.must_reauthenticate(state.clock.now()),
            error,
        },
    )
}
