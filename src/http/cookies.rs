//! The two cookies (DESIGN.md §5): the login session, and a browser binding that
//! ties a pending authorization request to the browser that started it. Both are
//! random, `HttpOnly`, `SameSite=Lax`, path `/`; with an https issuer (`https` in
//! any case: URL schemes are case-insensitive, RFC 3986 §3.1) they are `Secure` with
//! the `__Host-` prefix. Both are browser-session cookies unless the session cookie
//! is configured persistent; the server ends sessions at their timeouts either way.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::HttpRequest;

/// Cookie names and flags for one issuer.
#[derive(Debug, Clone)]
pub struct Cookies {
    secure: bool,
    /// Whether the session cookie carries `Max-Age`.
    persistent: bool,
    session: &'static str,
    browser: &'static str,
}

impl Cookies {
    pub fn for_issuer(issuer: &str, persistent: bool) -> Cookies {
        if is_https(issuer) {
            Cookies {
                secure: true,
                persistent,
                session: "__Host-portcullis-session",
                browser: "__Host-portcullis-browser",
            }
        } else {
            Cookies {
                secure: false,
                persistent,
                session: "portcullis-session",
                browser: "portcullis-browser",
            }
        }
    }

    /// The session id the request carries.
    pub fn session_id(&self, req: &HttpRequest) -> Option<String> {
        req.cookie(self.session).map(|c| c.value().to_owned())
    }

    /// The browser binding the request carries.
    pub fn browser_id(&self, req: &HttpRequest) -> Option<String> {
        req.cookie(self.browser).map(|c| c.value().to_owned())
    }

    /// The session cookie: gone when the browser closes, or (configured persistent)
    /// living as long as the session may.
    pub fn session(&self, value: String, max_age_seconds: i64) -> Cookie<'static> {
        let mut cookie = self.base(self.session, value);
        if self.persistent {
            cookie.set_max_age(time::Duration::seconds(max_age_seconds));
        }
        cookie
    }

    /// Removes the session cookie (an expired, empty one with the same name and flags).
    pub fn clear_session(&self) -> Cookie<'static> {
        let mut cookie = self.base(self.session, String::new());
        cookie.make_removal();
        cookie
    }

    /// The browser binding: a session cookie (gone when the browser closes).
    pub fn browser(&self, value: String) -> Cookie<'static> {
        self.base(self.browser, value)
    }

    fn base(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .finish()
    }
}

/// Whether `issuer` uses the https scheme, in any letter case.
pub fn is_https(issuer: &str) -> bool {
    issuer
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_issuer_in_any_case_gets_secure_host_cookies() {
        for issuer in [
            "https://a.example",
            "HTTPS://a.example",
            "HttpS://a.example/x",
        ] {
            let cookies = Cookies::for_issuer(issuer, false);
            let cookie = cookies.session("v".into(), 60);
            assert_eq!(cookie.secure(), Some(true), "{issuer}");
            assert!(cookie.name().starts_with("__Host-"), "{issuer}");
        }
        let plain = Cookies::for_issuer("http://127.0.0.1:8080", false).session("v".into(), 60);
        assert_ne!(plain.secure(), Some(true));
        assert!(!plain.name().starts_with("__Host-"));
    }

    #[test]
    fn the_session_cookie_is_a_browser_session_cookie_unless_persistent() {
        let transient = Cookies::for_issuer("https://a.example", false).session("v".into(), 60);
        assert_eq!(transient.max_age(), None);
        let kept = Cookies::for_issuer("https://a.example", true).session("v".into(), 60);
        assert_eq!(kept.max_age(), Some(time::Duration::seconds(60)));
    }
}
