//! Static assets, embedded in the binary (no CDN, nothing read from disk at run time).

use actix_web::http::header::{CacheControl, CacheDirective, CONTENT_TYPE};
use actix_web::{web, HttpResponse};

const STYLESHEET: &str = include_str!("../../static/portcullis.css");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/portcullis.css", web::get().to(stylesheet));
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header(CacheControl(vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(3600),
        ]))
        .body(STYLESHEET)
}
