//! `portcullis keys …`: list, rotate and revoke signing keys, each one operation of
//! [`service::keys`](crate::service::keys).

use std::sync::Arc;

use super::{now, print_json, print_line, Failure};
use crate::config::Config;
use crate::keys::schedule::Action;
use crate::keys::{KeyAlg, KeyError};
use crate::service::{keys, Actor};

impl From<KeyError> for Failure {
    fn from(e: KeyError) -> Self {
        Failure::failed(e.to_string())
    }
}

/// Runs one key operation on the admin store.
fn operate_keys<T, F, Fut>(config: &Config, operation: F) -> Result<T, Failure>
where
    F: FnOnce(crate::store::Store, Arc<Config>) -> Fut,
    Fut: std::future::Future<Output = Result<T, KeyError>>,
{
    let (store, runtime) = super::admin_store(config)?;
    Ok(runtime.block_on(operation(store, Arc::new(config.clone())))?)
}

/// `keys list`
pub fn list(config: &Config, json: bool) -> Result<(), Failure> {
    let views = operate_keys(config, |store, config| async move {
        keys::list(&store, &config, &Actor::cli(), now()).await
    })?;
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
    let alg: Option<KeyAlg> = alg
        .map(|name| {
            name.parse()
                .map_err(|_| Failure::usage(format!("unknown algorithm {name}")))
        })
        .transpose()?;
    let now = now();
    let rotations = operate_keys(config, |store, config| async move {
        keys::rotate(&store, &config, alg, &Actor::cli(), now).await
    })?;
    for r in rotations {
        let (Some(promoting), Some(at)) = (&r.promoting, r.at) else {
            continue;
        };
        let when = if r.immediate {
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
        print_line(&format!("{}: key {promoting} {when}", r.alg))?;
        if let Some(old) = &r.retiring {
            print_line(&format!(
                "{}: key {old} retires then and leaves the JWKS after {}",
                r.alg,
                time(r.delete_after)
            ))?;
        }
    }
    Ok(())
}

/// `keys revoke KID`
pub fn revoke(config: &Config, kid: &str) -> Result<(), Failure> {
    let id = kid.to_owned();
    let revoked = operate_keys(config, |store, config| async move {
        keys::revoke(&store, &config, &id, &Actor::cli(), now()).await
    })?;
    let alg = revoked.alg;
    print_line(&format!(
        "revoked {alg} key {kid} (was {}): removed from the JWKS and never used again",
        revoked.previous.as_str()
    ))?;
    for action in revoked.repairs {
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
    if revoked.had_signed {
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
