//! The first-run setup page (DESIGN.md §2): the link `serve` logs on a database
//! without an admin opens a form for the first admin's username and password.
//! The rules and the single use of the token are [`service::setup`]'s.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::flow::see_other;
use super::page_form::PageForm;
use super::pages::{self, PageError};
use super::{client_address, csrf, form, viewer, AppState};
use crate::clock::seconds;
use crate::crypto::random;
use crate::protocol::params::Params;
use crate::service::setup::{self, FirstAdmin, SetupRefused};
use crate::service::AdminError;
use crate::views::{FieldErrors, SetupPage};

pub const SETUP_PATH: &str = "/setup";

/// The CSRF purpose of the setup form (bound to the browser cookie).
const SETUP: &str = "setup";

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::resource(SETUP_PATH)
            .route(web::get().to(setup_page))
            .route(web::post().to(setup_submit).wrap(state.rate_limits.admin())),
    );
}

fn link_not_valid() -> PageError {
    PageError::bad_request(
        "This setup link is not valid",
        "This setup link was already used, has expired, or an administrator exists already. Restart the server for a new link if no administrator exists, or sign in.",
    )
}

async fn setup_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::from_urlencoded(req.query_string().as_bytes()).unwrap_or_default();
    let token = params.get("token").unwrap_or_default().to_owned();
    if token.is_empty() || !setup::is_open(&state.services.store, &token, state.clock.now()).await?
    {
        return Err(link_not_valid());
    }
    // The form is bound to this browser (a random cookie) as well as to the token.
    let (browser, fresh) = match state.cookies.browser_id(&req) {
        Some(id) => (id, false),
        None => (random::token()?, true),
    };
    let mut response = render(
        &state,
        StatusCode::OK,
        token,
        csrf::session_token(&browser, SETUP),
        String::new(),
        FieldErrors::none(),
    );
    if fresh {
        response.add_cookie(&state.cookies.browser(browser))?;
    }
    Ok(response)
}

fn render(
    state: &AppState,
    status: StatusCode,
    token: String,
    csrf_token: String,
    username: String,
    errors: FieldErrors,
) -> HttpResponse {
    pages::render_app(
        status,
        &SetupPage {
            chrome: viewer::anonymous_chrome(state, "setup"),
            token,
            csrf_token,
            username,
            errors,
        },
    )
}

async fn setup_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let form = PageForm::read(&req, &body)?;
    let browser = state.cookies.browser_id(&req);
    let expected = browser.as_deref().map(|b| csrf::session_token(b, SETUP));
    csrf::check(expected.as_deref(), form.get("csrf_token"))?;
    let token = form.text("token");
    let username = form.text("username");
    let admin = FirstAdmin {
        username: username.clone(),
        password: form.secret("password"),
        password_confirm: form.secret("password_confirm"),
    };
    let ip = client_address::of_request(&state, &req).map(|ip| ip.to_string());
    let now = state.clock.now();
    match setup::complete(&state.services, &token, admin, ip, now).await {
        Ok(session_id) => {
            let mut response = see_other(&state.path("/admin"));
            let lifetime = seconds(state.services.config.lifetimes.session_absolute);
            response.add_cookie(&state.cookies.session(session_id, lifetime))?;
            Ok(response)
        }
        Err(SetupRefused::LinkNotValid) => Err(link_not_valid()),
        Err(SetupRefused::Admin(AdminError::InvalidField { field, message })) => Ok(render(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            token,
            form.text("csrf_token"),
            username,
            FieldErrors::of(field, message),
        )),
        Err(SetupRefused::Admin(e)) => Err(e.into()),
    }
}
