//! The `audit_events` table: security events, also written to the log (target `audit`)
//! once their transaction commits (DESIGN.md §5).

use std::sync::atomic::{AtomicU32, Ordering};

use diesel::prelude::*;
use serde::Serialize;

use super::schema::audit_events;
use super::{DbConn, StoreError};
use crate::crypto::random;
use crate::db_run;

/// Every kind of security event, with the one name it is stored and logged under.
macro_rules! audit_kinds {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)+) => {
        /// What happened. The stored and logged name is [`AuditKind::as_str`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditKind {
            $($(#[$doc])* $variant,)+
        }

        impl AuditKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [AuditKind] = &[$(AuditKind::$variant,)+];

            /// The name stored in `audit_events.kind` and logged as `kind`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditKind::$variant => $name,)+
                }
            }
        }
    };
}

audit_kinds! {
    /// A user signed in (password).
    LoginSucceeded => "login.succeeded",
    /// A sign-in failed: unknown user, wrong password, locked or disabled account.
    LoginFailed => "login.failed",
    /// Too many failures in a row locked the account.
    LoginLocked => "login.locked",
    /// The user allowed a client (new or wider scope).
    ConsentGranted => "consent.granted",
    /// The user denied a client's request.
    ConsentDenied => "consent.denied",
    /// A consent was withdrawn (by an admin or the user).
    ConsentRevoked => "consent.revoked",
    /// An authorization code was issued.
    AuthorizationCodeIssued => "authorization_code.issued",
    /// A used authorization code was presented again; what it issued is revoked.
    AuthorizationCodeReplayed => "authorization_code.replayed",
    /// Tokens were issued at the token endpoint.
    TokenIssued => "token.issued",
    /// A client revoked a token (RFC 7009).
    TokenRevoked => "token.revoked",
    /// A rotated refresh token was presented again: the family is revoked.
    RefreshTokenReused => "refresh_token.reused",
    /// A refresh-token family was revoked for another reason (grant gone, admin action).
    RefreshTokenFamilyRevoked => "refresh_token.family_revoked",
    /// A user ended their session at the end-session endpoint.
    Logout => "logout",
    /// An admin ended a user's sessions.
    SessionsEnded => "session.ended",
    /// Client authentication failed at the token, introspection or revocation
    /// endpoint; the detail says why (the client read only `invalid_client`).
    ClientAuthenticationFailed => "client.authentication_failed",
    ClientCreated => "client.created",
    ResourceCreated => "resource.created",
    ResourceUpdated => "resource.updated",
    ResourceDeleted => "resource.deleted",
    ClientUpdated => "client.updated",
    ClientDisabled => "client.disabled",
    ClientEnabled => "client.enabled",
    ClientDeleted => "client.deleted",
    ClientSecretRotated => "client.secret_rotated",
    UserCreated => "user.created",
    UserUpdated => "user.updated",
    UserDisabled => "user.disabled",
    UserEnabled => "user.enabled",
    UserDeleted => "user.deleted",
    UserUnlocked => "user.unlocked",
    UserPasswordSet => "user.password_set",
    KeyCreated => "key.created",
    KeyRotated => "key.rotated",
    KeyStarted => "key.started",
    KeyRetired => "key.retired",
    KeyDeleted => "key.deleted",
    KeyRevoked => "key.revoked",
}

impl std::str::FromStr for AuditKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AuditKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown audit event kind `{s}`"))
    }
}

impl Serialize for AuditKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A security event. `detail` must never hold a secret.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub kind: AuditKind,
    /// Who did it: `cli`, an admin's user id, a client id; `None` for the user or
    /// client the event names.
    pub actor: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: serde_json::Value,
}

impl AuditEvent {
    /// An event of `kind` with nothing else said yet.
    pub fn new(kind: AuditKind) -> AuditEvent {
        AuditEvent {
            kind,
            actor: None,
            user_id: None,
            client_id: None,
            ip: None,
            detail: serde_json::json!({}),
        }
    }

    pub fn actor(mut self, actor: &str) -> Self {
        self.actor = Some(actor.to_owned());
        self
    }

    pub fn user(mut self, user_id: &str) -> Self {
        self.user_id = Some(user_id.to_owned());
        self
    }

    pub fn client(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned());
        self
    }

    pub fn ip(mut self, ip: Option<&str>) -> Self {
        self.ip = ip.map(str::to_owned);
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    /// Stores the event inside the caller's transaction; [`log`] it once that commits.
    pub fn record(&self, conn: &mut DbConn, now: i64) -> Result<(), StoreError> {
        record(conn, self, now)
    }
}

/// Stores the event (inside the caller's transaction). Call [`log`] once that commits.
pub fn record(conn: &mut DbConn, event: &AuditEvent, now: i64) -> Result<(), StoreError> {
    let id = event_id(now)?;
    let detail = event.detail.to_string();
    db_run!(conn, |c| diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(&id),
            audit_events::occurred_at.eq(now),
            audit_events::kind.eq(event.kind.as_str()),
            audit_events::actor.eq(event.actor.as_deref()),
            audit_events::user_id.eq(event.user_id.as_deref()),
            audit_events::client_id.eq(event.client_id.as_deref()),
            audit_events::ip.eq(event.ip.as_deref()),
            audit_events::detail.eq(&detail),
        ))
        .execute(c))?;
    Ok(())
}

