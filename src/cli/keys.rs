//! `portcullis keys …`: list, rotate and revoke signing keys. Like the server, each
//! command first makes the first keys of a new database and brings the lifecycle up
//! to date, so what it shows and changes is current.

use serde::Serialize;

use super::{admin_connection, now, print_json, print_line, Failure};
use crate::config::Config;
use crate::keys::lifecycle::{self, Revoked};
use crate::keys::schedule::{Action, KeyState, Policy};
use crate::keys::sealing::KeySealer;
use crate::keys::{KeyAlg, KeyError};
use crate::store::signing_keys;
use crate::store::DbConn;

impl From<KeyError> for Failure {
    fn from(e: KeyError) -> Self {
        Failure::failed(e.to_string())
    }
}

/// A connection, the sealer and the policy, with the keys maintained at `now`.
fn keys_session(config: &Config, now: i64) -> Result<(DbConn, KeySealer, Policy), Failure> {
    let mut conn = admin_connection(config)?;
    let master = lifecycle::resolve_master_key(&mut conn, &config.keys.master_key)?;
    let sealer = KeySealer::new(&master)?;
    let policy = lifecycle::policy(config);
    // The master key must open every stored key before anything changes.
    lifecycle::check_master_key(&mut conn, &sealer)?;
    lifecycle::maintain(&mut conn, &sealer, &policy, now, "cli")?;
    Ok((conn, sealer, policy))
}

/// One key as `keys list --json` prints it; times are unix seconds.
#[derive(Serialize)]
struct KeyView {
    kid: String,
    alg: String,
    /// The state at this moment (`next`, `active`, `retired`, `revoked`).
    state: &'static str,
    created_at: i64,
    /// When it starts (or started) signing.
    activates_at: i64,
    /// When it stops signing: set once retired, else the planned rotation.
    retires_at: Option<i64>,
    /// When it leaves the JWKS.
    delete_after: Option<i64>,
    revoked_at: Option<i64>,
}

/// `keys list`
pub fn list(config: &Config, json: bool) -> Result<(), Failure> {
    let now = now();
    let (mut conn, _, policy) = keys_session(config, now)?;
    let rows = signing_keys::list(&mut conn)?;
    let times = lifecycle::key_times(&rows)?;
    let views: Vec<KeyView> = rows
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
        .collect();
    if json {
        return print_json(&views);
    }
    print_line(&format!(
        "{:<43}  {:<5}  {:<7}  {:<20}  {:<20}  {:<20}  DELETE AFTER",
        "KID", "ALG", "STATE", "CREATED", "ACTIVATES", "RETIRES"
    ))?;
    for v in views {
        print_line(&format!(
            "{:<43}  {:<5}  {:<7}  {:<20}  {:<20}  {:<20}  {}",
            v.kid,
            v.alg,
            v.state,
            time(Some(v.created_at)),
            time(Some(v.activates_at)),
            time(v.retires_at),
            match v.revoked_at {
                Some(at) => format!("revoked {}", time(Some(at))),
                None => time(v.delete_after),
            }
        ))?;
    }
    Ok(())
}

/// `keys rotate [--alg ALG]`
pub fn rotate(config: &Config, alg: Option<&str>) -> Result<(), Failure> {
    let now = now();
    let algs: Vec<KeyAlg> = match alg {
        Some(name) => vec![name
            .parse()
            .map_err(|_| Failure::usage(format!("unknown algorithm {name}")))?],
        None => config.keys.algs.clone(),
    };
    let (mut conn, sealer, policy) = keys_session(config, now)?;
    for alg in algs {
        let switch = lifecycle::rotate(&mut conn, &sealer, &policy, alg, now, "cli")?;
        if let Action::Switch {
            retiring,
            promoting,
            at,
            delete_after,
            ..
        } = switch
        {
            let when = if at <= now + policy.switch_delay {
                format!(
                    "signs from {} (in {}s, once every instance has reloaded)",
                    time(Some(at)),
                    at - now
                )
            } else {
                format!(
                    "is scheduled: it signs from {} (in {}s), once it has been published for a full JWKS cache lifetime",
                    time(Some(at)),
                    at - now
                )
            };
            print_line(&format!("{alg}: key {promoting} {when}"))?;
            if let Some(old) = retiring {
                print_line(&format!(
                    "{alg}: key {old} retires then and leaves the JWKS after {}",
                    time(Some(delete_after))
                ))?;
            }
        }
    }
    Ok(())
}

/// `keys revoke KID`
pub fn revoke(config: &Config, kid: &str) -> Result<(), Failure> {
    let now = now();
    let (mut conn, sealer, policy) = keys_session(config, now)?;
    let Revoked {
        alg,
        previous,
        had_signed,
        repairs,
    } = lifecycle::revoke(&mut conn, &sealer, &policy, kid, now, "cli")?;
    print_line(&format!(
        "revoked {alg} key {kid} (was {}): removed from the JWKS and never used again",
        previous.as_str()
    ))?;
    for action in repairs {
        match action {
            Action::Switch { promoting, .. } => {
                print_line(&format!("{alg}: key {promoting} signs from now on"))?
            }
            Action::StartNow { kid, .. } => {
                print_line(&format!("{alg}: key {kid} signs from now on"))?
            }
            _ => {}
        }
    }
    if had_signed {
        eprintln!(
            "warning: tokens signed by {kid} will now fail verification once resource servers \
             refresh their JWKS; running instances stop using it within key_reload_interval"
        );
    }
    Ok(())
}

/// RFC 3339 in UTC, or `-`.
pub fn time(at: Option<i64>) -> String {
    match at.and_then(|t| u64::try_from(t).ok()) {
        Some(t) => humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(t),
        )
        .to_string(),
        None => "-".to_owned(),
    }
}
