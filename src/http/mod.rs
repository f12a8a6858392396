//! The HTTP layer: actix handlers, middleware, and error-to-response mapping. Each
//! area registers its own routes with `configure`.

mod account;
mod admin;
mod assets;
pub mod authorize;
mod client_address;
mod client_auth;
pub mod consent;
pub mod cookies;
mod cors;
mod csrf;
pub mod discovery;
mod flow;
mod form;
mod health;
mod home;
pub mod introspection;
mod jwks;
pub mod login;
pub mod logout;
pub mod metrics;
mod oauth_response;
mod page_form;
mod pages;
pub mod playground;
mod public_document;
pub mod rate_limit;
mod request_id;
pub mod revocation;
pub mod setup;
pub mod tls;
pub mod token;
pub mod userinfo;
mod viewer;

use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::web;

use crate::clock::Clock;
use crate::service::Services;

/// What every handler may reach: the operations' services, the clock, and what only
/// HTTP needs (documents, cookies, limits, where the routes live).
pub struct AppState {
    pub services: Services,
    pub clock: std::sync::Arc<dyn Clock>,
    /// The server metadata documents, rendered at start.
    pub discovery: discovery::Documents,
    pub cookies: cookies::Cookies,
    pub rate_limits: rate_limit::Limiters,
    /// The issuer's path (`/auth` for `https://example.com/auth`, empty for none):
    /// every route, link, form action and redirect lives under it.
    pub base_path: String,
    /// Request and sign-in counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// The listener that serves only `/metrics`, if configured.
    pub metrics_listener: metrics::MetricsListener,
    /// The playground's flows in progress (this instance's memory).
    pub playground: playground::Playground,
}

impl AppState {
    /// `path` (absolute, e.g. `/login?request=…`) under the issuer's path.
    pub fn path(&self, path: &str) -> String {
        format!("{}{path}", self.base_path)
    }
}

/// The path of an issuer URL, without a trailing slash (`""` for none).
pub fn base_path(issuer: &str) -> String {
    url::Url::parse(issuer)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// Registers every route under the issuer's path (OIDC Discovery §4: the
/// configuration document too); RFC 8414 §3's document and the health probes live
/// at the root.
pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    health::configure(cfg);
    metrics::configure(cfg);
    discovery::configure_root(cfg, &state.base_path);
    cfg.service(
        web::scope(&state.base_path)
            .configure(assets::configure)
            .configure(jwks::configure)
            .configure(discovery::configure)
            .configure(|cfg| authorize::configure(cfg, state))
            .configure(|cfg| login::configure(cfg, state))
            .configure(consent::configure)
            .configure(|cfg| token::configure(cfg, state))
            .configure(|cfg| revocation::configure(cfg, state))
            .configure(|cfg| introspection::configure(cfg, state))
            .configure(|cfg| userinfo::configure(cfg, state))
            .configure(|cfg| logout::configure(cfg, state))
            .configure(home::configure)
            .configure(|cfg| setup::configure(cfg, state))
            .configure(|cfg| account::configure(cfg, state))
            .configure(|cfg| admin::configure(cfg, state))
            .configure(|cfg| playground::configure(cfg, state)),
    );
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
    let mut headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"));
    if cookies::is_https(&state.services.config.issuer) {
        // RFC 6797: browsers keep to https for a year once they have seen this.
        headers = headers.add(("Strict-Transport-Security", "max-age=31536000"));
    }
    actix_web::App::new()
        .app_data(state)
        .app_data(web::PayloadConfig::new(form::MAX_FORM_BYTES))
        .configure(move |cfg| configure(cfg, &routes))
        .wrap(from_fn(pages::with_base_path))
        .wrap(headers)
        .wrap(from_fn(request_id::trace_request))
        .wrap(from_fn(metrics_listener_serves_only_metrics))
}

/// The `metrics_bind` listener answers `/metrics` and nothing else (404).
async fn metrics_listener_serves_only_metrics(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let only_metrics = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.metrics_listener.is(req.request()));
    if only_metrics && req.path() != metrics::METRICS_PATH {
        return Ok(req.into_response(actix_web::HttpResponse::NotFound().finish()));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
