//! The two cookies (DESIGN.md §5): the login session, and a browser binding that
//! ties a pending authorization request to the browser that started it. Both are
//! random, `HttpOnly`, `SameSite=Lax`, path `/`; with an https issuer they are
//! `Secure` with the `__Host-` prefix.

use actix_web::cookie::{time, Cookie, SameSite};
use actix_web::HttpRequest;

/// Cookie names and flags for one issuer.
#[derive(Debug, Clone)]
pub struct Cookies {
    secure: bool,
    session: &'static str,
    browser: &'static str,
}

impl Cookies {
    pub fn for_issuer(issuer: &str) -> Cookies {
        if issuer.starts_with("https://") {
            Cookies {
                secure: true,
                session: "__Host-portcullis-session",
                browser: "__Host-portcullis-browser",
            }
        } else {
            Cookies {
                secure: false,
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

    /// The session cookie, living as long as the session may.
    pub fn session(&self, value: String, max_age_seconds: i64) -> Cookie<'static> {
        let mut cookie = self.base(self.session, value);
        cookie.set_max_age(time::Duration::seconds(max_age_seconds));
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
