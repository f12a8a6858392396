//! The HTTP layer: actix handlers, middleware, and error-to-response mapping. Each
//! area registers its own routes with `configure`.

mod assets;
pub mod discovery;
mod health;
mod jwks;
mod public_document;
mod request_id;

use std::sync::Arc;

use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::web;

use crate::clock::Clock;
use crate::config::Config;
use crate::crypto::client_secret::ClientSecretHasher;
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
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    assets::configure(cfg);
    jwks::configure(cfg);
    discovery::configure(cfg);
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
    actix_web::App::new()
        .app_data(state)
        .configure(configure)
        .wrap(
            DefaultHeaders::new()
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("Referrer-Policy", "no-referrer"))
                .add(("X-Frame-Options", "DENY")),
        )
        .wrap(from_fn(request_id::trace_request))
}
