//! Users: the lifecycle an admin drives — create, show, update, disable, enable,
//! delete, unlock, set a password — and their consents.

use serde::Serialize;

use super::{Actor, AdminError};
use crate::config::Argon2Params;
use crate::crypto::{password, random, Secret};
use crate::protocol::login::{self, Throttle};
use crate::store::audit::{self, AuditEvent, AuditKind};
use crate::store::users::{self, NewUser, ProfileUpdate, UserRow};
use crate::store::{
    consents, login_throttles, refresh_tokens, sessions, DbConn, Store, StoreError,
};

/// A user as an admin asks for it.
#[derive(Debug)]
pub struct UserInput {
    pub username: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub is_admin: bool,
    pub password: Secret<String>,
}

/// A user as shown to admins (`user show --json`): never the password hash.
#[derive(Debug, Serialize, PartialEq, Eq, Clone)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub admin: bool,
    pub disabled: bool,
    /// While a sign-in lock holds — for one client address
    /// (`protocol::login::PER_ADDRESS`) or for all (`PER_ACCOUNT`) — until when the
    /// last one ends.
    pub locked_until: Option<i64>,
    /// Recent failed sign-ins from all addresses (decaying: `protocol::login`).
    pub failed_login_count: i32,
    /// Released with the `roles` scope as the `roles` claim.
    pub roles: Vec<String>,
    /// Released with the `roles` scope as the `groups` claim.
    pub groups: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl UserView {
    /// The view of `u`, whose failure counters (by client address) are `counters`.
    pub fn of(u: &UserRow, counters: &[(String, Throttle)], now: i64) -> UserView {
        let limit = |address: &str| {
            if address == login::ANY_ADDRESS {
                login::PER_ACCOUNT
            } else {
                login::PER_ADDRESS
            }
        };
        let locked_until = counters
            .iter()
            .filter_map(|(address, t)| t.locked_until(limit(address)))
            .filter(|&until| until > now)
            .max();
        let failures = counters
            .iter()
            .find(|(address, _)| address == login::ANY_ADDRESS)
            .map_or(0, |(_, t)| t.decayed(now));
        UserView {
            id: u.id.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            email_verified: u.email_verified,
            name: u.name.clone(),
            admin: u.is_admin,
            disabled: u.disabled,
            locked_until,
            failed_login_count: failures,
            // Corrupt names show as none here; token issuance refuses them (`facts`).
            roles: u.role_names().unwrap_or_default(),
            groups: u.groups().unwrap_or_default(),
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// Checks the input, hashes the password (argon2id, on the blocking pool) and
/// stores the user with an audit event, in one transaction.
pub async fn create(
    store: &Store,
    argon2: &Argon2Params,
    input: UserInput,
    actor: &Actor,
    now: i64,
) -> Result<UserView, AdminError> {
    let username = input.username.trim().to_owned();
    check_username(&username)?;
    let email = non_empty(input.email);
    if let Some(email) = &email {
        check_email(email)?;
    }
    let name = non_empty(input.name);
    if let Some(name) = &name {
        check_name(name)?;
    }
    let password_hash = hash_password(argon2, input.password).await?;
    let id = random::uuid_v4()?;
    let is_admin = input.is_admin;
    let event = AuditEvent::new(AuditKind::UserCreated)
        .actor(actor.as_str())
        .user(&id)
        .detail(serde_json::json!({ "username": username, "admin": is_admin }));
    let logged = event.clone();
    let taken = username.clone();
    let row = store
        .transaction(move |conn| {
            let key = users::username_key(&username);
            users::insert(
                conn,
                &NewUser {
                    id: &id,
                    username: &username,
                    username_key: &key,
                    email: email.as_deref(),
                    name: name.as_deref(),
                    password_hash: &password_hash,
                    is_admin,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            event.record(conn, now)?;
            found(users::find(conn, &id)?)
        })
        .await
        .map_err(|e| {
            if e.is_unique_violation() {
                AdminError::field(
                    "username",
                    format!("the username `{taken}` is already taken"),
                )
            } else {
                AdminError::Store(e)
            }
        })?;
    audit::log(&logged);
    Ok(UserView::of(&row, &[], now))
}

/// A row just written must be there.
fn found<T>(row: Option<T>) -> Result<T, StoreError> {
    row.ok_or_else(|| StoreError::Corrupt("a row just written is missing".into()))
}

/// argon2id on the blocking pool (a hash takes tens of milliseconds), without
/// holding a database connection meanwhile.
pub(crate) async fn hash_password(
    argon2: &Argon2Params,
    password: Secret<String>,
) -> Result<String, AdminError> {
    if password.expose().is_empty() {
        return Err(AdminError::field(
            "password",
            "the password must not be empty",
        ));
    }
    let argon2 = *argon2;
    tokio::task::spawn_blocking(move || password::hash(&argon2, &password))
        .await
        .map_err(|e| StoreError::Blocking(e.to_string()))?
        .map_err(AdminError::from)
}

/// Every user, oldest first.
pub async fn list(store: &Store, now: i64) -> Result<Vec<UserView>, AdminError> {
    Ok(store
        .run(move |conn| {
            let rows = users::list(conn)?;
            let mut counters = login_throttles::all(conn)?;
            Ok(rows
                .iter()
                .map(|u| {
                    let mine = counters.remove(&u.username_key).unwrap_or_default();
                    UserView::of(u, &mine, now)
                })
                .collect())
        })
        .await?)
}

/// The user named by id or username.
pub async fn show(store: &Store, user: &str, now: i64) -> Result<UserView, AdminError> {
    let row = find(store, user).await?;
    let key = row.username_key.clone();
    let counters = store
        .run(move |conn| login_throttles::of_username(conn, &key))
        .await?;
    Ok(UserView::of(&row, &counters, now))
}

async fn find(store: &Store, user: &str) -> Result<UserRow, AdminError> {
    let lookup = user.to_owned();
    store
        .run(move |conn| users::find_by_id_or_username(conn, &lookup))
        .await?
        .ok_or_else(|| not_found(user))
}

fn not_found(user: &str) -> AdminError {
    AdminError::NotFound(format!("no user `{user}`"))
}

/// One admin change to the user named `user`: `write` changes the row (by id) in a
/// transaction and says what happened, or `None` when the row is gone; the event
/// is recorded in that transaction, logged after it, and the user shown as it is now.
async fn apply_change<F>(
    store: &Store,
    user: &str,
    now: i64,
    write: F,
) -> Result<UserView, AdminError>
where
    F: FnOnce(&mut DbConn, &str) -> Result<Option<AuditEvent>, StoreError> + Send + 'static,
{
    let id = find(store, user).await?.id;
    let (row, event) = store
        .transaction(move |conn| {
            let Some(event) = write(conn, &id)? else {
                return Ok(None);
            };
            event.record(conn, now)?;
            let Some(row) = users::find(conn, &id)? else {
                return Ok(None);
            };
            let counters = login_throttles::of_username(conn, &row.username_key)?;
            Ok(Some((UserView::of(&row, &counters, now), event)))
        })
        .await?
        .ok_or_else(|| not_found(user))?;
    audit::log(&event);
    Ok(row)
}

/// Which list of names a [`change_names`] edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameList {
    Roles,
    Groups,
}

/// Adds and removes roles or groups of a user (removals first; adding one the user
/// has, or removing one they lack, changes nothing). Names are 1 to 64 characters
/// of letters, digits and `.`, `_`, `-`, `:`, `/` — they end up in tokens that APIs
/// compare as strings. Records `user.updated` with what changed.
pub async fn change_names(
    store: &Store,
    user: &str,
    list: NameList,
    add: Vec<String>,
    remove: Vec<String>,
    actor: &Actor,
    now: i64,
) -> Result<UserView, AdminError> {
    for name in add.iter().chain(&remove) {
        check_role_name(name)?;
    }
    let actor = actor.clone();
    apply_change(store, user, now, move |conn, id| {
        let Some(row) = users::find(conn, id)? else {
            return Ok(None);
        };
        let (mut roles, mut groups) = (row.role_names()?, row.groups()?);
        let names = match list {
            NameList::Roles => &mut roles,
            NameList::Groups => &mut groups,
        };
        names.retain(|n| !remove.contains(n));
        for name in &add {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names.sort_unstable();
        let now_names = names.clone();
        if !users::set_roles_and_groups(conn, id, &roles, &groups, now)? {
            return Ok(None);
        }
        let key = match list {
            NameList::Roles => "roles",
            NameList::Groups => "groups",
        };
        Ok(Some(
            AuditEvent::new(AuditKind::UserUpdated)
                .actor(actor.as_str())
                .user(id)
                .detail(serde_json::json!({
                    key: { "added": add, "removed": remove, "now": now_names }
                })),
        ))
    })
    .await
}

/// Checks role or group names before anything is saved (the admin UI edits the
/// profile and the names in one form).
pub fn check_names(list: NameList, names: &[String]) -> Result<(), AdminError> {
    let field = match list {
        NameList::Roles => "roles",
        NameList::Groups => "groups",
    };
    names.iter().try_for_each(|name| {
        check_role_name(name).map_err(|e| AdminError::field(field, e.to_string()))
    })
}

fn check_role_name(name: &str) -> Result<(), AdminError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:/".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AdminError::Invalid(format!(
            "`{name}` is not a role or group name (1 to 64 letters, digits, `.`, `_`, `-`, `:`, `/`)"
        )))
    }
}

