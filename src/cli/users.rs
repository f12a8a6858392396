//! `portcullis user …`

use std::io::BufRead;

use super::{admin_connection, now, print_json, print_line, Failure, UserCreateArgs};
use crate::config::Config;
use crate::crypto::Secret;
use crate::manage::users::{self, UserInput};

/// `user create`: one line of stdin is the password.
pub fn create(config: &Config, args: UserCreateArgs) -> Result<(), Failure> {
    let password = read_password_line(std::io::stdin().lock())?;
    let mut conn = admin_connection(config)?;
    let user = users::create(
        &mut conn,
        &config.argon2,
        UserInput {
            username: args.username,
            email: args.email,
            name: args.name,
            is_admin: args.admin,
            password,
        },
        "cli",
        now(),
    )?;
    if args.json {
        print_json(&user)
    } else {
        let role = if user.admin { "admin " } else { "" };
        print_line(&format!(
            "created {role}user {} (id {})",
            user.username, user.id
        ))?;
        Ok(())
    }
}

/// `user list`
pub fn list(config: &Config, json: bool) -> Result<(), Failure> {
    let mut conn = admin_connection(config)?;
    let all = users::list(&mut conn)?;
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
