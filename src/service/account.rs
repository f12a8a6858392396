//! The signed-in user's own page (`/account`): the apps they allowed, their
//! sessions, their password. Each change is attributed to the user themselves in
//! the audit trail.

use serde::Serialize;

use super::sessions::{check_password, PasswordCheck, SignedIn};
use super::setup::check_new_password;
use super::users;
use super::{Actor, AdminError, Services};
use crate::crypto::Secret;
use crate::store::audit::{self, AuditEvent, AuditKind};
use crate::store::{consents, refresh_tokens, sessions, Store, StoreError};

/// An app the user allowed: its scopes, when, and when it last refreshed its access.
#[derive(Debug, Serialize, Clone)]
pub struct AppAccess {
    pub client_id: String,
    pub client_name: String,
    pub scope: String,
    pub granted_at: i64,
    /// The newest of the consent and the app's last refresh token.
    pub last_used_at: i64,
    /// Whether it holds a live refresh token (access that outlives the session).
    pub offline: bool,
}

/// The apps the user has allowed, most recently used first.
pub async fn apps(store: &Store, user_id: &str, now: i64) -> Result<Vec<AppAccess>, StoreError> {
    let id = user_id.to_owned();
    store
        .run(move |conn| {
            let granted = consents::of_user(conn, &id)?;
            let refreshed = refresh_tokens::last_issued_by_client(conn, &id, now)?;
            let mut apps: Vec<AppAccess> = granted
                .into_iter()
                .map(|c| {
                    let last = refreshed
                        .iter()
                        .find(|(client, _)| *client == c.client_id)
                        .map(|(_, at)| *at);
                    AppAccess {
                        last_used_at: last.unwrap_or(c.updated_at).max(c.updated_at),
                        offline: last.is_some(),
                        client_id: c.client_id,
                        client_name: c.client_name,
                        scope: c.scope,
                        granted_at: c.granted_at,
                    }
                })
                .collect();
            apps.sort_by_key(|a| std::cmp::Reverse(a.last_used_at));
            Ok(apps)
        })
        .await
}

/// Withdraws the user's consent for `client_id`: its refresh tokens (and the access
/// tokens they issued) are revoked at once, and the consent page comes back.
pub async fn revoke_app(
    store: &Store,
    user_id: &str,
    client_id: &str,
    now: i64,
) -> Result<users::ConsentRevoked, AdminError> {
    users::revoke_consent(store, user_id, client_id, &Actor(user_id.to_owned()), now).await
}

/// Ends every session of the user but this one ("sign out everywhere else").
pub async fn end_other_sessions(
    store: &Store,
    signed_in: &SignedIn,
    now: i64,
) -> Result<usize, StoreError> {
    let (user_id, keep) = (signed_in.user.id.clone(), signed_in.session.id_hash.clone());
    let (ended, event) = store
        .transaction(move |conn| {
            let ended = sessions::end_others_of_user(conn, &user_id, &keep, now)?;
            let event = AuditEvent::new(AuditKind::SessionsEnded)
                .actor(&user_id)
                .user(&user_id)
                .detail(serde_json::json!({ "ended": ended, "kept_current": true }));
            event.record(conn, now)?;
            Ok((ended, event))
        })
        .await?;
    audit::log(&event);
    Ok(ended)
}

/// A password change as the user typed it.
pub struct PasswordChange {
    pub current: Secret<String>,
    pub new: Secret<String>,
    pub confirm: Secret<String>,
}

/// Changes the user's own password after checking the current one, throttled as a
/// sign-in (a wrong one is refused on the `current_password` field and recorded). Other sessions stay: the page
/// offers "sign out everywhere else" next to it.
pub async fn change_password(
    services: &Services,
    signed_in: &SignedIn,
    change: PasswordChange,
    ip: Option<String>,
    now: i64,
) -> Result<(), AdminError> {
    check_new_password(
        "new_password",
        &change.new,
        "new_password_confirm",
        &change.confirm,
    )?;
    match check_password(services, &signed_in.user, change.current, ip, now).await? {
        PasswordCheck::Right => {}
        PasswordCheck::Wrong => {
            return Err(AdminError::field(
                "current_password",
                "this is not your current password",
            ))
        }
        PasswordCheck::Busy => {
            return Err(AdminError::field(
                "current_password",
                "the server is busy checking passwords; try again in a moment",
            ))
        }
    }
    let id = signed_in.user.id.clone();
    users::set_password(
        &services.store,
        &services.config.argon2,
        &id,
        change.new,
        &Actor(id.clone()),
        now,
    )
    .await?;
    Ok(())
}
