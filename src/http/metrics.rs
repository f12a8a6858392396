//! `GET /metrics` in the Prometheus text exposition format (version 0.0.4):
//! requests by route and status, latency histograms, tokens issued by grant, sign-ins
//! by outcome, lock starts, rate-limited requests, the password-hash queue, database
//! pool usage and signing-key ages.
//!
//! Served on the main address only to a request bearing `metrics_token`
//! (`Authorization: Bearer …`, compared in constant time), and without a token on
//! the `metrics_bind` listener, which serves nothing else. Neither set: no metrics.
//! Counters live in this process (each instance is scraped on its own).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use subtle::ConstantTimeEq;

use super::AppState;
use crate::protocol::client_metadata::GrantType;

pub const METRICS_PATH: &str = "/metrics";

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// How a password sign-in ended, for `portcullis_logins_total`.
#[derive(Debug, Clone, Copy)]
pub enum LoginOutcome {
    Succeeded,
    Failed,
    Busy,
}

/// The counters of one server.
#[derive(Default)]
pub struct Metrics {
    /// By route pattern, then by method: looked up without allocating.
    routes: RwLock<HashMap<String, ByMethod>>,
    tokens_issued: [AtomicU64; 3],
    logins: [AtomicU64; 3],
    lock_starts: AtomicU64,
}

/// The statistics of one route, by HTTP method (a handful at most).
type ByMethod = Vec<(String, Arc<RouteStats>)>;

