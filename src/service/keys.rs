//! Signing keys as admins see and change them: the key set with its timeline,
//! rotation on demand, emergency revocation (DESIGN.md §4). Each operation first
//! makes the first keys of a new database and brings the lifecycle up to date, as
//! the server does, so what it shows and changes is current. The lifecycle's rules
//! and its race-safe writes are [`crate::keys::lifecycle`]'s.

use std::sync::Arc;

use serde::Serialize;

use super::Actor;
use crate::config::Config;
use crate::keys::lifecycle::{self, Revoked};
use crate::keys::schedule::{Action, KeyState, Policy};
use crate::keys::sealing::KeySealer;
use crate::keys::{KeyAlg, KeyError};
use crate::store::{signing_keys, DbConn, Store};

/// One key as an admin sees it; times are unix seconds.
#[derive(Debug, Serialize)]
pub struct KeyView {
    pub kid: String,
    pub alg: String,
    /// The state at this moment (`next`, `active`, `retired`, `revoked`).
    pub state: &'static str,
    pub created_at: i64,
    /// When it starts (or started) signing.
    pub activates_at: i64,
    /// When it stops signing: set once retired, else the planned rotation.
    pub retires_at: Option<i64>,
    /// When it leaves the JWKS.
    pub delete_after: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Runs `f` with the sealer and policy on a connection whose keys are maintained
/// at `now`, after checking that the master key opens every stored key.
async fn with_keys<T, F>(
    store: &Store,
    config: &Arc<Config>,
    actor: &Actor,
    now: i64,
    f: F,
) -> Result<T, KeyError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &KeySealer, &Policy) -> Result<T, KeyError> + Send + 'static,
{
    let (config, actor) = (config.clone(), actor.clone());
    store
        .run_with(move |conn| {
            let master = lifecycle::resolve_master_key(conn, &config.keys.master_key)?;
            let sealer = KeySealer::new(&master)?;
            let policy = lifecycle::policy(&config);
            // The master key must open every stored key before anything changes.
            lifecycle::check_master_key(conn, &sealer)?;
            lifecycle::maintain(conn, &sealer, &policy, now, actor.as_str())?;
            f(conn, &sealer, &policy)
        })
        .await
}

/// Every key with its state and times.
pub async fn list(
    store: &Store,
    config: &Arc<Config>,
    actor: &Actor,
    now: i64,
) -> Result<Vec<KeyView>, KeyError> {
    with_keys(store, config, actor, now, move |conn, _, policy| {
        let rows = signing_keys::list(conn)?;
        let times = lifecycle::key_times(&rows)?;
        Ok(rows
            .into_iter()
            .zip(times)
            .map(|(row, t)| KeyView {
                state: t.effective_state(now).as_str(),
                retires_at: match t.state {
                    KeyState::Active => Some(t.activates_at.saturating_add(policy.rotation_period)),
                    _ => t.retired_at,
                },
                kid: row.kid,
                alg: row.alg,
                created_at: row.created_at,
                activates_at: row.activates_at,
                delete_after: row.delete_after,
                revoked_at: row.revoked_at,
            })
            .collect())
    })
    .await
}

/// What a rotation of one algorithm scheduled.
#[derive(Debug)]
pub struct Rotation {
    pub alg: KeyAlg,
    /// The key that takes over and when it starts signing.
    pub promoting: Option<String>,
    pub at: Option<i64>,
    /// The key that retires then, and when it leaves the JWKS.
    pub retiring: Option<String>,
    pub delete_after: Option<i64>,
    /// True when the new key had already been published long enough and signs as
    /// soon as every instance has reloaded.
    pub immediate: bool,
}

/// Rotates now: for each algorithm (or only `alg`), the waiting key takes over as
/// soon as it has been published long enough, and a new waiting key is made.
pub async fn rotate(
    store: &Store,
    config: &Arc<Config>,
    alg: Option<KeyAlg>,
    actor: &Actor,
    now: i64,
) -> Result<Vec<Rotation>, KeyError> {
    let algs = match alg {
        Some(alg) => vec![alg],
        None => config.keys.algs.clone(),
    };
    let by = actor.clone();
    with_keys(store, config, actor, now, move |conn, sealer, policy| {
        algs.into_iter()
            .map(|alg| {
                let action = lifecycle::rotate(conn, sealer, policy, alg, now, by.as_str())?;
                Ok(match action {
                    Action::Switch {
                        retiring,
                        promoting,
                        at,
                        delete_after,
                        ..
                    } => Rotation {
                        alg,
                        immediate: at <= now + policy.switch_delay,
                        promoting: Some(promoting),
                        at: Some(at),
                        retiring,
                        delete_after: Some(delete_after),
                    },
                    _ => Rotation {
                        alg,
                        promoting: None,
                        at: None,
                        retiring: None,
                        delete_after: None,
                        immediate: false,
                    },
                })
            })
            .collect()
    })
    .await
}

/// Emergency revocation of `kid`: out of the JWKS and never used again, at once; a
/// waiting key takes over if it was signing.
pub async fn revoke(
    store: &Store,
    config: &Arc<Config>,
    kid: &str,
    actor: &Actor,
    now: i64,
) -> Result<Revoked, KeyError> {
    let (kid, by) = (kid.to_owned(), actor.clone());
    with_keys(store, config, actor, now, move |conn, sealer, policy| {
        lifecycle::revoke(conn, sealer, policy, &kid, now, by.as_str())
    })
    .await
}
