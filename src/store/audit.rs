//! The `audit_events` table: security events, also written to the log (target `audit`)
//! once their transaction commits.

use diesel::prelude::*;

use super::schema::audit_events;
use super::{DbConn, StoreError};
use crate::crypto::random;
use crate::db_run;

/// A security event. `detail` must never hold a secret.
pub struct AuditEvent<'a> {
    /// What happened, e.g. `user.created`, `client.created`, `login.failed`.
    pub kind: &'a str,
    /// Who did it: `cli`, an admin's user id, a client id.
    pub actor: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub detail: serde_json::Value,
}

/// Stores the event (inside the caller's transaction). Call [`log`] once that commits.
pub fn record(conn: &mut DbConn, event: &AuditEvent<'_>, now: i64) -> Result<(), StoreError> {
    let id = random::identifier()?;
    let detail = event.detail.to_string();
    db_run!(conn, |c| diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(&id),
            audit_events::occurred_at.eq(now),
            audit_events::kind.eq(event.kind),
            audit_events::actor.eq(event.actor),
            audit_events::user_id.eq(event.user_id),
            audit_events::client_id.eq(event.client_id),
            audit_events::ip.eq(event.ip),
            audit_events::detail.eq(&detail),
        ))
        .execute(c))?;
    Ok(())
}

/// Writes the event to the log (target `audit`): after the commit, so the log never
/// reports what was rolled back.
pub fn log(event: &AuditEvent<'_>) {
    tracing::info!(
        target: "audit",
        kind = event.kind,
        actor = event.actor,
        user_id = event.user_id,
        client_id = event.client_id,
        ip = event.ip,
        detail = %event.detail,
        "audit event"
    );
}

/// How many events of `kind` are stored (for tests and the admin UI).
pub fn count_of_kind(conn: &mut DbConn, kind: &str) -> Result<i64, StoreError> {
    Ok(db_run!(conn, |c| audit_events::table
        .filter(audit_events::kind.eq(kind))
        .count()
        .get_result(c))?)
}
