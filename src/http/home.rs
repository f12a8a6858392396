//! The home page at the issuer's root: what this server is, where to sign in, the
//! account page, the admin UI (for admins) and the discovery document.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::pages::{self, PageError};
use super::{viewer, AppState};
use crate::views::HomePage;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(["", "/"]).route(web::get().to(home)));
}

async fn home(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let chrome = match viewer::optional(&state, &req).await? {
        Some(viewer) => viewer.chrome(&state, "home", None),
        None => viewer::anonymous_chrome(&state, "home"),
    };
    Ok(pages::render_app(
        StatusCode::OK,
        &HomePage {
            chrome,
            issuer: state.services.config.issuer.clone(),
        },
    ))
}
