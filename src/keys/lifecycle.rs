//! Carrying out [`schedule`](super::schedule) plans against the database: each plan
//! in one transaction of conditional writes, with an audit event per change. When
//! another instance changed the keys first, the transaction rolls back and the plan
//! is made again from what is stored now. Blocking: call from the blocking pool.

use std::time::Duration;

use serde_json::json;

use super::master_key::{self, MasterKey};
use super::material::{self, KeyMaterial};
use super::schedule::{self, Action, KeyState, KeyTimes, Policy};
use super::sealing::KeySealer;
use super::{KeyAlg, KeyError};
use crate::config::{Config, MasterKeySource};
use crate::store::audit::{self, AuditEvent, AuditKind};
use crate::store::signing_keys::{self, SigningKeyRow};
use crate::store::{DbConn, StoreError};

/// Clock skew allowed to verifiers (`leeway` in most JWT libraries): a retired key
/// stays published this much longer than the tokens it signed.
pub const VERIFIER_LEEWAY: Duration = Duration::from_secs(60);

/// How often a plan is retried after losing a race to another instance.
const ATTEMPTS: usize = 4;

/// The lifecycle timing of `config` (DESIGN.md §4).
pub fn policy(config: &Config) -> Policy {
    let secs = crate::clock::seconds;
    let keys = &config.keys;
    let longest_token = config.lifetimes.access_token.max(config.lifetimes.id_token);
    Policy {
        algs: keys.algs.clone(),
        publish_lead: secs(keys.publish_lead()),
        rotation_period: secs(keys.rotation_period),
        switch_delay: secs(keys.reload_interval),
        retention: secs(longest_token + VERIFIER_LEEWAY),
    }
}

/// The master key: given in the configuration, or read from its file, which is
/// created on first start — but only while the database holds no keys: a missing file
/// beside existing keys is an error, never a reason to make new ones.
pub fn resolve_master_key(
    conn: &mut DbConn,
    source: &MasterKeySource,
) -> Result<MasterKey, KeyError> {
    let path = match source {
        MasterKeySource::Given(key) => return Ok(key.expose().clone()),
        MasterKeySource::File(path) => path,
    };
    let file_error = |e: master_key::MasterKeyError| KeyError::MasterKey(e.to_string());
    if let Some(key) = master_key::read_file(path).map_err(file_error)? {
        return Ok(key);
    }
    if signing_keys::count(conn)? > 0 {
        return Err(KeyError::MasterKey(format!(
            "the database holds encrypted signing keys but the master key file {} is missing: \
             restore it or set PORTCULLIS_MASTER_KEY (refusing to make new keys)",
            path.display()
        )));
    }
    let key = master_key::create_file(path).map_err(file_error)?;
    tracing::warn!(
        path = %path.display(),
        "generated a new master key file (mode 0600); back it up: without it the signing keys \
         cannot be decrypted. Set PORTCULLIS_MASTER_KEY to manage the key yourself"
    );
    Ok(key)
}

/// Fails with [`KeyError::WrongMasterKey`] unless `sealer` opens every key that is
/// not revoked.
pub fn check_master_key(conn: &mut DbConn, sealer: &KeySealer) -> Result<(), KeyError> {
    let rows = signing_keys::list(conn)?;
    for (row, times) in rows.iter().zip(key_times(&rows)?) {
        if times.state != KeyState::Revoked {
            sealer
                .open(&row.kid, times.alg, &row.private_key_encrypted)
                .map_err(|_| KeyError::WrongMasterKey {
                    kid: row.kid.clone(),
                })?;
        }
    }
    Ok(())
}

/// The stored keys as the planner sees them.
pub fn key_times(rows: &[SigningKeyRow]) -> Result<Vec<KeyTimes>, KeyError> {
    rows.iter()
        .map(|row| {
            let corrupt = |reason: &str| KeyError::Corrupt {
                kid: row.kid.clone(),
                reason: reason.to_owned(),
            };
            Ok(KeyTimes {
                kid: row.kid.clone(),
                alg: row.alg.parse().map_err(|_| corrupt("unknown alg"))?,
                state: KeyState::parse(&row.state).ok_or_else(|| corrupt("unknown state"))?,
                activates_at: row.activates_at,
                retired_at: row.retired_at,
                delete_after: row.delete_after,
            })
        })
        .collect()
}

