//! `portcullis client …`: each command is one operation of
//! [`service::clients`](crate::service::clients).

use serde::Serialize;

use super::{
    now, operate, print_either, print_json, print_line, ClientCreateArgs, ClientRotateArgs,
    ClientTarget, ClientUpdateArgs, Failure,
};
use crate::config::Config;
use crate::protocol::client_metadata::ClientRegistration;
use crate::service::clients::{self, ClientUpdate, ClientView};
use crate::service::Actor;

/// `client create --json`: RFC 7591 §3.2.1's response.
#[derive(Serialize)]
struct WithSecret<'a> {
    #[serde(flatten)]
    metadata: &'a ClientView,
    /// Null for a public client.
    client_secret: Option<&'a str>,
    /// RFC 7591: 0 means the secret does not expire; present when a secret is issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_expires_at: Option<i64>,
}

/// `client create`
pub fn create(config: &Config, args: ClientCreateArgs) -> Result<(), Failure> {
    let registration = ClientRegistration {
        name: args.name,
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        grant_types: args.grant_types,
        scope: args.scope,
        public: args.public,
        token_endpoint_auth_method: args.token_endpoint_auth_method,
        access_token_signing_alg: args.access_token_signing_alg,
        id_token_signed_response_alg: args.id_token_signed_response_alg,
    };
    let algs = config.keys.algs.clone();
    let registered = operate(config, |store| async move {
        clients::register(&store, registration, &algs, &Actor::cli(), now()).await
    })?;
    let view = &registered.view;
    let secret = registered.secret.as_ref().map(|s| s.expose().as_str());
    if args.json {
        return print_json(&WithSecret {
            client_secret: secret,
            client_secret_expires_at: secret.map(|_| 0),
            metadata: view,
        });
    }
    print_line(&format!(
        "created client {} ({})",
        view.client_name, view.token_endpoint_auth_method
    ))?;
    print_line(&format!("client_id:     {}", view.client_id))?;
    match secret {
        Some(s) => {
            print_line(&format!("client_secret: {s}"))?;
            print_line("The secret is shown this once: store it now.")
        }
        None => print_line("client_secret: none (public client)"),
    }
}

/// `client list`
pub fn list(config: &Config, json: bool) -> Result<(), Failure> {
    let all = operate(
        config,
        |store| async move { clients::list(&store, now()).await },
    )?;
    if json {
        return print_json(&all);
    }
    print_line(&format!(
        "{:<22}  {:<24}  {:<20}  GRANT TYPES",
        "CLIENT ID", "NAME", "AUTH METHOD"
    ))?;
    for c in all {
        print_line(&format!(
            "{:<22}  {:<24}  {:<20}  {}{}",
            c.client_id,
            c.client_name,
            c.token_endpoint_auth_method,
            c.grant_types.join(","),
            if c.disabled { " (disabled)" } else { "" }
        ))?;
    }
    Ok(())
}

/// The human form of one client.
fn describe(c: &ClientView) -> Vec<String> {
    let list = |items: &[String]| {
        if items.is_empty() {
            "-".to_owned()
        } else {
            items.join(" ")
        }
    };
    let mut lines = vec![
        format!("client_id:                    {}", c.client_id),
        format!("client_name:                  {}", c.client_name),
        format!(
            "status:                       {}",
            if c.disabled { "disabled" } else { "enabled" }
        ),
        format!(
            "token_endpoint_auth_method:   {}",
            c.token_endpoint_auth_method
        ),
        format!("grant_types:                  {}", c.grant_types.join(" ")),
        format!("scope:                        {}", c.scope),
        format!("redirect_uris:                {}", list(&c.redirect_uris)),
        format!(
            "post_logout_redirect_uris:    {}",
            list(&c.post_logout_redirect_uris)
        ),
        format!(
            "access_token_signing_alg:     {}",
            c.access_token_signing_alg.unwrap_or("(server default)")
        ),
        format!(
            "id_token_signed_response_alg: {}",
            c.id_token_signed_response_alg.unwrap_or("RS256 (default)")
        ),
    ];
    if let Some(at) = c.previous_secret_expires_at {
        lines.push(format!(
            "previous secret works until:  {}",
            super::keys::time(Some(at))
        ));
    }
    lines
}

/// `client show ID`
pub fn show(config: &Config, t: ClientTarget) -> Result<(), Failure> {
    let view = operate(config, |store| async move {
        clients::show(&store, &t.client, now()).await
    })?;
    print_either(t.json, &view, &describe(&view))
}