/// Forgets the failed sign-ins of user `id` at every address.
fn forget_failures(conn: &mut DbConn, id: &str) -> Result<(), StoreError> {
    users::clear_failed_logins(conn, id)?;
    if let Some(row) = users::find(conn, id)? {
        login_throttles::clear_all(conn, &row.username_key)?;
    }
    Ok(())
}

/// What an admin changes about a user; `None` keeps the value, `Some("")` clears
/// an email or a name.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    pub email: Option<String>,
    pub name: Option<String>,
    pub admin: Option<bool>,
}

/// Changes the profile. A new email address is not verified.
pub async fn update(
    store: &Store,
    user: &str,
    change: UserUpdate,
    actor: &Actor,
    now: i64,
) -> Result<UserView, AdminError> {
    let current = find(store, user).await?;
    let email = match change.email.clone() {
        Some(e) => non_empty(Some(e)),
        None => current.email.clone(),
    };
    if let Some(email) = &email {
        check_email(email)?;
    }
    let name = match change.name.clone() {
        Some(n) => non_empty(Some(n)),
        None => current.name.clone(),
    };
    if let Some(name) = &name {
        check_name(name)?;
    }
    let email_verified = current.email_verified && email == current.email;
    let is_admin = change.admin.unwrap_or(current.is_admin);
    let changed: Vec<&str> = [
        (change.email.is_some(), "email"),
        (change.name.is_some(), "name"),
        (change.admin.is_some(), "admin"),
    ]
    .into_iter()
    .filter_map(|(set, field)| set.then_some(field))
    .collect();
    let event = AuditEvent::new(AuditKind::UserUpdated)
        .actor(actor.as_str())
        .user(&current.id)
        .detail(serde_json::json!({ "changed": changed, "admin": is_admin }));
    apply_change(store, &current.id, now, move |conn, id| {
        let profile = ProfileUpdate {
            email: email.as_deref(),
            email_verified,
            name: name.as_deref(),
            is_admin,
        };
        Ok(users::update_profile(conn, id, &profile, now)?.then_some(event))
    })
    .await
}

