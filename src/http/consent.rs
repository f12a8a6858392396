//! The consent page (DESIGN.md §5): the client's name, each requested scope in
//! words, Allow and Deny. The decision is [`service::authorization::decide_consent`]'s.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::pages::{self, PageError};
use super::{flow, form, AppState};
use crate::protocol::params::Params;
use crate::service::authorization::{self, ConsentDecision, Step};
use crate::service::resources;
use crate::service::tokens::parse_scope;
use crate::store::authorization_requests::PendingRequestRow;
use crate::views::{describe_scope, ConsentPage, ScopeLine};

pub const CONSENT_PATH: &str = "/consent";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(CONSENT_PATH)
            .route(web::get().to(consent_page))
            .route(web::post().to(consent_decision)),
    );
}

async fn consent_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = Params::from_urlencoded(req.query_string().as_bytes()).unwrap_or_default();
    let pending = flow::pending(&state, &req, params.get("request")).await?;
    let signed_in = flow::signed_in(&state, &req).await?;
    // The page is shown only when the flow's next step is consent: a request that
    // needs a login (or none at all) cannot skip ahead by opening this page.
    let user = signed_in.as_ref().map(|s| s.user.username.clone());
    let kept = pending.clone();
    let pending_id = pending.id.clone();
    match authorization::proceed(&state.services, pending, signed_in, state.clock.now()).await {
        Ok(Step::Consent) => render(&state, &kept, user.as_deref().unwrap_or("")).await,
        step => Ok(flow::respond(&state, step, &pending_id)),
    }
}

async fn render(
    state: &AppState,
    pending: &PendingRequestRow,
    username: &str,
) -> Result<HttpResponse, PageError> {
    let requested = parse_scope(&pending.scope)?;
    // RFC 8707: the API the app asks access to, by name, and whether it will see
    // the user's roles and groups.
    let api = match &pending.resource {
        Some(identifier) => resources::by_identifier(&state.services.store, identifier).await?,
        None => None,
    };
    let client_name = flow::client_name(state, &pending.client_id).await?;
    let redirect_host = url::Url::parse(&pending.redirect_uri)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(str::to_owned)
                .or_else(|| Some(u.scheme().to_owned()))
        })
        .unwrap_or_default();
    Ok(pages::render(
        StatusCode::OK,
        &ConsentPage {
            base: &state.base_path,
            client_name: &client_name,
            username,
            scopes: requested
                .iter()
                .map(|s| ScopeLine {
                    name: s.to_owned(),
                    description: describe_scope(s),
                })
                .chain(api.iter().map(|api| ScopeLine {
                    name: api.identifier.clone(),
                    description: if api.include_roles {
                        format!(
                            "Use {} for you; it will see your roles and groups",
                            api.name
                        )
                    } else {
                        format!("Use {} for you", api.name)
                    },
                }))
                .collect(),
            request_id: &pending.id,
            csrf_token: &pending.csrf_token,
            redirect_host: &redirect_host,
        },
    ))
}

async fn consent_decision(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let (params, pending) = flow::submitted_form(&state, &req, &body).await?;
    let decision = match params.get("decision") {
        Some("allow") => ConsentDecision::Allow,
        Some("deny") => ConsentDecision::Deny,
        _ => {
            return Err(PageError::bad_request(
                "The form could not be read",
                "Choose Allow or Deny.",
            ))
        }
    };
    let signed_in = flow::signed_in(&state, &req).await?;
    let pending_id = pending.id.clone();
    let step = authorization::decide_consent(
        &state.services,
        pending,
        signed_in,
        decision,
        state.clock.now(),
    )
    .await;
    Ok(flow::respond(&state, step, &pending_id))
}
