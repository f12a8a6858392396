//! Liveness (`/healthz`) and readiness (`/readyz`) for load balancers and orchestrators.

use actix_web::http::header::{CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};
use serde_json::json;

use super::AppState;
use crate::store::StoreError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
}

/// The process is up and serving HTTP.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .json(json!({ "status": "ok" }))
}

/// The database answers: 200, or 503 with the reason.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let backend = state.services.store.url().backend_name();
    // As long as a request would wait (`database_timeout`), no longer.
    let timeout = state.services.config.database_timeout;
    match state.services.store.check_ready(timeout).await {
        Ok(()) => HttpResponse::Ok()
            .insert_header(CacheControl(vec![CacheDirective::NoStore]))
            .json(json!({ "status": "ready", "database": backend })),
        Err(e) => {
            // Details (paths, hosts, users) go to the log, not to anonymous callers.
            tracing::warn!(error = %e, "not ready");
            let reason = match e {
                StoreError::SqliteFileMissing(_) => "database file missing",
                _ => "database unreachable",
            };
            HttpResponse::ServiceUnavailable()
                .insert_header(CacheControl(vec![CacheDirective::NoStore]))
                .json(json!({ "status": "unavailable", "database": backend, "reason": reason }))
        }
    }
}
