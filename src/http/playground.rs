//! The playground (`/playground`, admins only): a built-in relying party. The admin
//! picks a client; the playground sends the browser through a real authorization
//! code flow with PKCE S256, `state` and `nonce` (the real login and consent pages),
//! redeems the code through the token endpoint's operations with the client's own
//! authentication, calls UserInfo, and shows what came back, decoded. With a
//! refresh token it can refresh. The quickest way for a newcomer to see the server
//! work.
//!
//! A flow in progress (verifier, nonce, the client secret the admin typed) lives
//! in this instance's memory for 15 minutes, bound to the admin who started it;
//! nothing of it is stored or logged.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;

use super::flow::see_other;
use super::page_form::PageForm;
use super::pages::{self, PageError};
use super::viewer::{self, Viewer};
use super::{client_address, form, AppState};
use crate::crypto::{random, token_hash, Secret};
use crate::protocol::client_metadata::GrantType;
use crate::protocol::id_token::ID_TOKEN_TYP;
use crate::protocol::params::Params;
use crate::protocol::tokens::ACCESS_TOKEN_TYP;
use crate::service::clients::{self, ClientUpdate};
use crate::service::{tokens, userinfo, OAuthFailure};
use crate::views::admin::{
    DecodedToken, Hidden, PlaygroundClient, PlaygroundPage, PlaygroundResultPage,
};

pub const CALLBACK_PATH: &str = "/playground/callback";

/// How long a flow waits for its callback.
const FLOW_LIFETIME: i64 = 900;
/// The most flows kept at once (the oldest go first).
const MAX_FLOWS: usize = 256;

pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    cfg.service(
        web::scope("/playground")
            .wrap(actix_web::middleware::from_fn(
                super::viewer::refuse_unreadable_addresses,
            ))
            .wrap(state.rate_limits.admin())
            .route("", web::get().to(playground))
            .route("/start", web::post().to(start))
            .route("/callback", web::get().to(callback))
            .route("/refresh", web::post().to(refresh)),
    );
}

/// One flow in progress, or done and holding its refresh token.
struct Flow {
    admin_id: String,
    client_id: String,
    client_name: String,
    /// What the admin typed for a confidential client.
    secret: Option<Secret<String>>,
    method: &'static str,
    verifier: String,
    nonce: String,
    scope: String,
    started_at: i64,
    /// After the code was redeemed: the refresh token, if one came.
    refresh_token: Option<String>,
}

/// The flows of this instance, by their `state` value.
#[derive(Default)]
pub struct Playground {
    flows: Mutex<HashMap<String, Flow>>,
}

impl Playground {
    fn put(&self, id: String, flow: Flow, now: i64) {
        let Ok(mut flows) = self.flows.lock() else {
            return;
        };
        flows.retain(|_, f| now - f.started_at < FLOW_LIFETIME);
        while flows.len() >= MAX_FLOWS {
            let oldest = flows
                .iter()
                .min_by_key(|(_, f)| f.started_at)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => flows.remove(&id),
                None => break,
            };
        }
        flows.insert(id, flow);
    }

    /// The flow `id` if it is this admin's and still live.
    fn take(&self, id: &str, admin_id: &str, now: i64) -> Option<Flow> {
        let mut flows = self.flows.lock().ok()?;
        // Another admin's state value takes nothing away from them.
        if flows.get(id)?.admin_id != admin_id {
            return None;
        }
        let flow = flows.remove(id)?;
        (now - flow.started_at < FLOW_LIFETIME).then_some(flow)
    }
}

/// The playground's redirect URI (`<issuer>/playground/callback`).
fn redirect_uri(state: &AppState) -> String {
    format!(
        "{}{CALLBACK_PATH}",
        state.services.config.issuer.trim_end_matches('/')
    )
}