/// `client update ID …`
pub fn update(config: &Config, args: ClientUpdateArgs) -> Result<(), Failure> {
    let non_empty = |list: Vec<String>| (!list.is_empty()).then_some(list);
    let change = ClientUpdate {
        name: args.name,
        redirect_uris: non_empty(args.redirect_uris),
        post_logout_redirect_uris: non_empty(args.post_logout_redirect_uris),
        grant_types: non_empty(args.grant_types),
        scope: args.scope,
        access_token_signing_alg: args.access_token_signing_alg,
        id_token_signed_response_alg: args.id_token_signed_response_alg,
    };
    let algs = config.keys.algs.clone();
    let id = args.client;
    let view = operate(config, |store| async move {
        clients::update(&store, &id, change, &algs, &Actor::cli(), now()).await
    })?;
    let mut text = vec![format!("updated client {}", view.client_id)];
    text.extend(describe(&view));
    print_either(args.json, &view, &text)
}

/// `client disable ID`
pub fn disable(config: &Config, t: ClientTarget) -> Result<(), Failure> {
    let view = operate(config, |store| async move {
        clients::disable(&store, &t.client, &Actor::cli(), now()).await
    })?;
    print_either(
        t.json,
        &view,
        &[format!(
            "disabled client {}: its refresh tokens are revoked and its access tokens no longer pass",
            view.client_id
        )],
    )
}

/// `client enable ID`
pub fn enable(config: &Config, t: ClientTarget) -> Result<(), Failure> {
    let view = operate(config, |store| async move {
        clients::enable(&store, &t.client, &Actor::cli(), now()).await
    })?;
    print_either(
        t.json,
        &view,
        &[format!("enabled client {}", view.client_id)],
    )
}

/// `client delete ID`
pub fn delete(config: &Config, t: ClientTarget) -> Result<(), Failure> {
    let deleted = operate(config, |store| async move {
        clients::delete(&store, &t.client, &Actor::cli(), now()).await
    })?;
    print_either(
        t.json,
        &deleted,
        &[format!(
            "deleted client {} ({} refresh-token families revoked)",
            deleted.client_id, deleted.revoked_refresh_token_families
        )],
    )
}

/// `client rotate-secret ID --json`: the new secret and when the old one stops.
#[derive(Serialize)]
struct Rotated<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    /// RFC 7591: 0, the new secret does not expire.
    client_secret_expires_at: i64,
    /// When the previous secret stops working.
    previous_secret_expires_at: i64,
}

/// `client rotate-secret ID [--grace DURATION]`
pub fn rotate_secret(config: &Config, args: ClientRotateArgs) -> Result<(), Failure> {
    let grace = parse_grace(&args.grace)?;
    let now = now();
    let id = args.client;
    let rotated = operate(config, |store| async move {
        clients::rotate_secret(&store, &id, grace, &Actor::cli(), now).await
    })?;
    let secret = rotated
        .secret
        .as_ref()
        .map(|s| s.expose().as_str())
        .unwrap_or_default();
    let previous_expires_at = now.saturating_add(grace);
    if args.json {
        return print_json(&Rotated {
            client_id: &rotated.view.client_id,
            client_secret: secret,
            client_secret_expires_at: 0,
            previous_secret_expires_at: previous_expires_at,
        });
    }
    print_line(&format!("client_id:     {}", rotated.view.client_id))?;
    print_line(&format!("client_secret: {secret}"))?;
    print_line("The secret is shown this once: store it now.")?;
    if grace == 0 {
        print_line("The previous secret no longer works.")
    } else {
        print_line(&format!(
            "The previous secret keeps working until {}.",
            super::keys::time(Some(previous_expires_at))
        ))
    }
}

/// A grace period: humantime (`1h`, `30m`, `90s`) or plain seconds.
fn parse_grace(text: &str) -> Result<i64, Failure> {
    let text = text.trim();
    let seconds = match text.parse::<u64>() {
        Ok(n) => n,
        Err(_) => humantime::parse_duration(text)
            .map_err(|e| Failure::usage(format!("--grace {text}: {e}")))?
            .as_secs(),
    };
    i64::try_from(seconds)
        .ok()
        .filter(|&s| s <= 366 * 86_400)
        .ok_or_else(|| Failure::usage(format!("--grace {text}: at most 366 days")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_takes_units_or_plain_seconds() {
        assert_eq!(parse_grace("1h").unwrap(), 3600);
        assert_eq!(parse_grace("90s").unwrap(), 90);
        assert_eq!(parse_grace("0").unwrap(), 0);
        assert_eq!(parse_grace("3600").unwrap(), 3600);
        assert!(parse_grace("soon").is_err());
        assert!(parse_grace("-5").is_err());
        assert!(parse_grace("400d").is_err());
    }
}
