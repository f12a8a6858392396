//! `portcullis user …`: each command is one operation of
//! [`service::users`](crate::service::users).

use std::io::BufRead;

use super::{
    now, operate, print_either, print_json, print_line, Failure, UserCommand, UserCreateArgs,
    UserNamesArgs, UserUpdateArgs,
};
use crate::config::Config;
use crate::crypto::Secret;
use crate::service::users::{self, UserInput, UserUpdate, UserView};
use crate::service::Actor;

/// Runs one `user` command.
pub fn run(config: &Config, command: UserCommand) -> Result<(), Failure> {
    let cli = Actor::cli();
    match command {
        UserCommand::Create(args) => create(config, args),
        UserCommand::List { json } => list(config, json),
        UserCommand::Show(t) => {
            let user = operate(
                config,
                |s| async move { users::show(&s, &t.user, now()).await },
            )?;
            print_either(t.json, &user, &describe(&user))
        }
        UserCommand::Update(args) => update(config, args),
        UserCommand::Disable(t) => {
            let user = operate(config, |s| async move {
                users::disable(&s, &t.user, &cli, now()).await
            })?;
            print_either(
                t.json,
                &user,
                &[format!(
                    "disabled user {}: sessions ended, refresh tokens revoked",
                    user.username
                )],
            )
        }
        UserCommand::Enable(t) => {
            let user = operate(config, |s| async move {
                users::enable(&s, &t.user, &cli, now()).await
            })?;
            print_either(t.json, &user, &[format!("enabled user {}", user.username)])
        }
        UserCommand::Delete(t) => {
            let deleted = operate(config, |s| async move {
                users::delete(&s, &t.user, &cli, now()).await
            })?;
            print_either(
                t.json,
                &deleted,
                &[format!(
                    "deleted user {} (id {}; {} refresh-token families revoked)",
                    deleted.username, deleted.id, deleted.revoked_refresh_token_families
                )],
            )
        }
        UserCommand::Unlock(t) => {
            let user = operate(config, |s| async move {
                users::unlock(&s, &t.user, &cli, now()).await
            })?;
            print_either(
                t.json,
                &user,
                &[format!(
                    "unlocked user {}: they can sign in now",
                    user.username
                )],
            )
        }
        UserCommand::Roles(args) => names(config, users::NameList::Roles, args),
        UserCommand::Groups(args) => names(config, users::NameList::Groups, args),
        UserCommand::SetPassword(args) => {
            let password = read_password_line(std::io::stdin().lock())?;
            let argon2 = config.argon2;
            let user = operate(config, |s| async move {
                users::set_password(&s, &argon2, &args.user, password, &cli, now()).await
            })?;
            print_either(
                args.json,
                &user,
                &[format!("set a new password for user {}", user.username)],
            )
        }
        UserCommand::Consents(t) => {
            let consents = operate(
                config,
                |s| async move { users::consents(&s, &t.user).await },
            )?;
            let mut text = vec![format!("{:<22}  {:<24}  SCOPE", "CLIENT ID", "NAME")];
            text.extend(
                consents
                    .iter()
                    .map(|c| format!("{:<22}  {:<24}  {}", c.client_id, c.client_name, c.scope)),
            );
            print_either(t.json, &consents, &text)
        }
        UserCommand::RevokeConsent(t) => {
            let revoked = operate(config, |s| async move {
                users::revoke_consent(&s, &t.user, &t.client, &cli, now()).await
            })?;
            print_either(
                t.json,
                &revoked,
                &[format!(
                    "withdrew the consent of user {} for client {} ({} refresh-token families revoked)",
                    revoked.user_id, revoked.client_id, revoked.revoked_refresh_token_families
                )],
            )
        }
        UserCommand::Sessions(t) => {
            let sessions = operate(config, |s| async move {
                users::sessions(&s, &t.user, now()).await
            })?;
            let time = |at| super::keys::time(Some(at));
            let mut text = vec![format!(
                "{:<22}  {:<20}  {:<20}  EXPIRES",
                "SID", "SIGNED IN", "LAST SEEN"
            )];
            text.extend(sessions.iter().map(|s| {
                format!(
                    "{:<22}  {:<20}  {:<20}  {}",
                    s.sid,
                    time(s.auth_time),
                    time(s.last_seen_at),
                    time(s.expires_at)
                )
            }));
            print_either(t.json, &sessions, &text)
        }
        UserCommand::EndSessions(t) => {
            let ended = operate(config, |s| async move {
                users::end_sessions(&s, &t.user, &cli, now()).await
            })?;
            print_either(
                t.json,
                &serde_json::json!({ "user_id": ended.user_id, "ended": ended.ended }),
                &[format!("ended {} session(s)", ended.ended)],
            )
        }
    }
}

