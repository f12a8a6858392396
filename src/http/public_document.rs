//! Headers of the public, cacheable JSON documents (JWKS and server metadata): anyone
//! may read them from any origin, caches may keep them, validators make refetches cheap.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};

/// A 200 (or, for a matching `If-None-Match`, a 304) for a public JSON `body` with
/// this `etag`, cacheable for `max_age` seconds, readable cross-origin. HEAD gets the
/// headers only.
pub fn respond(req: &HttpRequest, body: &str, etag: &str, max_age: u64) -> HttpResponse {
    let matched = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| if_none_match_hits(v, etag));
    let mut response = if matched {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    headers(&mut response, max_age);
    response.insert_header((header::ETAG, etag.to_owned()));
    if matched {
        return response.finish();
    }
    response.content_type("application/json");
    if req.method() == Method::HEAD {
        response.insert_header((header::CONTENT_LENGTH, body.len()));
        return response.finish();
    }
    response.body(body.to_owned())
}

/// CORS preflight answer: GET and HEAD from any origin.
pub async fn preflight() -> HttpResponse {
    let mut response = HttpResponse::NoContent();
    response
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "If-None-Match"))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"));
    response.finish()
}

fn headers(response: &mut HttpResponseBuilder, max_age: u64) {
    response
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
        .insert_header((header::ACCESS_CONTROL_EXPOSE_HEADERS, "ETag"));
}

/// RFC 9110 §13.1.2: `*`, or a list of entity tags compared weakly (a `W/` prefix on
/// either side is ignored).
fn if_none_match_hits(header_value: &str, etag: &str) -> bool {
    let strip = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let ours = strip(etag);
    header_value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || strip(tag) == ours)
}

#[cfg(test)]
mod tests {
    use super::if_none_match_hits;

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        assert!(if_none_match_hits("\"abc\"", "\"abc\""));
        assert!(if_none_match_hits("W/\"abc\"", "\"abc\""));
        assert!(if_none_match_hits("\"x\", \"abc\"", "\"abc\""));
        assert!(if_none_match_hits("*", "\"abc\""));
        assert!(!if_none_match_hits("\"abd\"", "\"abc\""));
        assert!(!if_none_match_hits("abc", "\"abc\""));
    }
}