/// Disables the user: every session ends and every refresh family is revoked with
/// its access tokens; access tokens fail at introspection and UserInfo at once.
pub async fn disable(
    store: &Store,
    user: &str,
    actor: &Actor,
    now: i64,
) -> Result<UserView, AdminError> {
    set_disabled(store, user, true, actor, now).await
}

/// Enables the user again; what was revoked stays revoked.
pub async fn enable(
    store: &Store,
    user: &str,
    actor: &Actor,
    now: i64,
) -> Result<UserView, AdminError> {
    set_disabled(store, user, false, actor, now).await
}

async fn set_disabled(
    store: &Store,
    user: &str,
    disabled: bool,
    actor: &Actor,
    now: i64,
) -> Result<UserView, AdminError> {
    let actor = actor.clone();
    apply_change(store, user, now, move |conn, id| {
        if !users::set_disabled(conn, id, disabled, now)? {
            return Ok(None);
        }
        let event = if disabled {
            let ended = sessions::end_all_of_user(conn, id, now)?;
            let revoked = refresh_tokens::revoke_families_of(
                conn,
                Some(id),
                None,
                "the user was disabled",
                now,
            )?;
            AuditEvent::new(AuditKind::UserDisabled).detail(serde_json::json!({
                "ended_sessions": ended,
                "revoked_refresh_token_families": revoked.len(),
            }))
        } else {
            AuditEvent::new(AuditKind::UserEnabled)
        };
        Ok(Some(event.actor(actor.as_str()).user(id)))
    })
    .await
}

/// What a user deletion removed.
#[derive(Debug, Serialize)]
pub struct UserDeleted {
    pub id: String,
    pub username: String,
    pub revoked_refresh_token_families: usize,
}