/// Brings the keys in line with the policy at `now`: first keys, waiting keys,
/// due rotations, deletions. Returns what it changed (nothing when another instance
/// already did it).
pub fn maintain(
    conn: &mut DbConn,
    sealer: &KeySealer,
    policy: &Policy,
    now: i64,
    actor: &str,
) -> Result<Vec<Action>, KeyError> {
    with_retries(|| {
        let keys = key_times(&signing_keys::list(conn)?)?;
        let actions = schedule::plan(&keys, policy, now);
        apply(conn, sealer, &actions, now, actor)?;
        Ok(actions)
    })
}

/// Rotates `alg` on demand; returns the switch (see [`schedule::plan_rotation`]).
/// Two requests at once, from two instances, make one rotation.
/// Two requests at once, from two instances, make one rotation.
pub fn rotate(
    conn: &mut DbConn,
    sealer: &KeySealer,
    policy: &Policy,
    alg: KeyAlg,
    now: i64,
    actor: &str,
) -> Result<Action, KeyError> {
    if !policy.algs.contains(&alg) {
        return Err(KeyError::AlgNotConfigured(alg));
    }
    maintain(conn, sealer, policy, now, actor)?;
    let switch = with_retries(|| {
        let keys = key_times(&signing_keys::list(conn)?)?;
        let rotation =
            schedule::plan_rotation(&keys, alg, policy, now).ok_or(KeyError::NoSigningKey(alg))?;
        if !rotation.already_scheduled {
            apply(
                conn,
                sealer,
                std::slice::from_ref(&rotation.switch),
                now,
                actor,
            )?;
        }
        Ok(rotation.switch)
    })?;
    // The promoted key's successor.
    maintain(conn, sealer, policy, now, actor)?;
    Ok(switch)
}

/// What `revoke` did.
#[derive(Debug, Clone)]
pub struct Revoked {
    pub alg: KeyAlg,
    /// The state it had.
    pub previous: KeyState,
    /// True when tokens it signed may still be in use (it was signing or retired).
    pub had_signed: bool,
    /// What was changed to replace it.
    pub repairs: Vec<Action>,
}

/// Emergency revocation: the key leaves the JWKS and never signs again; if it was
/// signing, the waiting key takes over at once (its publication lead cut short), and
/// a new waiting key is made.
pub fn revoke(
    conn: &mut DbConn,
    sealer: &KeySealer,
    policy: &Policy,
    kid: &str,
    now: i64,
    actor: &str,
) -> Result<Revoked, KeyError> {
    let row = signing_keys::list(conn)?
        .into_iter()
        .find(|r| r.kid == kid)
        .ok_or_else(|| KeyError::UnknownKid(kid.to_owned()))?;
    let times = key_times(std::slice::from_ref(&row))?.remove(0);
    if times.state == KeyState::Revoked {
        return Err(KeyError::AlreadyRevoked(kid.to_owned()));
    }
    let event = AuditEvent::new(AuditKind::KeyRevoked)
        .actor(actor)
        .detail(json!({ "kid": kid, "alg": row.alg, "previous_state": row.state }));
    conn.transaction(|c| {
        signing_keys::revoke(c, kid, now)?.ok_or(StoreError::Conflict(
            "the key was revoked by another instance",
        ))?;
        audit::record(c, &event, now)
    })?;
    audit::log(&event);
    let repairs = maintain(conn, sealer, policy, now, actor)?;
    Ok(Revoked {
        alg: times.alg,
        previous: times.state,
        had_signed: matches!(times.state, KeyState::Active | KeyState::Retired)
            && times.activates_at <= now,
        repairs,
    })
}

fn with_retries<T>(mut attempt: impl FnMut() -> Result<T, KeyError>) -> Result<T, KeyError> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        match attempt() {
            Err(KeyError::Store(StoreError::Conflict(why))) => {
                tracing::debug!(why, "key change lost a race; planning again");
                last = Some(why);
            }
            other => return other,
        }
    }
    Err(KeyError::Store(StoreError::Conflict(
        last.unwrap_or("keys kept changing"),
    )))
}

