//! `portcullis audit list`: the audit trail, newest first
//! ([`service::audit::list`](crate::service::audit::list)).

use super::{operate, print_either, AuditListArgs, Failure};
use crate::config::Config;
use crate::service::audit;
use crate::store::audit::{AuditFilter, AuditKind};

/// `audit list [--kind K] [--user U] [--client C] [--since T] [--limit N]`
pub fn list(config: &Config, args: AuditListArgs) -> Result<(), Failure> {
    let kind = args
        .kind
        .as_deref()
        .map(|k| {
            k.parse::<AuditKind>().map_err(|e| {
                let known: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
                Failure::usage(format!("--kind: {e}; known kinds: {}", known.join(", ")))
            })
        })
        .transpose()?;
    let since = args.since.as_deref().map(parse_time).transpose()?;
    if args.limit < 1 || args.limit > audit::MAX_LIMIT {
        return Err(Failure::usage(format!(
            "--limit must be from 1 to {}",
            audit::MAX_LIMIT
        )));
    }
    let filter = AuditFilter {
        kind,
        user_id: args.user,
        client_id: args.client,
        since,
        before: None,
        limit: args.limit,
        offset: 0,
    };
    let entries = operate(
        config,
        |store| async move { audit::list(&store, filter).await },
    )?;
    let text: Vec<String> = entries
        .iter()
        .map(|e| {
            format!(
                "{}  {:<28}  actor={} user={} client={} ip={} {}",
                super::keys::time(Some(e.occurred_at)),
                e.kind,
                e.actor.as_deref().unwrap_or("-"),
                e.user_id.as_deref().unwrap_or("-"),
                e.client_id.as_deref().unwrap_or("-"),
                e.ip.as_deref().unwrap_or("-"),
                e.detail
            )
        })
        .collect();
    print_either(args.json, &entries, &text)
}

/// Unix seconds or an RFC 3339 time.
fn parse_time(text: &str) -> Result<i64, Failure> {
    if let Ok(seconds) = text.trim().parse::<i64>() {
        return Ok(seconds);
    }
    let at = humantime::parse_rfc3339_weak(text.trim()).map_err(|_| {
        Failure::usage(format!(
            "--since {text}: expected unix seconds or an RFC 3339 time such as 2026-12-01T00:00:00Z"
        ))
    })?;
    Ok(crate::store::unix_seconds(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_unix_seconds_or_rfc3339() {
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000);
        assert_eq!(parse_time("2023-11-14T22:13:20Z").unwrap(), 1_700_000_000);
        assert!(parse_time("yesterday").is_err());
    }
}
