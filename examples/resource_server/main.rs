//! An example resource server: one API route that accepts Portcullis access tokens,
//! validated as `docs/resource-servers.md` describes (the logic is in `jwks_cache.rs`).
//!
//! ```sh
//! ISSUER=http://127.0.0.1:8080 AUDIENCE=https://api.example.com BIND=127.0.0.1:8081 \
//!     cargo run --example resource_server
//! curl -i -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8081/api/whoami
//! curl -i -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8081/api/admin
//! ```
//!
//! `AUDIENCE` is the API's identifier as registered with `portcullis resource create
//! --identifier` (the `aud` of tokens requested with `resource=`); `/api/admin` needs
//! the `admin` role, which tokens carry for APIs registered with `--roles`.

mod jwks_cache;

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::{bail, Context};
use serde_json::json;

use jwks_cache::JwksCache;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let issuer = env_or("ISSUER", "http://127.0.0.1:8080");
    let audience = env_or("AUDIENCE", "https://api.example.com");
    let bind = env_or("BIND", "127.0.0.1:8081");

    let jwks_uri = discover(&issuer).await?;
    eprintln!("issuer {issuer}, jwks_uri {jwks_uri}, audience {audience}");
    let cache = web::Data::new(JwksCache::new(jwks_uri, issuer, audience));

    let server = HttpServer::new(move || {
        App::new()
            .app_data(cache.clone())
            .route("/api/whoami", web::get().to(whoami))
            .route("/api/admin", web::get().to(admin))
    })
    .bind(&bind)
    .with_context(|| format!("cannot listen on {bind}"))?;
    eprintln!("listening on http://{bind}");
    server.run().await?;
    Ok(())
}

/// The `jwks_uri` of `issuer`'s discovery document (OIDC Discovery 1.0 §4), whose
/// `issuer` must be exactly `issuer` (§4.3): otherwise the server refuses to start.
async fn discover(issuer: &str) -> anyhow::Result<String> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let document: serde_json::Value = reqwest::get(&url)
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("cannot fetch {url}"))?
        .json()
        .await
        .with_context(|| format!("{url} is not JSON"))?;
    if document["issuer"].as_str() != Some(issuer) {
        bail!(
            "{url} names issuer {}, not {issuer}: refusing to start",
            document["issuer"]
        );
    }
    match document["jwks_uri"].as_str() {
        Some(jwks_uri) => Ok(jwks_uri.to_owned()),
        None => bail!("{url} has no jwks_uri"),
    }
}

/// `GET /api/whoami`: who the token speaks for.
async fn whoami(req: HttpRequest, cache: web::Data<JwksCache>) -> HttpResponse {
    let Some(token) = bearer_token(&req) else {
        // RFC 6750 §3.1: no credentials, no error code.
        return unauthorized(r#"Bearer realm="example""#.to_owned());
    };
    match cache.verify(token, unix_now()).await {
        Ok(claims) => HttpResponse::Ok().json(json!({
            "sub": claims["sub"],
            "client_id": claims["client_id"],
            "scope": claims["scope"],
            "roles": claims["roles"],
        })),
        Err(e) => unauthorized(format!(
            r#"Bearer error="invalid_token", error_description="{}""#,
            quotable(&e.to_string())
        )),
    }
}

/// `GET /api/admin`: only for a user with the `admin` role (RFC 9068 §2.2.3.1's
/// `roles` claim). A valid token without it is 403 `insufficient_scope` (RFC 6750
/// §3.1), not 401: the token is fine, its rights are not enough.
async fn admin(req: HttpRequest, cache: web::Data<JwksCache>) -> HttpResponse {
    let Some(token) = bearer_token(&req) else {
        return unauthorized(r#"Bearer realm="example""#.to_owned());
    };
    match cache.verify(token, unix_now()).await {
        Ok(claims) => {
            let is_admin = claims["roles"]
                .as_array()
                .is_some_and(|roles| roles.iter().any(|r| r == "admin"));
            if is_admin {
                HttpResponse::Ok().json(json!({ "admin": claims["sub"] }))
            } else {
                let mut response = HttpResponse::Forbidden().json(json!({
                    "error": "insufficient_scope",
                    "error_description": "the admin role is required",
                }));
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        r#"Bearer error="insufficient_scope", error_description="the admin role is required""#,
                    ),
                );
                response
            }
        }
        Err(e) => unauthorized(format!(
            r#"Bearer error="invalid_token", error_description="{}""#,
            quotable(&e.to_string())
        )),
    }
}

/// The token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme is
/// case-insensitive), or `None` without such a header.
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("Bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

fn unauthorized(challenge: String) -> HttpResponse {
    let mut response = HttpResponse::Unauthorized();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.insert_header((header::WWW_AUTHENTICATE, value));
    }
    response.insert_header((header::CACHE_CONTROL, "no-store"));
    response.finish()
}

/// `text` with only the characters RFC 6750 §3 allows in `error_description`
/// (printable ASCII but `"` and `\`); it may carry a token's `kid`.
fn quotable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