/// Applies `actions` in one transaction. New keys are generated before it starts
/// (RSA takes a while) so the write lock is held briefly.
fn apply(
    conn: &mut DbConn,
    sealer: &KeySealer,
    actions: &[Action],
    now: i64,
    actor: &str,
) -> Result<(), KeyError> {
    if actions.is_empty() {
        return Ok(());
    }
    let mut rows = Vec::new();
    for action in actions {
        if let Action::Create {
            alg,
            state,
            activates_at,
        } = action
        {
            rows.push(new_row(
                material::generate(*alg)?,
                *state,
                *activates_at,
                sealer,
                now,
            )?);
        }
    }
    let events: Vec<AuditEvent> = actions
        .iter()
        .map(|action| audit_event(action, actor, &rows))
        .collect();
    let mut new_rows = rows.iter();
    conn.transaction(|c| {
        for action in actions {
            match action {
                Action::Create { .. } => {
                    if let Some(row) = new_rows.next() {
                        signing_keys::insert(c, row)?;
                    }
                }
                Action::Switch {
                    retiring,
                    promoting,
                    at,
                    delete_after,
                    ..
                } => {
                    if let Some(old) = retiring {
                        signing_keys::retire(c, old, *at, *delete_after)?;
                    }
                    signing_keys::promote(c, promoting, *at, now)?;
                }
                Action::StartNow {
                    kid,
                    scheduled_at,
                    at,
                } => signing_keys::start_now(c, kid, *scheduled_at, *at)?,
                Action::Retire {
                    kid,
                    at,
                    delete_after,
                } => signing_keys::retire(c, kid, *at, *delete_after)?,
                Action::Delete { kid, state } => signing_keys::delete(c, kid, state.as_str())?,
            }
        }
        for event in &events {
            audit::record(c, event, now)?;
        }
        Ok(())
    })?;
    for event in &events {
        audit::log(event);
    }
    Ok(())
}

fn new_row(
    key: KeyMaterial,
    state: KeyState,
    activates_at: i64,
    sealer: &KeySealer,
    now: i64,
) -> Result<SigningKeyRow, KeyError> {
    let public_jwk = serde_json::to_string(&key.public_jwk).map_err(|e| KeyError::Corrupt {
        kid: key.kid.clone(),
        reason: e.to_string(),
    })?;
    Ok(SigningKeyRow {
        private_key_encrypted: sealer.seal(&key.kid, key.alg, key.private_der.expose())?,
        kid: key.kid,
        alg: key.alg.as_str().to_owned(),
        state: state.as_str().to_owned(),
        public_jwk,
        created_at: now,
        activates_at,
        activated_at: (state == KeyState::Active).then_some(now),
        retired_at: None,
        delete_after: None,
        revoked_at: None,
    })
}

fn audit_event(action: &Action, actor: &str, new_rows: &[SigningKeyRow]) -> AuditEvent {
    let (kind, detail) = match action {
        Action::Create {
            alg,
            state,
            activates_at,
        } => {
            let kid = new_rows
                .iter()
                .find(|r| r.alg == alg.as_str() && r.state == state.as_str())
                .map(|r| r.kid.as_str());
            (
                AuditKind::KeyCreated,
                json!({ "kid": kid, "alg": alg.as_str(), "state": state.as_str(), "activates_at": activates_at }),
            )
        }
        Action::Switch {
            alg,
            retiring,
            promoting,
            at,
            ..
        } => (
            AuditKind::KeyRotated,
            json!({ "alg": alg.as_str(), "retiring": retiring, "promoting": promoting, "at": at }),
        ),
        Action::StartNow { kid, at, .. } => {
            (AuditKind::KeyStarted, json!({ "kid": kid, "at": at }))
        }
        Action::Retire { kid, at, .. } => (AuditKind::KeyRetired, json!({ "kid": kid, "at": at })),
        Action::Delete { kid, state } => (
            AuditKind::KeyDeleted,
            json!({ "kid": kid, "state": state.as_str() }),
        ),
    };
    AuditEvent::new(kind).actor(actor).detail(detail)
}
