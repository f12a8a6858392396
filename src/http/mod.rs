//! The HTTP layer: actix handlers, middleware, and error-to-response mapping. Each
//! area registers its own routes with `configure`.

mod assets;
pub mod authorize;
mod client_auth;
pub mod consent;
pub mod cookies;
pub mod discovery;
mod flow;
mod form;
mod health;
pub mod introspection;
mod jwks;
mod known_token;
pub mod login;
pub mod logout;
mod oauth_response;
mod pages;
mod public_document;
pub mod rate_limit;
mod request_id;
pub mod revocation;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::web;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::client_secret::ClientSecretHasher;
use crate::crypto::derived_token::SuccessorDeriver;
use crate::keys::KeyRing;
use crate::store::Store;

/// What every handler may reach: config, storage, server keys, the clock.
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub secret_hasher: ClientSecretHasher,
    pub keys: Arc<KeyRing>,
    pub clock: Arc<dyn Clock>,
    /// The server metadata documents, rendered at start.
    pub discovery: discovery::Documents,
    /// Derives refresh-token successors.
    pub successors: SuccessorDeriver,
    /// An argon2id hash of nothing, checked for unknown users (same work, no enumeration).
    pub dummy_password_hash: String,
    pub cookies: cookies::Cookies,
    pub rate_limits: rate_limit::Limiters,
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    health::configure(cfg);
    assets::configure(cfg);
    jwks::configure(cfg);
    discovery::configure(cfg);
    authorize::configure(cfg, state);
    login::configure(cfg, state);
    consent::configure(cfg);
    token::configure(cfg, state);
    revocation::configure(cfg, state);
    introspection::configure(cfg, state);
    userinfo::configure(cfg, state);
    logout::configure(cfg, state);
}

/// The app with its middleware, for `HttpServer::new`.
pub fn app(
    state: web::Data<AppState>,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let routes = state.clone();
    actix_web::App::new()
        .app_data(state)
        .app_data(web::PayloadConfig::new(form::MAX_FORM_BYTES))
        .configure(move |cfg| configure(cfg, &routes))
        .wrap(
            DefaultHeaders::new()
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("Referrer-Policy", "no-referrer"))
                .add(("X-Frame-Options", "DENY")),
        )
        .wrap(from_fn(request_id::trace_request))
}
