//! Who is looking at the server's own pages (the account page, the admin UI, the
//! playground): the signed-in user, the CSRF token of their forms (bound to the
//! session, `csrf::session_token`), and the gates — sign in first (303 to the login
//! page, then back), admins only (403), and "confirm it is you" before a sensitive
//! admin action when the last sign-in is older than [`REAUTHENTICATE_AFTER`].

use actix_web::HttpRequest;

use super::page_form::PageForm;
use super::pages::PageError;
use super::{client_address, csrf, flow, AppState};
use crate::service::sessions::{self, Reauthentication, SignedIn};
use crate::service::Actor;
use crate::store::users::UserRow;
use crate::views::Chrome;

/// Seconds after a sign-in within which a sensitive admin action needs no password.
pub const REAUTHENTICATE_AFTER: i64 = 300;

/// The CSRF purpose of the server's own pages.
const PAGES: &str = "pages";

/// The paths a sign-in may return to (`next`): the server's own pages only.
const RETURN_PATHS: [&str; 3] = ["/account", "/admin", "/playground"];

/// A signed-in user on one of the server's own pages.
pub struct Viewer {
    pub signed_in: SignedIn,
    pub csrf_token: String,
}

impl Viewer {
    pub fn user(&self) -> &UserRow {
        &self.signed_in.user
    }

    /// The audit trail's name for this user's actions: their user id.
    pub fn actor(&self) -> Actor {
        Actor(self.signed_in.user.id.clone())
    }

    /// Accepts the form only with this session's CSRF token (403 otherwise).
    pub fn check(&self, form: &PageForm) -> Result<(), PageError> {
        csrf::check(Some(&self.csrf_token), form.get("csrf_token"))
    }

    /// Whether a sensitive action must ask for the password again.
    pub fn must_reauthenticate(&self, now: i64) -> bool {
        now - self.signed_in.session.auth_time > REAUTHENTICATE_AFTER
    }

    /// The page frame: who is signed in, the sign-out form, the admin links.
    pub fn chrome(&self, state: &AppState, section: &'static str, notice: Option<&str>) -> Chrome {
        Chrome {
            base: state.base_path.clone(),
            username: Some(self.signed_in.user.username.clone()),
            is_admin: self.signed_in.user.is_admin,
            csrf_token: self.csrf_token.clone(),
            section,
            notice: crate::views::notice(notice),
        }
    }
}

/// The frame of a page seen without a session (home, setup).
pub fn anonymous_chrome(state: &AppState, section: &'static str) -> Chrome {
    Chrome {
        base: state.base_path.clone(),
        username: None,
        is_admin: false,
        csrf_token: String::new(),
        section,
        notice: None,
    }
}

/// The signed-in user, if any.
pub async fn optional(state: &AppState, req: &HttpRequest) -> Result<Option<Viewer>, PageError> {
    let Some(session_id) = state.cookies.session_id(req) else {
        return Ok(None);
    };
    Ok(flow::signed_in(state, req).await?.map(|signed_in| Viewer {
        signed_in,
        csrf_token: csrf::session_token(&session_id, PAGES),
    }))
}

/// The signed-in user, or the login page (and back here afterwards).
pub async fn user(state: &AppState, req: &HttpRequest) -> Result<Viewer, PageError> {
    match optional(state, req).await? {
        Some(viewer) => Ok(viewer),
        None => Err(PageError::SignInFirst(login_location(
            state,
            &return_path(state, req),
        ))),
    }
}

/// The signed-in admin; anyone else signed in gets the 403 page.
pub async fn admin(state: &AppState, req: &HttpRequest) -> Result<Viewer, PageError> {
    let viewer = user(state, req).await?;
    if viewer.user().is_admin {
        Ok(viewer)
    } else {
        Err(PageError::AdminsOnly)
    }
}

/// Where a sign-in for this request should come back to: the page itself for a
/// GET, its section's first page after a POST (which cannot be repeated by a GET).
fn return_path(state: &AppState, req: &HttpRequest) -> String {
    let path = req
        .path()
        .strip_prefix(state.base_path.as_str())
        .unwrap_or("/account");
    let here = if req.method() == actix_web::http::Method::GET && !req.query_string().is_empty() {
        format!("{path}?{}", req.query_string())
    } else {
        path.to_owned()
    };
    if req.method() == actix_web::http::Method::GET {
        here
    } else {
        RETURN_PATHS
            .iter()
            .find(|root| is_under(path, root))
            .map_or("/account", |root| root)
            .to_owned()
    }
}

