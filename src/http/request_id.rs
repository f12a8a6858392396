//! A request id for every request: in a tracing span around the handler, in the
//! access log line, and in the `X-Request-Id` response header. The log line names
//! the path only — never the query string, which may carry codes or tokens. The
//! same place counts the request for `/metrics`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;

use super::AppState;
use crate::crypto::random;
use actix_web::web;

const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Keeps an incoming `X-Request-Id` from a proxy when it is short and plain;
/// otherwise makes one.
fn request_id(req: &ServiceRequest) -> String {
    let incoming = req
        .headers()
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    match incoming {
        Some(id) => id.to_owned(),
        None => random::identifier().unwrap_or_else(|_| "unavailable".to_owned()),
    }
}

/// The middleware (`from_fn`).
pub async fn trace_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request_id(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.path(),
    );
    let started = Instant::now();
    let method = req.method().clone();
    let result = next.call(req).instrument(span.clone()).await;
    let _entered = span.enter();
    let elapsed = started.elapsed();
    let elapsed_us = elapsed.as_micros() as u64;
    match result {
        Ok(mut res) => {
            tracing::info!(status = res.status().as_u16(), elapsed_us, "served");
            if let Some(state) = res.request().app_data::<web::Data<AppState>>() {
                state.metrics.record_request(
                    res.request().match_pattern().as_deref(),
                    method.as_str(),
                    res.status().as_u16(),
                    elapsed,
                );
            }
            if let Ok(value) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(HEADER, value);
            }
            Ok(res)
        }
        Err(e) => {
            tracing::warn!(error = %e, elapsed_us, "failed");
            Err(e)
        }
    }
}