/// `user roles|groups`: one change, then the user's names as they are now.
fn names(config: &Config, list: users::NameList, args: UserNamesArgs) -> Result<(), Failure> {
    let cli = Actor::cli();
    let UserNamesArgs {
        user,
        add,
        remove,
        json,
    } = args;
    let shown = operate(config, |s| async move {
        users::change_names(&s, &user, list, add, remove, &cli, now()).await
    })?;
    let (what, names) = match list {
        users::NameList::Roles => ("roles", &shown.roles),
        users::NameList::Groups => ("groups", &shown.groups),
    };
    print_either(
        json,
        &shown,
        &[format!(
            "{what} of user {}: {}",
            shown.username,
            listed(names)
        )],
    )
}

/// Names separated by spaces, or `-` for none.
fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "-".to_owned()
    } else {
        names.join(" ")
    }
}

/// The human form of one user.
fn describe(u: &UserView) -> Vec<String> {
    let mut flags = Vec::new();
    if u.admin {
        flags.push("admin");
    }
    if u.disabled {
        flags.push("disabled");
    }
    if u.locked_until.is_some() {
        flags.push("locked");
    }
    vec![
        format!("id:        {}", u.id),
        format!("username:  {}", u.username),
        format!("email:     {}", u.email.as_deref().unwrap_or("-")),
        format!("name:      {}", u.name.as_deref().unwrap_or("-")),
        format!("roles:     {}", listed(&u.roles)),
        format!("groups:    {}", listed(&u.groups)),
        format!(
            "flags:     {}",
            if flags.is_empty() {
                "-".to_owned()
            } else {
                flags.join(",")
            }
        ),
    ]
}

/// `user create`: one line of stdin is the password.
pub fn create(config: &Config, args: UserCreateArgs) -> Result<(), Failure> {
    let password = read_password_line(std::io::stdin().lock())?;
    let argon2 = config.argon2;
    let input = UserInput {
        username: args.username,
        email: args.email,
        name: args.name,
        is_admin: args.admin,
        password,
    };
    let user = operate(config, |s| async move {
        users::create(&s, &argon2, input, &Actor::cli(), now()).await
    })?;
    let role = if user.admin { "admin " } else { "" };
    print_either(
        args.json,
        &user,
        &[format!(
            "created {role}user {} (id {})",
            user.username, user.id
        )],
    )
}

/// `user update USER …`
fn update(config: &Config, args: UserUpdateArgs) -> Result<(), Failure> {
    let change = UserUpdate {
        email: args.email,
        name: args.name,
        admin: args.admin,
    };
    let target = args.user;
    let user = operate(config, |s| async move {
        users::update(&s, &target, change, &Actor::cli(), now()).await
    })?;
    let mut text = vec![format!("updated user {}", user.username)];
    text.extend(describe(&user));
    print_either(args.json, &user, &text)
}

/// `user list`
pub fn list(config: &Config, json: bool) -> Result<(), Failure> {
    let all = operate(config, |s| async move { users::list(&s, now()).await })?;
    if json {
        return print_json(&all);
    }
    print_line(&format!(
        "{:<36}  {:<24}  {:<32}  FLAGS",
        "ID", "USERNAME", "EMAIL"
    ))?;
    for u in all {
        let flags = [(u.admin, "admin"), (u.disabled, "disabled")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, f)| *f)
            .collect::<Vec<_>>()
            .join(",");
        print_line(&format!(
            "{:<36}  {:<24}  {:<32}  {flags}",
            u.id,
            u.username,
            u.email.as_deref().unwrap_or("-")
        ))?;
    }
    Ok(())
}

/// One line, without its line ending (`\n` or `\r\n`).
fn read_password_line(mut input: impl BufRead) -> Result<Secret<String>, Failure> {
    let mut line = String::new();
    let read = input.read_line(&mut line).map_err(|e| {
        Failure::failed(format!("cannot read the password from standard input: {e}"))
    })?;
    if read == 0 {
        return Err(Failure::failed("no password on standard input"));
    }
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    Ok(Secret::new(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_one_line_ending_only() {
        let read = |s: &str| read_password_line(s.as_bytes()).unwrap().expose().clone();
        assert_eq!(read("pw\n"), "pw");
        assert_eq!(read("pw\r\n"), "pw");
        assert_eq!(read(" pw \nsecond\n"), " pw ");
        assert_eq!(read("no-newline"), "no-newline");
        assert!(read_password_line("".as_bytes()).is_err());
    }
}