#[derive(Default)]
struct RouteStats {
    statuses: Mutex<BTreeMap<u16, u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Metrics {
    /// One served request: its route pattern (`None`: no route matched), method,
    /// status and duration.
    pub fn record_request(
        &self,
        route: Option<&str>,
        method: &str,
        status: u16,
        elapsed: Duration,
    ) {
        let route = route.unwrap_or("unmatched");
        let find = |methods: &ByMethod| {
            methods
                .iter()
                .find(|(m, _)| m == method)
                .map(|(_, stats)| stats.clone())
        };
        let existing = self
            .routes
            .read()
            .ok()
            .and_then(|routes| routes.get(route).and_then(find));
        let stats = match existing {
            Some(stats) => stats,
            None => match self.routes.write() {
                Ok(mut routes) => {
                    let methods = routes.entry(route.to_owned()).or_default();
                    match find(methods) {
                        Some(stats) => stats,
                        None => {
                            let stats = Arc::new(RouteStats::default());
                            methods.push((method.to_owned(), stats.clone()));
                            stats
                        }
                    }
                }
                Err(_) => return,
            },
        };
        if let Ok(mut statuses) = stats.statuses.lock() {
            *statuses.entry(status).or_default() += 1;
        }
        let seconds = elapsed.as_secs_f64();
        for (bucket, bound) in stats.buckets.iter().zip(BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        stats.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        stats.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// A token response of `grant`.
    pub fn token_issued(&self, grant: GrantType) {
        let index = match grant {
            GrantType::AuthorizationCode => 0,
            GrantType::RefreshToken => 1,
            GrantType::ClientCredentials => 2,
        };
        self.tokens_issued[index].fetch_add(1, Ordering::Relaxed);
    }

    /// A password sign-in and the locks it started.
    pub fn login(&self, outcome: LoginOutcome, locks_started: u64) {
        self.logins[outcome as usize].fetch_add(1, Ordering::Relaxed);
        self.lock_starts.fetch_add(locks_started, Ordering::Relaxed);
    }

    /// The exposition text, with the gauges read from `state` now.
    pub fn render(&self, state: &AppState, now: i64) -> String {
        let mut out = String::with_capacity(4096);
        self.render_requests(&mut out);
        family(
            &mut out,
            "portcullis_tokens_issued_total",
            "counter",
            "Token responses by grant type.",
        );
        for (grant, counter) in ["authorization_code", "refresh_token", "client_credentials"]
            .iter()
            .zip(&self.tokens_issued)
        {
            let _ = writeln!(
                out,
                "portcullis_tokens_issued_total{{grant_type=\"{grant}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        family(
            &mut out,
            "portcullis_logins_total",
            "counter",
            "Password sign-ins by outcome (busy: refused with 503 while hashing was saturated).",
        );
        for (outcome, counter) in ["succeeded", "failed", "busy"].iter().zip(&self.logins) {
            let _ = writeln!(
                out,
                "portcullis_logins_total{{outcome=\"{outcome}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        family(
            &mut out,
            "portcullis_login_locks_total",
            "counter",
            "Sign-in locks started (per address or per account).",
        );
        let _ = writeln!(
            out,
            "portcullis_login_locks_total {}",
            self.lock_starts.load(Ordering::Relaxed)
        );

        let passwords = &state.services.passwords;
        family(
            &mut out,
            "portcullis_password_hash_queue",
            "gauge",
            "Sign-ins waiting for a password-hashing worker.",
        );
        let _ = writeln!(out, "portcullis_password_hash_queue {}", passwords.queued());
        family(
            &mut out,
            "portcullis_password_hash_queue_capacity",
            "gauge",
            "The most sign-ins that may wait.",
        );
        let _ = writeln!(
            out,
            "portcullis_password_hash_queue_capacity {}",
            passwords.capacity()
        );
        family(
            &mut out,
            "portcullis_password_hash_workers",
            "gauge",
            "Password-hashing worker threads.",
        );
        let _ = writeln!(
            out,
            "portcullis_password_hash_workers {}",
            passwords.workers()
        );

        let pool = state.services.store.pool_usage();
        family(
            &mut out,
            "portcullis_db_pool_connections",
            "gauge",
            "Database connections by state.",
        );
        let _ = writeln!(
            out,
            "portcullis_db_pool_connections{{state=\"idle\"}} {}",
            pool.idle
        );
        let _ = writeln!(
            out,
            "portcullis_db_pool_connections{{state=\"in_use\"}} {}",
            pool.in_use
        );
        family(
            &mut out,
            "portcullis_db_pool_max_connections",
            "gauge",
            "The pool's size.",
        );
        let _ = writeln!(out, "portcullis_db_pool_max_connections {}", pool.max);

        family(&mut out, "portcullis_signing_key_age_seconds", "gauge", "Seconds since each published signing key started signing (negative while it waits), by kid, algorithm and whether it signs now.");
        let keys = state.services.keys.current();
        for key in keys.keys() {
            let times = &key.times;
            let _ = writeln!(
                out,
                "portcullis_signing_key_age_seconds{{kid=\"{}\",alg=\"{}\",signing=\"{}\"}} {}",
                label(&times.kid),
                times.alg,
                times.signs_at(now),
                now - times.activates_at
            );
        }
        out
    }

    fn render_requests(&self, out: &mut String) {
        let Ok(routes) = self.routes.read() else {
            return;
        };
        let mut sorted: Vec<((&String, &String), &Arc<RouteStats>)> = routes
            .iter()
            .flat_map(|(route, methods)| {
                methods
                    .iter()
                    .map(move |(method, stats)| ((route, method), stats))
            })
            .collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        family(
            out,
            "portcullis_http_requests_total",
            "counter",
            "HTTP requests by route, method and status (429: rate-limited).",
        );
        for ((route, method), stats) in &sorted {
            if let Ok(statuses) = stats.statuses.lock() {
                for (status, count) in statuses.iter() {
                    let _ = writeln!(
                        out,
                        "portcullis_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {count}",
                        label(route)
                    );
                }
            }
        }
        family(
            out,
            "portcullis_http_request_duration_seconds",
            "histogram",
            "Time from request to response, by route and method.",
        );
        for ((route, method), stats) in &sorted {
            let labels = format!("route=\"{}\",method=\"{method}\"", label(route));
            for (bucket, bound) in stats.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "portcullis_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    bucket.load(Ordering::Relaxed)
                );
            }
            let count = stats.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "portcullis_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
            );
            let sum = stats.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "portcullis_http_request_duration_seconds_sum{{{labels}}} {sum}"
            );
            let _ = writeln!(
                out,
                "portcullis_http_request_duration_seconds_count{{{labels}}} {count}"
            );
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value escaped per the exposition format (`\`, `"`, newline).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Registers `/metrics` (at the root: it is about the process, not the issuer).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(METRICS_PATH, web::get().to(metrics));
}

/// The listener that serves only `/metrics`, if one is configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsListener(pub Option<SocketAddr>);

impl MetricsListener {
    /// Whether `req` came in on the metrics listener.
    pub fn is(&self, req: &HttpRequest) -> bool {
        self.0
            .is_some_and(|addr| req.app_config().local_addr() == addr)
    }
}

async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let allowed = state.metrics_listener.is(&req)
        || state
            .services
            .config
            .metrics
            .token
            .as_ref()
            .is_some_and(|token| bearer_matches(&req, token.expose()));
    if !allowed {
        // Without a token configured there is nothing here; with one, the same 404
        // for a missing or wrong token (no hint that metrics exist).
        return HttpResponse::NotFound().finish();
    }
    let body = state.metrics.render(&state, state.clock.now());
    HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

fn bearer_matches(req: &HttpRequest, token: &str) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| bool::from(given.as_bytes().ct_eq(token.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_status_and_bucket() {
        let metrics = Metrics::default();
        metrics.record_request(Some("/token"), "POST", 200, Duration::from_micros(700));
        metrics.record_request(Some("/token"), "POST", 429, Duration::from_millis(30));
        metrics.record_request(None, "GET", 404, Duration::from_micros(10));
        let mut out = String::new();
        metrics.render_requests(&mut out);
        assert!(
            out.contains(
                "portcullis_http_requests_total{route=\"/token\",method=\"POST\",status=\"200\"} 1"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "portcullis_http_requests_total{route=\"/token\",method=\"POST\",status=\"429\"} 1"
            ),
            "{out}"
        );
        assert!(
            out.contains("route=\"unmatched\",method=\"GET\",status=\"404\"} 1"),
            "{out}"
        );
        assert!(out.contains("portcullis_http_request_duration_seconds_bucket{route=\"/token\",method=\"POST\",le=\"0.001\"} 1"), "{out}");
        assert!(out.contains("portcullis_http_request_duration_seconds_bucket{route=\"/token\",method=\"POST\",le=\"0.05\"} 2"), "{out}");
        assert!(out.contains("portcullis_http_request_duration_seconds_count{route=\"/token\",method=\"POST\"} 2"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
