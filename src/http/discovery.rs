//! `/.well-known/openid-configuration` (OIDC Discovery 1.0 §4) and
//! `/.well-known/oauth-authorization-server` (RFC 8414 §3).

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};

use super::jwks::JWKS_PATH;
use super::{public_document, AppState};
use crate::config::Config;
use crate::protocol::discovery::{self, Capabilities, Document, EndpointPaths};

/// OIDC Discovery §4: `{issuer}/.well-known/openid-configuration`, so under the
/// issuer's path (registered inside its scope). When the issuer has no path, the
/// RFC 8414 document is served here too.
pub fn configure(cfg: &mut web::ServiceConfig) {
    document_route(
        cfg,
        "/.well-known/openid-configuration",
        Document::OpenIdConfiguration,
    );
}

/// RFC 8414 §3: the well-known suffix goes between the host and the issuer's path,
/// `/.well-known/oauth-authorization-server{path}`.
pub fn configure_root(cfg: &mut web::ServiceConfig, base_path: &str) {
    document_route(
        cfg,
        &format!("/.well-known/oauth-authorization-server{base_path}"),
        Document::OAuthAuthorizationServer,
    );
}

fn document_route(cfg: &mut web::ServiceConfig, path: &str, document: Document) {
    let handler = move |req: HttpRequest, state: web::Data<AppState>| async move {
        metadata(req, state, document)
    };
    cfg.service(
        web::resource(path)
            .route(web::get().to(handler))
            .route(web::head().to(handler))
            .route(web::method(Method::OPTIONS).to(public_document::preflight)),
    );
}

/// Both documents, rendered once: they depend on the configuration only.
pub struct Documents {
    openid_configuration: Rendered,
    oauth_authorization_server: Rendered,
}

struct Rendered {
    body: String,
    etag: String,
}

impl Documents {
    /// Renders the metadata of what this server really serves.
    pub fn render(config: &Config) -> Result<Documents, serde_json::Error> {
        let capabilities = capabilities(config);
        let render = |document| -> Result<Rendered, serde_json::Error> {
            let body = serde_json::to_string(&discovery::metadata(&capabilities, document))?;
            let etag = crate::crypto::etag(body.as_bytes());
            Ok(Rendered { body, etag })
        };
        Ok(Documents {
            openid_configuration: render(Document::OpenIdConfiguration)?,
            oauth_authorization_server: render(Document::OAuthAuthorizationServer)?,
        })
    }
}

fn capabilities(config: &Config) -> Capabilities {
    // RS256 first: OIDC Core §3.1.3.7 makes it the default.
    let mut algs = config.keys.algs.clone();
    algs.sort();
    Capabilities {
        issuer: config.issuer.clone(),
        jwks_path: JWKS_PATH,
        signing_algs: algs.iter().map(|a| a.as_str()).collect(),
        endpoints: EndpointPaths {
            authorization: super::authorize::AUTHORIZE_PATH,
            token: super::token::TOKEN_PATH,
            revocation: super::revocation::REVOCATION_PATH,
            introspection: super::introspection::INTROSPECTION_PATH,
            userinfo: super::userinfo::USERINFO_PATH,
            end_session: super::logout::LOGOUT_PATH,
        },
    }
}

fn metadata(req: HttpRequest, state: web::Data<AppState>, document: Document) -> HttpResponse {
    let rendered = match document {
        Document::OpenIdConfiguration => &state.discovery.openid_configuration,
        Document::OAuthAuthorizationServer => &state.discovery.oauth_authorization_server,
    };
    public_document::respond(
        &req,
        &rendered.body,
        &rendered.etag,
        state.services.config.keys.jwks_max_age.as_secs(),
    )
}