/// A new event's id: 32 hex digits that sort by time — `now` (5 bytes), a
/// per-process counter (4 bytes), then 7 random bytes. New rows land at the right
/// edge of the primary-key index, not on a random page of it each (a batch of 512
/// events then dirties a few pages, not hundreds): RFC 9562 §6.2's reason for
/// time-ordered keys. Ids stay unique across processes by their random part.
fn event_id(now: i64) -> Result<String, StoreError> {
    static SEQUENCE: AtomicU32 = AtomicU32::new(0);
    let mut id = [0u8; 16];
    id[..5].copy_from_slice(&now.to_be_bytes()[3..]);
    id[5..9].copy_from_slice(&SEQUENCE.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    id[9..].copy_from_slice(&random::bytes::<7>()?);
    Ok(crate::crypto::hex(&id))
}

/// Writes the event to the log (target `audit`): after the commit, so the log never
/// reports what was rolled back.
pub fn log(event: &AuditEvent) {
    tracing::info!(
        target: "audit",
        kind = event.kind.as_str(),
        actor = event.actor.as_deref(),
        user_id = event.user_id.as_deref(),
        client_id = event.client_id.as_deref(),
        ip = event.ip.as_deref(),
        detail = %event.detail,
        "audit event"
    );
}

/// [`log`] for each of `events`.
pub fn log_all(events: &[AuditEvent]) {
    events.iter().for_each(log);
}

/// A stored event, as `audit list` shows it.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = audit_events)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct AuditRow {
    pub id: String,
    pub occurred_at: i64,
    pub kind: String,
    pub actor: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: String,
}

/// Which events to read.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub kind: Option<AuditKind>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub since: Option<i64>,
    /// Only events older than this (for paging back).
    pub before: Option<i64>,
    pub limit: i64,
    /// Events to skip first (paging in the admin UI).
    pub offset: i64,
}

/// Events matching `filter`, newest first.
pub fn list(conn: &mut DbConn, filter: &AuditFilter) -> Result<Vec<AuditRow>, StoreError> {
    Ok(db_run!(conn, |c| {
        let mut query = audit_events::table
            .select(AuditRow::as_select())
            .order((audit_events::occurred_at.desc(), audit_events::id.desc()))
            .limit(filter.limit)
            .offset(filter.offset.max(0))
            .into_boxed();
        if let Some(kind) = filter.kind {
            query = query.filter(audit_events::kind.eq(kind.as_str()));
        }
        if let Some(user) = &filter.user_id {
            query = query.filter(audit_events::user_id.eq(user));
        }
        if let Some(client) = &filter.client_id {
            query = query.filter(audit_events::client_id.eq(client));
        }
        if let Some(since) = filter.since {
            query = query.filter(audit_events::occurred_at.ge(since));
        }
        if let Some(before) = filter.before {
            query = query.filter(audit_events::occurred_at.lt(before));
        }
        query.load(c)
    })?)
}

/// Deletes at most `limit` events that occurred before `before` (the retention
/// setting); returns how many.
pub fn delete_older_than(conn: &mut DbConn, before: i64, limit: i64) -> Result<usize, StoreError> {
    let keys: Vec<String> = db_run!(conn, |c| audit_events::table
        .select(audit_events::id)
        .filter(audit_events::occurred_at.lt(before))
        .limit(limit)
        .load(c))?;
    if keys.is_empty() {
        return Ok(0);
    }
    Ok(db_run!(conn, |c| diesel::delete(
        audit_events::table.filter(audit_events::id.eq_any(&keys))
    )
    .execute(c))?)
}

/// How many events of `kind` are stored (for tests and the admin UI).
pub fn count_of_kind(conn: &mut DbConn, kind: AuditKind) -> Result<i64, StoreError> {
    Ok(db_run!(conn, |c| audit_events::table
        .filter(audit_events::kind.eq(kind.as_str()))
        .count()
        .get_result(c))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_sort_by_time_then_by_issue_order_and_never_repeat() {
        let ids: Vec<String> = [100, 100, 100, 101, 5_000_000_000]
            .iter()
            .map(|&now| event_id(now).unwrap())
            .collect();
        assert!(ids.iter().all(|id| id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())));
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        assert!(event_id(99).unwrap() < ids[0]);
    }

    #[test]
    fn every_kind_has_a_distinct_name_that_parses_back() {
        let mut names = std::collections::HashSet::new();
        for kind in AuditKind::ALL {
            assert!(names.insert(kind.as_str()), "{} twice", kind.as_str());
            assert_eq!(kind.as_str().parse::<AuditKind>(), Ok(*kind));
        }
        assert!("client_created".parse::<AuditKind>().is_err());
    }
}
