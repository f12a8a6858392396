//! Token introspection (RFC 7662): the client authenticates and learns about its
//! own tokens only ([`service::introspection::introspect`]).

use actix_web::{web, HttpRequest, HttpResponse};

use super::{client_auth, form, oauth_response, AppState};
use crate::service::introspection::{self, Introspection};
use crate::service::OAuthFailure;

pub const INTROSPECTION_PATH: &str = "/introspect";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(INTROSPECTION_PATH)
            .wrap(state.rate_limits.introspection())
            .route(web::post().to(introspect)),
    );
}

async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> HttpResponse {
    oauth_response::answer(introspection(&state, &req, &body).await)
}

async fn introspection(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<Introspection, OAuthFailure> {
    let (params, client) = client_auth::authenticated_form(state, req, body).await?;
    let token = params.require("token")?;
    introspection::introspect(&state.services, &client, token, state.clock.now()).await
}
