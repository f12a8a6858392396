//! Creating and listing users.

use serde::Serialize;

use super::ManageError;
use crate::config::Argon2Params;
use crate::crypto::{password, random, Secret};
use crate::store::audit::{self, AuditEvent};
use crate::store::users::{self, NewUser, UserRow};
use crate::store::DbConn;

/// A user as an admin asks for it.
#[derive(Debug)]
pub struct UserInput {
    pub username: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub is_admin: bool,
    pub password: Secret<String>,
}

/// A user as shown to admins (`user list --json`): never the password hash.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub admin: bool,
    pub disabled: bool,
    pub created_at: i64,
}

impl From<UserRow> for UserView {
    fn from(u: UserRow) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            email: u.email,
            email_verified: u.email_verified,
            name: u.name,
            admin: u.is_admin,
            disabled: u.disabled,
            created_at: u.created_at,
        }
    }
}

/// Checks the input, hashes the password (argon2id) and stores the user with an
/// audit event, in one transaction.
pub fn create(
    conn: &mut DbConn,
    argon2: &Argon2Params,
    input: UserInput,
    actor: &str,
    now: i64,
) -> Result<UserView, ManageError> {
    let username = input.username.trim().to_owned();
    check_username(&username)?;
    let email = non_empty(input.email);
    if let Some(email) = &email {
        check_email(email)?;
    }
    let name = non_empty(input.name);
    if let Some(name) = &name {
        if name.chars().any(char::is_control) || name.chars().count() > 200 {
            return Err(ManageError::Invalid(
                "the name must be at most 200 printable characters".to_owned(),
            ));
        }
    }
    if input.password.expose().is_empty() {
        return Err(ManageError::Invalid(
            "the password must not be empty".to_owned(),
        ));
    }
    let password_hash = password::hash(argon2, &input.password)?;
    let id = random::uuid_v4()?;
    let key = users::username_key(&username);
    let new = NewUser {
        id: &id,
        username: &username,
        username_key: &key,
        email: email.as_deref(),
        name: name.as_deref(),
        password_hash: &password_hash,
        is_admin: input.is_admin,
        created_at: now,
        updated_at: now,
    };
    let event = AuditEvent {
        kind: "user.created",
        actor: Some(actor),
        user_id: Some(&id),
        client_id: None,
        ip: None,
        detail: serde_json::json!({ "username": username, "admin": input.is_admin }),
    };
    conn.transaction(|conn| {
        users::insert(conn, &new)?;
        audit::record(conn, &event, now)
    })
    .map_err(|e| {
        if e.is_unique_violation() {
            ManageError::Conflict(format!("the username `{username}` is already taken"))
        } else {
            ManageError::Store(e)
        }
    })?;
    audit::log(&event);
    Ok(UserView {
        id,
        username,
        email,
        email_verified: false,
        name,
        admin: input.is_admin,
        disabled: false,
        created_at: now,
    })
}

/// Every user.
pub fn list(conn: &mut DbConn) -> Result<Vec<UserView>, ManageError> {
    Ok(users::list(conn)?.into_iter().map(UserView::from).collect())
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Usernames: 1 to 255 characters, no white space or control characters (they are
/// typed into a login form and shown in the admin UI).
fn check_username(username: &str) -> Result<(), ManageError> {
    let len = username.chars().count();
    if len == 0
        || len > 255
        || username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ManageError::Invalid(
            "the username must be 1 to 255 characters without spaces".to_owned(),
        ));
    }
    Ok(())
}

/// A plausible address: `local@domain`, no spaces, at most 254 characters (RFC 5321 §4.5.3.1.3).
fn check_email(email: &str) -> Result<(), ManageError> {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.matches('@').count() == 1
        && matches!(email.split_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty());
    if ok {
        Ok(())
    } else {
        Err(ManageError::Invalid(format!(
            "`{email}` is not an email address"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_rules() {
        assert!(check_username("alice").is_ok());
        assert!(check_username("alice@example.com").is_ok());
        assert!(check_username("").is_err());
        assert!(check_username("al ice").is_err());
        assert!(check_username(&"a".repeat(256)).is_err());
    }

    #[test]
    fn email_rules() {
        assert!(check_email("a@example.com").is_ok());
        for bad in ["a", "@example.com", "a@", "a b@example.com", "a@b@c"] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }
}