/// The login page that returns to `next`.
pub fn login_location(state: &AppState, next: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    state.path(&format!("/login?next={encoded}"))
}

/// `next` if it is one of the server's own pages (a path under `/account`, `/admin`
/// or `/playground`, in visible ASCII), else `/account`: a sign-in never sends the
/// browser anywhere else (no open redirect, RFC 9700 §4.11).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next)
            if next.bytes().all(|b| b.is_ascii_graphic())
                && !next.contains('\\')
                && !has_dot_segment(next)
                && RETURN_PATHS.iter().any(|root| is_under(next, root)) =>
        {
            next
        }
        _ => "/account",
    }
}

/// Whether the path part of `next` has a `.` or `..` segment (also percent-encoded),
/// which would lead out from under its root.
fn has_dot_segment(next: &str) -> bool {
    let path = next.split(['?', '#']).next().unwrap_or_default();
    path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

/// Whether `path` is `root` or below it (`/admin`, `/admin/…`, `/admin?…`).
fn is_under(path: &str, root: &str) -> bool {
    path.strip_prefix(root)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
}

/// Before a sensitive action: `Ok` when the last sign-in is recent or the form's
/// `password` is right (which counts as a new sign-in); otherwise what to tell the
/// user next to the password field.
pub async fn confirm_it_is_you(
    state: &AppState,
    req: &HttpRequest,
    viewer: &Viewer,
    form: &PageForm,
) -> Result<Result<(), &'static str>, PageError> {
    let now = state.clock.now();
    if !viewer.must_reauthenticate(now) {
        return Ok(Ok(()));
    }
    if form.get("password").is_none() {
        return Ok(Err("Enter your password to confirm."));
    }
    let ip = client_address::of_request(state, req).map(|ip| ip.to_string());
    let outcome = sessions::reauthenticate(
        &state.services,
        &viewer.signed_in,
        form.secret("password"),
        ip,
        now,
    )
    .await?;
    Ok(match outcome {
        Reauthentication::Confirmed => Ok(()),
        Reauthentication::Refused => Err("That is not your password."),
        Reauthentication::Busy => Err("The server is busy; try again in a moment."),
    })
}

/// Middleware of the account, admin and playground pages: a path that decodes to a
/// control character names nothing (404), and a query that cannot be read — not
/// UTF-8, a repeated name, a control character — is refused (400), before anything
/// reaches a database (Postgres refuses NUL) or a log.
pub async fn refuse_unreadable_addresses(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let refused = if has_encoded_control(req.path()) {
        Some(PageError::NotFound("There is no such page.".to_owned()))
    } else {
        crate::protocol::params::Params::from_urlencoded(req.query_string().as_bytes())
            .and_then(|params| params.check_characters())
            .err()
            .map(|e| PageError::bad_request("This address cannot be read", e.description()))
    };
    match refused {
        Some(error) => {
            let response = actix_web::ResponseError::error_response(&error);
            Ok(req.into_response(response))
        }
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}

/// Whether `path` holds a control character, raw or percent-encoded (`%00`–`%1F`, `%7F`).
fn has_encoded_control(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.iter().any(|b| b.is_ascii_control())
        || bytes.windows(3).any(|w| {
            w[0] == b'%'
                && matches!(
                    (char::from(w[1]).to_digit(16), char::from(w[2]).to_digit(16)),
                    (Some(hi), Some(lo)) if hi * 16 + lo < 0x20 || hi * 16 + lo == 0x7f
                )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_returns_only_to_the_servers_own_pages() {
        for ok in [
            "/account",
            "/admin",
            "/admin/clients?q=x",
            "/playground/callback",
        ] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "/administrator",
            "/admin\\..\\x",
            "/admin/ x",
            "/admin/../logout",
            "/account/%2e%2E/logout",
            "/playground/./../token",
            "/login",
            "",
            "admin",
        ] {
            assert_eq!(safe_next(Some(bad)), "/account", "{bad}");
        }
        assert_eq!(safe_next(None), "/account");
    }
}