async fn playground(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let params = Params::from_urlencoded(req.query_string().as_bytes()).unwrap_or_default();
    render_form(
        &state,
        &viewer,
        params.get("client_id").unwrap_or_default(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn render_form(
    state: &AppState,
    viewer: &Viewer,
    selected: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let uri = redirect_uri(state);
    let all = clients::list(&state.services.store, state.clock.now()).await?;
    let usable: Vec<PlaygroundClient> = all
        .iter()
        .rev()
        .filter(|c| {
            !c.disabled
                && c.grant_types
                    .contains(&GrantType::AuthorizationCode.as_str())
        })
        .map(|c| PlaygroundClient {
            client_id: c.client_id.clone(),
            name: c.client_name.clone(),
            public: c.public,
            has_redirect: c.redirect_uris.contains(&uri),
        })
        .collect();
    Ok(pages::render_app(
        status,
        &PlaygroundPage {
            chrome: viewer.chrome(state, "playground", None),
            clients: usable,
            redirect_uri: uri,
            selected: selected.to_owned(),
            scope: "openid profile email offline_access".to_owned(),
            error,
        },
    ))
}

async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let form = PageForm::read(&req, &body)?;
    viewer.check(&form)?;
    let now = state.clock.now();
    let uri = redirect_uri(&state);
    // The second step: the admin agreed to register the redirect URI.
    if let (Some(id), Some("yes")) = (form.get("flow"), form.get("register_redirect_uri")) {
        let Some(flow) = state.playground.take(id, &viewer.user().id, now) else {
            return render_form(
                &state,
                &viewer,
                "",
                Some("This flow has expired; start again.".into()),
                StatusCode::BAD_REQUEST,
            )
            .await;
        };
        let view = clients::show(&state.services.store, &flow.client_id, now).await?;
        let mut uris = view.redirect_uris.clone();
        if !uris.contains(&uri) {
            uris.push(uri.clone());
            let change = ClientUpdate {
                redirect_uris: Some(uris),
                ..ClientUpdate::default()
            };
            let algs = state.services.config.keys.algs.clone();
            clients::update(
                &state.services.store,
                &flow.client_id,
                change,
                &algs,
                &viewer.actor(),
                now,
            )
            .await?;
        }
        let location = authorize_url(&state, id, &flow);
        state.playground.put(id.to_owned(), flow, now);
        return Ok(see_other(&location));
    }
    let client_id = form.text("client_id");
    let Ok(view) = clients::show(&state.services.store, &client_id, now).await else {
        return render_form(
            &state,
            &viewer,
            "",
            Some("Choose a client.".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let secret = form.get("client_secret").map(|s| Secret::new(s.to_owned()));
    if !view.public && secret.is_none() {
        return render_form(
            &state,
            &viewer,
            &client_id,
            Some("This client is confidential: paste its secret, as the app would use it.".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let id = random::token()?;
    let flow = Flow {
        admin_id: viewer.user().id.clone(),
        client_id: view.client_id.clone(),
        client_name: view.client_name.clone(),
        secret,
        method: view.token_endpoint_auth_method,
        verifier: random::token()?,
        nonce: random::token()?,
        scope: form.get("scope").unwrap_or("openid").to_owned(),
        started_at: now,
        refresh_token: None,
    };
    if view.redirect_uris.contains(&uri) {
        let location = authorize_url(&state, &id, &flow);
        state.playground.put(id, flow, now);
        return Ok(see_other(&location));
    }
    let question = crate::views::admin::ConfirmPage {
        chrome: viewer.chrome(&state, "playground", None),
        title: format!("Register the playground on {}?", view.client_name),
        message: format!(
            "The playground receives the authorization code at {uri}. That URI is not registered for this client; registering it lets the playground (and only this server) receive codes for it. You can remove it later on the client's page."
        ),
        action: state.path("/playground/start"),
        button: "Register and continue",
        cancel: state.path("/playground"),
        hidden: vec![
            Hidden { name: "flow", value: id.clone() },
            Hidden { name: "register_redirect_uri", value: "yes".into() },
        ],
        reauthenticate: false,
        error: None,
    };
    state.playground.put(id, flow, now);
    Ok(pages::render_app(StatusCode::OK, &question))
}

/// The authorization request of `flow` (state `id`), under the issuer's path.
fn authorize_url(state: &AppState, id: &str, flow: &Flow) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &flow.client_id)
        .append_pair("redirect_uri", &redirect_uri(state))
        .append_pair("scope", &flow.scope)
        .append_pair("state", id)
        .append_pair("nonce", &flow.nonce)
        .append_pair("code_challenge", &token_hash(&flow.verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("prompt", "consent")
        .finish();
    state.path(&format!("/authorize?{query}"))
}

async fn callback(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let params = Params::from_urlencoded(req.query_string().as_bytes()).unwrap_or_default();
    let now = state.clock.now();
    let Some(mut flow) = params
        .get("state")
        .and_then(|id| state.playground.take(id, &viewer.user().id, now))
    else {
        return render_form(&state, &viewer, "", Some("This answer belongs to no flow of yours in progress (unknown or expired state); start again.".into()), StatusCode::BAD_REQUEST).await;
    };
    // RFC 9207 §2.4: the answer must come from this issuer.
    if params.get("iss") != Some(state.services.config.issuer.as_str()) {
        return render_form(
            &state,
            &viewer,
            &flow.client_id,
            Some("The answer did not carry this server's `iss`; it was refused (RFC 9207).".into()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    if let Some(error) = params.get("error") {
        let description = params.get("error_description").unwrap_or_default();
        return render_form(
            &state,
            &viewer,
            &flow.client_id,
            Some(format!(
                "The authorization request ended with `{error}`: {description}"
            )),
            StatusCode::OK,
        )
        .await;
    }
    let Some(code) = params.get("code") else {
        return render_form(
            &state,
            &viewer,
            &flow.client_id,
            Some("The answer carried no code.".into()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let mut token_params = vec![
        ("grant_type", "authorization_code".to_owned()),
        ("code", code.to_owned()),
        ("redirect_uri", redirect_uri(&state)),
        ("code_verifier", flow.verifier.clone()),
    ];
    let page = redeem(&state, &req, &viewer, &mut flow, &mut token_params, false).await?;
    Ok(page)
}

async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: form::FormBody,
) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let form = PageForm::read(&req, &body)?;
    viewer.check(&form)?;
    let now = state.clock.now();
    let Some(mut flow) = form
        .get("flow")
        .and_then(|id| state.playground.take(id, &viewer.user().id, now))
    else {
        return render_form(
            &state,
            &viewer,
            "",
            Some("This flow has expired; start again.".into()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let Some(refresh_token) = flow.refresh_token.clone() else {
        return render_form(
            &state,
            &viewer,
            &flow.client_id,
            Some("This flow holds no refresh token.".into()),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let mut token_params = vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", refresh_token),
    ];
    redeem(&state, &req, &viewer, &mut flow, &mut token_params, true).await
}

/// A token request as the client makes it — authenticated by its registered
/// method — through the token endpoint's operations; then UserInfo; then the page.
async fn redeem(
    state: &AppState,
    req: &HttpRequest,
    viewer: &Viewer,
    flow: &mut Flow,
    token_params: &mut Vec<(&'static str, String)>,
    refreshed: bool,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let secret = flow
        .secret
        .as_ref()
        .map(|s| s.expose().clone())
        .unwrap_or_default();
    let mut basic = None;
    match flow.method {
        "client_secret_basic" => {
            // RFC 6749 §2.3.1: form-encoded id and secret, then base64.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!("{}:{}", enc(&flow.client_id), enc(&secret));
            basic = Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ));
        }
        "client_secret_post" => {
            token_params.push(("client_id", flow.client_id.clone()));
            token_params.push(("client_secret", secret));
        }
        _ => token_params.push(("client_id", flow.client_id.clone())),
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(token_params.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let params = Params::from_urlencoded(body.as_bytes())
        .map_err(|e| PageError::Server(e.description().to_owned()))?;
    let ip = client_address::of_request(state, req).map(|ip| ip.to_string());
    let answer =
        match clients::authenticate(&state.services, basic.as_deref(), &params, ip, now).await {
            Ok(client) => tokens::exchange(&state.services, &client, &params, now).await,
            Err(e) => Err(e),
        };
    let response = match answer {
        Ok(response) => response,
        Err(OAuthFailure::Refused(e)) => {
            let outcome = Outcome {
                error: Some(format!(
                    "The token endpoint refused: `{}` — {}",
                    e.code(),
                    e.description()
                )),
                ..Outcome::default()
            };
            return Ok(result_page(state, viewer, flow, outcome, refreshed, None));
        }
        Err(OAuthFailure::Internal(detail) | OAuthFailure::Unavailable(detail)) => {
            return Err(PageError::Server(detail))
        }
    };
    let userinfo = match userinfo::claims(&state.services, &response.access_token, now).await {
        Ok(info) => serde_json::to_string_pretty(&info).ok(),
        Err(_) => None,
    };
    let shown = serde_json::json!({
        "token_type": response.token_type,
        "expires_in": response.expires_in,
        "scope": response.scope,
        "access_token": "(decoded below)",
        "id_token": response.id_token.as_ref().map(|_| "(decoded below)"),
        "refresh_token": response.refresh_token.as_ref().map(|_| "(kept by the playground for Refresh)"),
    });
    // What a relying party checks of the ID token besides its signature (OIDC Core
    // §3.1.3.7): issuer, audience, and the nonce it sent (not on a refresh).
    let problems = response
        .id_token
        .as_deref()
        .map(|t| id_token_problems(state, t, flow, refreshed))
        .unwrap_or_default();
    let outcome = Outcome {
        token_response: serde_json::to_string_pretty(&shown).unwrap_or_default(),
        id_token: response
            .id_token
            .as_deref()
            .map(|t| decode(state, t, ID_TOKEN_TYP)),
        access_token: Some(decode(state, &response.access_token, ACCESS_TOKEN_TYP)),
        userinfo,
        error: (!problems.is_empty()).then(|| problems.join(" ")),
    };
    // A refresh token keeps the flow (under a new id) for the Refresh button.
    let kept = match response.refresh_token {
        Some(token) => {
            let id = random::token()?;
            flow.refresh_token = Some(token);
            flow.started_at = now;
            Some(id)
        }
        None => None,
    };
    let page = result_page(state, viewer, flow, outcome, refreshed, kept.clone());
    if let Some(id) = kept {
        let kept_flow = Flow {
            admin_id: flow.admin_id.clone(),
            client_id: flow.client_id.clone(),
            client_name: flow.client_name.clone(),
            secret: flow.secret.take(),
            method: flow.method,
            verifier: String::new(),
            nonce: String::new(),
            scope: flow.scope.clone(),
            started_at: now,
            refresh_token: flow.refresh_token.take(),
        };
        state.playground.put(id, kept_flow, now);
    }
    Ok(page)
}

/// What a token request brought back, for the page.
#[derive(Default)]
struct Outcome {
    token_response: String,
    id_token: Option<DecodedToken>,
    access_token: Option<DecodedToken>,
    userinfo: Option<String>,
    error: Option<String>,
}

fn result_page(
    state: &AppState,
    viewer: &Viewer,
    flow: &Flow,
    outcome: Outcome,
    refreshed: bool,
    kept_as: Option<String>,
) -> HttpResponse {
    pages::render_app(
        StatusCode::OK,
        &PlaygroundResultPage {
            chrome: viewer.chrome(state, "playground", None),
            client_name: flow.client_name.clone(),
            token_response: outcome.token_response,
            id_token: outcome.id_token,
            access_token: outcome.access_token,
            userinfo: outcome.userinfo,
            can_refresh: kept_as.is_some(),
            refreshed,
            flow: kept_as.unwrap_or_default(),
            error: outcome.error,
        },
    )
}

/// What is wrong with the ID token's `iss`, `aud` and `nonce`, if anything.
fn id_token_problems(state: &AppState, token: &str, flow: &Flow, refreshed: bool) -> Vec<String> {
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .unwrap_or_default();
    let mut problems = Vec::new();
    if claims["iss"] != state.services.config.issuer.as_str() {
        problems.push("The ID token's `iss` is not this server.".to_owned());
    }
    let aud_ok = match &claims["aud"] {
        serde_json::Value::String(aud) => *aud == flow.client_id,
        serde_json::Value::Array(auds) => auds.iter().any(|a| *a == flow.client_id.as_str()),
        _ => false,
    };
    if !aud_ok {
        problems.push("The ID token's `aud` is not the client.".to_owned());
    }
    if !refreshed && claims["nonce"] != flow.nonce.as_str() {
        problems.push("The ID token's `nonce` is not the one sent.".to_owned());
    }
    problems
}

/// A JWT's header and claims, pretty-printed, and whether its signature verifies
/// against the published keys (the way a resource server would check it).
fn decode(state: &AppState, token: &str, typ: &str) -> DecodedToken {
    let part = |i: usize| {
        token
            .split('.')
            .nth(i)
            .and_then(|p| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(p)
                    .ok()
            })
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| "(not JSON)".to_owned())
    };
    DecodedToken {
        header: part(0),
        claims: part(1),
        verified: state
            .services
            .keys
            .current()
            .verify::<serde_json::Value>(token, typ)
            .is_some(),
    }
}
