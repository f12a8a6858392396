//! The audit trail: reading it (`audit list`, the admin UI) and enforcing its
//! retention. Events are written by the operations that cause them.

use serde::Serialize;

use super::AdminError;
use crate::store::audit::{self, AuditFilter, AuditRow};
use crate::store::{purge, task_leases, Store, StoreError};

/// The most events one read returns.
pub const MAX_LIMIT: i64 = 10_000;

/// One event as `audit list --json` prints it.
#[derive(Debug, Serialize)]
pub struct AuditEntry {
    pub id: String,
    pub occurred_at: i64,
    pub kind: String,
    pub actor: Option<String>,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// The stored JSON object.
    pub detail: serde_json::Value,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, StoreError> {
        let detail = serde_json::from_str(&row.detail)
            .map_err(|e| StoreError::Corrupt(format!("audit event {}: {e}", row.id)))?;
        Ok(AuditEntry {
            id: row.id,
            occurred_at: row.occurred_at,
            kind: row.kind,
            actor: row.actor,
            user_id: row.user_id,
            client_id: row.client_id,
            ip: row.ip,
            detail,
        })
    }
}

/// Events matching `filter`, newest first; `limit` is clamped to 1..=[`MAX_LIMIT`].
pub async fn list(store: &Store, mut filter: AuditFilter) -> Result<Vec<AuditEntry>, AdminError> {
    filter.limit = filter.limit.clamp(1, MAX_LIMIT);
    let rows = store.run(move |conn| audit::list(conn, &filter)).await?;
    Ok(rows
        .into_iter()
        .map(AuditEntry::try_from)
        .collect::<Result<_, _>>()?)
}

/// The name of the purge task's lease.
const PURGE_LEASE: &str = "purge";
/// How long a purge may run before another instance may take over.
const PURGE_LEASE_SECONDS: i64 = 540;

/// The periodic clean-up: expired codes, sessions, pending requests, families and
/// revoked token ids, and audit events older than `audit_retention` seconds, deleted
/// in batches. On several instances only the one that claims the purge lease runs
/// it (`holder` names this instance); `None` when another holds it. Returns how many
/// rows went.
pub async fn purge(
    store: &Store,
    audit_retention: i64,
    holder: &str,
    now: i64,
) -> Result<Option<usize>, StoreError> {
    let holder = holder.to_owned();
    store
        .run(move |conn| {
            if !task_leases::claim(conn, PURGE_LEASE, &holder, now, PURGE_LEASE_SECONDS)? {
                return Ok(None);
            }
            let deleted = purge::expired(conn, now, now.saturating_sub(audit_retention));
            task_leases::release(conn, PURGE_LEASE, &holder, now)?;
            deleted.map(Some)
        })
        .await
}
