//! Static assets, embedded in the binary (no CDN, nothing read from disk at run time).

use actix_web::http::header::{CacheControl, CacheDirective, CONTENT_TYPE};
use actix_web::{web, HttpResponse};

const STYLESHEET: &str = include_str!("../../static/portcullis.css");
/// The copy buttons of the account and admin pages (loaded by file, never inline).
const SCRIPT: &str = include_str!("../../static/portcullis.js");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/portcullis.css", web::get().to(stylesheet))
        .route("/static/portcullis.js", web::get().to(script));
}

async fn stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLESHEET)
}

async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(3600),
        ]))
        .body(body)
}
