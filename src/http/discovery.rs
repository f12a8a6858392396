//! `/.well-known/openid-configuration` (OIDC Discovery 1.0 §4) and
//! `/.well-known/oauth-authorization-server` (RFC 8414 §3).

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};

use super::jwks::JWKS_PATH;
use super::{public_document, AppState};
use crate::protocol::discovery::{self, Capabilities, Document};

pub fn configure(cfg: &mut web::ServiceConfig) {
    for (path, document) in [
        (
            "/.well-known/openid-configuration",
            Document::OpenIdConfiguration,
        ),
        (
            "/.well-known/oauth-authorization-server",
            Document::OAuthAuthorizationServer,
        ),
    ] {
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
}

/// What this server really serves, for the metadata builder.
pub fn capabilities(state: &AppState) -> Capabilities {
    Capabilities {
        issuer: state.config.issuer.clone(),
        jwks_path: JWKS_PATH,
        signing_algs: {
            // RS256 first: OIDC Core §3.1.3.7 makes it the default.
            let mut algs = state.config.keys.algs.clone();
            algs.sort();
            algs.iter().map(|a| a.as_str()).collect()
        },
    }
}

fn metadata(req: HttpRequest, state: web::Data<AppState>, document: Document) -> HttpResponse {
    let body = match serde_json::to_string(&discovery::metadata(&capabilities(&state), document)) {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "cannot render server metadata");
            return HttpResponse::InternalServerError().finish();
        }
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, body.as_bytes());
    let etag = format!(
        "\"{}\"",
        digest.as_ref()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    public_document::respond(&req, &body, &etag, state.config.keys.jwks_max_age.as_secs())
}
