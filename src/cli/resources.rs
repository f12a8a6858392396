//! `portcullis resource …`: each command is one operation of
//! [`service::resources`](crate::service::resources).

use serde::Serialize;

use super::{now, operate, print_either, print_json, Failure, ResourceArgs, ResourceCommand};
use crate::config::Config;
use crate::service::resources::{self, ResourceInput, ResourceView};
use crate::service::Actor;

/// `resource create --json`: the API and its introspection secret, this once.
#[derive(Serialize)]
struct WithSecret<'a> {
    #[serde(flatten)]
    resource: &'a ResourceView,
    secret: &'a str,
}

fn input(args: &ResourceArgs) -> ResourceInput {
    ResourceInput {
        identifier: args.identifier.clone(),
        name: args.name.clone().unwrap_or_else(|| args.identifier.clone()),
        scope: args.scope.clone(),
        clients: args.clients.clone(),
        access_token_lifetime: args.access_token_lifetime,
        signing_alg: args.signing_alg.clone(),
        include_roles: args.roles,
    }
}

fn describe(r: &ResourceView) -> Vec<String> {
    vec![
        format!("id:          {}", r.id),
        format!("identifier:  {}", r.identifier),
        format!("name:        {}", r.name),
        format!("scope:       {}", r.scope),
        format!(
            "clients:     {}",
            if r.clients.is_empty() {
                "-".to_owned()
            } else {
                r.clients.join(" ")
            }
        ),
        format!(
            "lifetime:    {}",
            r.access_token_lifetime
                .map_or("default".to_owned(), |s| format!("{s} s"))
        ),
        format!(
            "signing alg: {}",
            r.signing_alg.as_deref().unwrap_or("default")
        ),
        format!(
            "roles:       {}",
            if r.include_roles {
                "in user access tokens"
            } else {
                "no"
            }
        ),
    ]
}

/// Runs one `resource` command.
pub fn run(config: &Config, command: ResourceCommand) -> Result<(), Failure> {
    let cli = Actor::cli();
    let policy = resources::ResourcePolicy::of(config);
    match command {
        ResourceCommand::Create(args) => {
            let input = input(&args);
            let created = operate(config, |s| async move {
                resources::create(&s, policy, input, &cli, now()).await
            })?;
            if args.json {
                return print_json(&WithSecret {
                    resource: &created.view,
                    secret: created.secret.expose(),
                });
            }
            let mut text = describe(&created.view);
            text.push(format!("secret:      {}", created.secret.expose()));
            text.push(
                "The secret (for the introspection endpoint) is shown this once: store it now."
                    .to_owned(),
            );
            print_either(false, &created.view, &text)
        }
        ResourceCommand::List { json } => {
            let list = operate(config, |s| async move { resources::list(&s).await })?;
            let mut text = vec![format!("{:<22}  {:<40}  SCOPE", "ID", "IDENTIFIER")];
            text.extend(
                list.iter()
                    .map(|r| format!("{:<22}  {:<40}  {}", r.id, r.identifier, r.scope)),
            );
            print_either(json, &list, &text)
        }
        ResourceCommand::Show(t) => {
            let shown = operate(
                config,
                |s| async move { resources::show(&s, &t.resource).await },
            )?;
            print_either(t.json, &shown, &describe(&shown))
        }
        ResourceCommand::Update { resource, args } => {
            let input = input(&args);
            let updated = operate(config, |s| async move {
                resources::update(&s, policy, &resource, input, &cli, now()).await
            })?;
            print_either(args.json, &updated, &describe(&updated))
        }
        ResourceCommand::Delete(t) => {
            let deleted = operate(config, |s| async move {
                resources::delete(&s, &t.resource, &cli, now()).await
            })?;
            print_either(
                t.json,
                &deleted,
                &[format!(
                    "deleted resource {} ({})",
                    deleted.identifier, deleted.id
                )],
            )
        }
    }
}
