//! First-run setup (DESIGN.md §2): on a database without an enabled admin, `serve`
//! offers a one-time link; whoever opens it chooses the first admin's username and
//! password. The token is 256-bit random, stored only as its SHA-256, used once (one
//! conditional UPDATE, in the transaction that creates the admin) and valid for an
//! hour. `user create --admin` stays the scripted way; there is no default password.

use super::sessions::new_session;
use super::users::{check_username, hash_password};
use super::{AdminError, Services};
use crate::crypto::{random, token_hash, Secret};
use crate::store::audit::{self, AuditEvent, AuditKind};
use crate::store::users::{self, NewUser};
use crate::store::{sessions, setup_tokens, task_leases, Store, StoreError};

/// How long a setup link works.
pub const SETUP_LINK_LIFETIME: i64 = 3600;

/// The lease that makes creating the first admin one at a time across instances.
const SETUP_LEASE: &str = "first-admin-setup";
const SETUP_LEASE_SECONDS: i64 = 60;

/// The shortest password the pages accept for a new one (NIST SP 800-63B §5.1.1.2).
pub const MIN_PASSWORD_CHARS: usize = 8;

/// A new setup token when the database has no enabled admin, else `None`. Spent
/// tokens are forgotten on the way.
pub async fn offer(store: &Store, now: i64) -> Result<Option<String>, StoreError> {
    store
        .transaction(move |conn| {
            setup_tokens::delete_spent(conn, now)?;
            if users::has_enabled_admin(conn)? {
                return Ok(None);
            }
            let token = random::token()?;
            setup_tokens::insert(conn, &token_hash(&token), now, now + SETUP_LINK_LIFETIME)?;
            Ok(Some(token))
        })
        .await
}

/// Whether `token` still opens the setup form: unused, unexpired, and no admin yet.
pub async fn is_open(store: &Store, token: &str, now: i64) -> Result<bool, StoreError> {
    let hash = token_hash(token);
    store
        .run(move |conn| {
            Ok(setup_tokens::is_usable(conn, &hash, now)? && !users::has_enabled_admin(conn)?)
        })
        .await
}

/// What the first admin typed.
pub struct FirstAdmin {
    pub username: String,
    pub password: Secret<String>,
    pub password_confirm: Secret<String>,
}

/// Why the setup did not create an admin.
#[derive(Debug)]
pub enum SetupRefused {
    /// The link is unknown, used or expired, or an admin exists: nothing changed.
    LinkNotValid,
    /// A field breaks a rule (`AdminError::InvalidField`) or the server failed.
    Admin(AdminError),
}

impl From<StoreError> for SetupRefused {
    fn from(e: StoreError) -> Self {
        SetupRefused::Admin(AdminError::Store(e))
    }
}

impl From<AdminError> for SetupRefused {
    fn from(e: AdminError) -> Self {
        SetupRefused::Admin(e)
    }
}

/// Checks a new password the user chose twice.
pub fn check_new_password(
    field: &'static str,
    password: &Secret<String>,
    confirm_field: &'static str,
    confirm: &Secret<String>,
) -> Result<(), AdminError> {
    let chars = password.expose().chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(AdminError::field(
            field,
            format!("the password must have at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if chars > 1024 || password.expose().chars().any(char::is_control) {
        return Err(AdminError::field(
            field,
            "the password must be at most 1024 characters that can be typed",
        ));
    }
    if password.expose() != confirm.expose() {
        return Err(AdminError::field(confirm_field, "the two passwords differ"));
    }
    Ok(())
}

/// Creates the first admin with `token`, uses the token up and starts a session for
/// them, in one transaction; returns the session's cookie value.
pub async fn complete(
    services: &Services,
    token: &str,
    admin: FirstAdmin,
    ip: Option<String>,
    now: i64,
) -> Result<String, SetupRefused> {
    if !is_open(&services.store, token, now).await? {
        return Err(SetupRefused::LinkNotValid);
    }
    let username = admin.username.trim().to_owned();
    check_username(&username)?;
    check_new_password(
        "password",
        &admin.password,
        "password_confirm",
        &admin.password_confirm,
    )?;
    let password_hash = hash_password(&services.config.argon2, admin.password).await?;
    let id = random::uuid_v4().map_err(AdminError::from)?;
    let (session_id, session) = new_session(&id, services.config.lifetimes, now)?;
    let created = AuditEvent::new(AuditKind::UserCreated)
        .actor("setup")
        .user(&id)
        .detail(serde_json::json!({ "username": username, "admin": true }));
    let signed_in = AuditEvent::new(AuditKind::LoginSucceeded)
        .user(&id)
        .ip(ip.as_deref())
        .detail(serde_json::json!({ "sid": session.sid, "amr": ["pwd"] }));
    let events = vec![created, signed_in];
    let recorded = events.clone();
    let hash = token_hash(token);
    let done = services
        .store
        .transaction(move |conn| {
            // One first admin, even when two instances' links are used at once on
            // Postgres: whoever claims this lease first goes on, the other waits for
            // its commit and finds the lease taken.
            if !task_leases::claim(conn, SETUP_LEASE, &hash, now, SETUP_LEASE_SECONDS)?
                || users::has_enabled_admin(conn)?
                || !setup_tokens::use_up(conn, &hash, now)?
            {
                return Ok(false);
            }
            let key = users::username_key(&username);
            users::insert(
                conn,
                &NewUser {
                    id: &id,
                    username: &username,
                    username_key: &key,
                    email: None,
                    name: None,
                    password_hash: &password_hash,
                    is_admin: true,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            sessions::insert(conn, &session)?;
            for event in &recorded {
                event.record(conn, now)?;
            }
            Ok(true)
        })
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                SetupRefused::Admin(AdminError::field(
                    "username",
                    "that username is already taken",
                ))
            } else {
                SetupRefused::from(e)
            }
        })?;
    if !done {
        return Err(SetupRefused::LinkNotValid);
    }
    audit::log_all(&events);
    Ok(session_id)
}