/// Deletes the user. Refresh families are revoked first (their access tokens are
/// listed as revoked), then sessions, consents, codes and families go with the row.
pub async fn delete(
    store: &Store,
    user: &str,
    actor: &Actor,
    now: i64,
) -> Result<UserDeleted, AdminError> {
    let row = find(store, user).await?;
    let (id, actor) = (row.id.clone(), actor.clone());
    let username = row.username.clone();
    let (revoked, event) = store
        .transaction(move |conn| {
            let revoked = refresh_tokens::revoke_families_of(
                conn,
                Some(&id),
                None,
                "the user was deleted",
                now,
            )?;
            if !users::delete(conn, &id)? {
                return Ok(None);
            }
            let event = AuditEvent::new(AuditKind::UserDeleted)
                .actor(actor.as_str())
                .user(&id)
                .detail(serde_json::json!({
                    "username": username,
                    "revoked_refresh_token_families": revoked.len(),
                }));
            event.record(conn, now)?;
            Ok(Some((revoked.len(), event)))
        })
        .await?
        .ok_or_else(|| not_found(user))?;
    audit::log(&event);
    Ok(UserDeleted {
        id: row.id,
        username: row.username,
        revoked_refresh_token_families: revoked,
    })
}

/// Lifts every lockout of the user (from every address) and forgets the failures:
/// the user can sign in at once.
pub async fn unlock(
    store: &Store,
    user: &str,
    actor: &Actor,
    now: i64,
) -> Result<UserView, AdminError> {
    let actor = actor.clone();
    apply_change(store, user, now, move |conn, id| {
        forget_failures(conn, id)?;
        Ok(Some(
            AuditEvent::new(AuditKind::UserUnlocked)
                .actor(actor.as_str())
                .user(id),
        ))
    })
    .await
}

/// Sets a new password (argon2id) and lifts any lockout. Sessions and tokens stay:
/// `disable` or `end_sessions` end them when the password was compromised.
pub async fn set_password(
    store: &Store,
    argon2: &Argon2Params,
    user: &str,
    password: Secret<String>,
    actor: &Actor,
    now: i64,
) -> Result<UserView, AdminError> {
    find(store, user).await?;
    let hash = hash_password(argon2, password).await?;
    let actor = actor.clone();
    apply_change(store, user, now, move |conn, id| {
        let event = AuditEvent::new(AuditKind::UserPasswordSet)
            .actor(actor.as_str())
            .user(id);
        let changed = users::set_password_hash(conn, id, &hash, now)?;
        forget_failures(conn, id)?;
        Ok(changed.then_some(event))
    })
    .await
}

/// A consent as admins (and the user's account page) see it.
#[derive(Debug, Serialize, Clone)]
pub struct ConsentView {
    pub client_id: String,
    pub client_name: String,
    pub scope: String,
    pub granted_at: i64,
    pub updated_at: i64,
}

/// The clients the user has allowed, with the scopes.
pub async fn consents(store: &Store, user: &str) -> Result<Vec<ConsentView>, AdminError> {
    let id = find(store, user).await?.id;
    let rows = store.run(move |conn| consents::of_user(conn, &id)).await?;
    Ok(rows
        .into_iter()
        .map(|c| ConsentView {
            client_id: c.client_id,
            client_name: c.client_name,
            scope: c.scope,
            granted_at: c.granted_at,
            updated_at: c.updated_at,
        })
        .collect())
}

/// What withdrawing a consent ended.
#[derive(Debug, Serialize)]
pub struct ConsentRevoked {
    pub user_id: String,
    pub client_id: String,
    pub revoked_refresh_token_families: usize,
}

/// Withdraws the user's consent for the client: the consent page comes back on the
/// next request, and the client's refresh families for the user are revoked with
/// their access tokens.
pub async fn revoke_consent(
    store: &Store,
    user: &str,
    client_id: &str,
    actor: &Actor,
    now: i64,
) -> Result<ConsentRevoked, AdminError> {
    let id = find(store, user).await?.id;
    let (uid, cid, actor) = (id.clone(), client_id.to_owned(), actor.clone());
    let (revoked, event) = store
        .transaction(move |conn| revoke_consent_in(conn, &uid, &cid, &actor, now))
        .await?
        .ok_or_else(|| {
            AdminError::NotFound(format!(
                "user `{user}` has no consent for client `{client_id}`"
            ))
        })?;
    audit::log(&event);
    Ok(ConsentRevoked {
        user_id: id,
        client_id: client_id.to_owned(),
        revoked_refresh_token_families: revoked,
    })
}

