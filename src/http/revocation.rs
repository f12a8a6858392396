//! Token revocation (RFC 7009): the client authenticates and may revoke only its
//! own tokens ([`service::introspection::revoke`]). Unknown, foreign and
//! already-revoked tokens also get 200 (§2.2).

use actix_web::{web, HttpRequest, HttpResponse};

use super::{client_auth, cors, form, oauth_response, AppState};
use crate::service::introspection;

pub const REVOCATION_PATH: &str = "/revoke";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(REVOCATION_PATH)
            .wrap(state.rate_limits.introspection())
            .route(web::post().to(revoke))
            .route(web::method(actix_web::http::Method::OPTIONS).to(cors::preflight)),
    );
}

async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> HttpResponse {
    let (params, client) = match client_auth::authenticated_form(&state, &req, &body).await {
        Ok(found) => found,
        Err(e) => return oauth_response::failure(e),
    };
    let result = match params.require("token") {
        Ok(token) => {
            introspection::revoke(&state.services, &client, token, state.clock.now()).await
        }
        Err(e) => Err(e.into()),
    };
    let mut response = oauth_response::empty(result);
    cors::allow_client(&req, &client, &mut response);
    response
}
