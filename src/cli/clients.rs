//! `portcullis client …`

use serde::Serialize;

use super::{admin_connection, now, print_json, print_line, ClientCreateArgs, Failure};
use crate::config::Config;
use crate::manage::clients::{self, ClientView};
use crate::protocol::client_metadata::ClientRegistration;

/// `client create --json`: RFC 7591 §3.2.1's response.
#[derive(Serialize)]
struct Created<'a> {
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
    for (flag, alg) in [
        ("--access-token-signing-alg", &args.access_token_signing_alg),
        (
            "--id-token-signed-response-alg",
            &args.id_token_signed_response_alg,
        ),
    ] {
        if let Some(alg) = alg {
            if !config.keys.algs.iter().any(|a| a.as_str() == alg) {
                return Err(Failure::usage(format!(
                    "{flag} {alg} is not in signing_algs"
                )));
            }
        }
    }
    let mut conn = admin_connection(config)?;
    let registered = clients::register(
        &mut conn,
        ClientRegistration {
            name: args.name,
            redirect_uris: args.redirect_uris,
            post_logout_redirect_uris: args.post_logout_redirect_uris,
            grant_types: args.grant_types,
            scope: args.scope,
            public: args.public,
            token_endpoint_auth_method: args.token_endpoint_auth_method,
            access_token_signing_alg: args.access_token_signing_alg,
            id_token_signed_response_alg: args.id_token_signed_response_alg,
        },
        "cli",
        now(),
    )?;
    let view = &registered.view;
    let secret = registered.secret.as_ref().map(|s| s.expose().as_str());
    if args.json {
        return print_json(&Created {
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
    let mut conn = admin_connection(config)?;
    let all = clients::list(&mut conn)?;
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
