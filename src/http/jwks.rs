//! The JWKS endpoint (RFC 7517 §5; OIDC Discovery `jwks_uri`): public keys of every
//! `next`, `active` and `retired` key, cacheable for `jwks_max_age`.

use actix_web::{web, HttpRequest, HttpResponse};

use super::{public_document, AppState};

/// Where the JWKS is served (under the issuer).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(JWKS_PATH)
            .route(web::get().to(jwks))
            .route(web::head().to(jwks))
            .route(web::method(actix_web::http::Method::OPTIONS).to(public_document::preflight)),
    );
}

/// The rendered document of the current key set, with its ETag.
async fn jwks(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let set = state.services.keys.current();
    public_document::respond(
        &req,
        set.jwks(),
        set.etag(),
        state.services.config.keys.jwks_max_age.as_secs(),
    )
}