fn revoke_consent_in(
    conn: &mut DbConn,
    user_id: &str,
    client_id: &str,
    actor: &Actor,
    now: i64,
) -> Result<Option<(usize, AuditEvent)>, StoreError> {
    if !consents::delete(conn, user_id, client_id)? {
        return Ok(None);
    }
    let revoked = refresh_tokens::revoke_families_of(
        conn,
        Some(user_id),
        Some(client_id),
        "the consent was withdrawn",
        now,
    )?;
    let event = AuditEvent::new(AuditKind::ConsentRevoked)
        .actor(actor.as_str())
        .user(user_id)
        .client(client_id)
        .detail(serde_json::json!({ "revoked_refresh_token_families": revoked.len() }));
    event.record(conn, now)?;
    Ok(Some((revoked.len(), event)))
}

/// A live session as admins see it (never its cookie value or hash).
#[derive(Debug, Serialize, Clone)]
pub struct SessionView {
    pub sid: String,
    pub auth_time: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

/// The user's live sessions, newest first.
pub async fn sessions(store: &Store, user: &str, now: i64) -> Result<Vec<SessionView>, AdminError> {
    let id = find(store, user).await?.id;
    let rows = store
        .run(move |conn| sessions::live_of_user(conn, &id, now))
        .await?;
    Ok(rows
        .into_iter()
        .map(|s| SessionView {
            sid: s.sid,
            auth_time: s.auth_time,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
        })
        .collect())
}

/// How many sessions an admin ended.
#[derive(Debug, Serialize)]
pub struct SessionsEnded {
    pub user_id: String,
    pub ended: usize,
}

/// Ends every live session of the user: each browser must sign in again.
pub async fn end_sessions(
    store: &Store,
    user: &str,
    actor: &Actor,
    now: i64,
) -> Result<SessionsEnded, AdminError> {
    let id = find(store, user).await?.id;
    let (uid, actor) = (id.clone(), actor.clone());
    let (ended, event) = store
        .transaction(move |conn| {
            let ended = sessions::end_all_of_user(conn, &uid, now)?;
            let event = AuditEvent::new(AuditKind::SessionsEnded)
                .actor(actor.as_str())
                .user(&uid)
                .detail(serde_json::json!({ "ended": ended }));
            event.record(conn, now)?;
            Ok((ended, event))
        })
        .await?;
    audit::log(&event);
    Ok(SessionsEnded { user_id: id, ended })
}

/// Ends one live session of the user (by its public `sid`): that browser must sign
/// in again.
pub async fn end_session(
    store: &Store,
    user: &str,
    sid: &str,
    actor: &Actor,
    now: i64,
) -> Result<SessionsEnded, AdminError> {
    let id = find(store, user).await?.id;
    let (uid, sid_owned, actor) = (id.clone(), sid.to_owned(), actor.clone());
    let event = store
        .transaction(move |conn| {
            if !sessions::end_by_sid(conn, &uid, &sid_owned, now)? {
                return Ok(None);
            }
            let event = AuditEvent::new(AuditKind::SessionsEnded)
                .actor(actor.as_str())
                .user(&uid)
                .detail(serde_json::json!({ "ended": 1, "sid": sid_owned }));
            event.record(conn, now)?;
            Ok(Some(event))
        })
        .await?
        .ok_or_else(|| {
            AdminError::NotFound(format!("user `{user}` has no live session `{sid}`"))
        })?;
    audit::log(&event);
    Ok(SessionsEnded {
        user_id: id,
        ended: 1,
    })
}

/// Display names: at most 200 printable characters.
fn check_name(name: &str) -> Result<(), AdminError> {
    if name.chars().any(char::is_control) || name.chars().count() > 200 {
        return Err(AdminError::field(
            "name",
            "the name must be at most 200 printable characters",
        ));
    }
    Ok(())
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Usernames: 1 to 255 characters, no white space or control characters (they are
/// typed into a login form and shown in the admin UI).
pub(crate) fn check_username(username: &str) -> Result<(), AdminError> {
    let len = username.chars().count();
    if len == 0
        || len > 255
        || username
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AdminError::field(
            "username",
            "the username must be 1 to 255 characters without spaces",
        ));
    }
    Ok(())
}

/// A plausible address: `local@domain`, no spaces, at most 254 characters (RFC 5321 §4.5.3.1.3).
fn check_email(email: &str) -> Result<(), AdminError> {
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.matches('@').count() == 1
        && matches!(email.split_once('@'), Some((local, domain)) if !local.is_empty() && !domain.is_empty());
    if ok {
        Ok(())
    } else {
        Err(AdminError::field(
            "email",
            format!("`{email}` is not an email address"),
        ))
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
