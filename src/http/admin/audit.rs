//! The audit log in the admin UI: newest first, filtered by kind, user, client
//! and time, 50 a page ([`service::audit::list`]).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

use super::query;
use crate::http::pages::{self, PageError};
use crate::http::viewer;
use crate::http::AppState;
use crate::service::{audit, users};
use crate::store::audit::{AuditFilter, AuditKind};
use crate::views::admin::{AuditLine, AuditPage};
use crate::views::when;

const PAGE_SIZE: i64 = 50;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list));
}

/// An event for people.
pub fn line(e: &audit::AuditEntry) -> AuditLine {
    let dash = || "—".to_owned();
    let detail = match &e.detail {
        serde_json::Value::Object(map) if map.is_empty() => String::new(),
        other => other.to_string(),
    };
    AuditLine {
        at: when(e.occurred_at),
        kind: e.kind.clone(),
        actor: e.actor.clone().unwrap_or_else(dash),
        user: e.user_id.clone().unwrap_or_else(dash),
        client: e.client_id.clone().unwrap_or_else(dash),
        ip: e.ip.clone().unwrap_or_default(),
        detail,
    }
}

/// A day (`2026-12-01`, its start) or a moment (`2026-12-01T10:00`, `…:30`, `…Z`),
/// UTC, as unix seconds.
fn moment(text: &str) -> Option<i64> {
    let full = match text.len() {
        10 => format!("{text}T00:00:00Z"),
        16 => format!("{text}:00Z"),
        19 => format!("{text}Z"),
        _ => text.to_owned(),
    };
    let at = humantime::parse_rfc3339(&full.replace(' ', "T")).ok()?;
    let seconds = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(seconds).ok()
}

async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, PageError> {
    let viewer = viewer::admin(&state, &req).await?;
    let params = query(&req);
    let text = |name: &str| params.get(name).unwrap_or_default().trim().to_owned();
    let (kind, user, client, since, until) = (
        text("kind"),
        text("user"),
        text("client"),
        text("since"),
        text("until"),
    );
    let mut problems = Vec::new();
    let page = match params.get("page") {
        None => 1,
        Some(p) => match p.parse::<i64>() {
            Ok(p) if (1..=10_000).contains(&p) => p,
            _ => {
                problems.push(format!("page `{p}` is not a page number (1 to 10000)"));
                1
            }
        },
    };
    let kind_filter = if kind.is_empty() {
        None
    } else {
        let found = AuditKind::ALL.iter().copied().find(|k| k.as_str() == kind);
        if found.is_none() {
            problems.push(format!("`{kind}` is not an event kind"));
        }
        found
    };
    let mut bound = |label: &str, value: &str, end_of_day: bool| {
        if value.is_empty() {
            return None;
        }
        match moment(value) {
            // A bare day as the upper bound means the whole of that day.
            Some(at) if end_of_day && value.len() == 10 => Some(at + 86_400),
            Some(at) => Some(at),
            None => {
                problems.push(format!(
                    "{label} `{value}` is not a date (2026-12-01) or a date and time (2026-12-01T10:00)"
                ));
                None
            }
        }
    };
    let since_at = bound("from", &since, false);
    let until_at = bound("until", &until, true);
    // A username is looked up; anything else is taken as a user id.
    let user_id = if user.is_empty() {
        None
    } else {
        match users::show(&state.services.store, &user, state.clock.now()).await {
            Ok(found) => Some(found.id),
            Err(_) => Some(user.clone()),
        }
    };
    let events = if problems.is_empty() {
        audit::list(
            &state.services.store,
            AuditFilter {
                kind: kind_filter,
                user_id,
                client_id: (!client.is_empty()).then(|| client.clone()),
                since: since_at,
                before: until_at,
                limit: PAGE_SIZE + 1,
                offset: (page - 1) * PAGE_SIZE,
            },
        )
        .await?
    } else {
        Vec::new()
    };
    let has_older = events.len() as i64 > PAGE_SIZE;
    let link = |page: i64| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("kind", &kind),
            ("user", &user),
            ("client", &client),
            ("since", &since),
            ("until", &until),
        ] {
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        query.append_pair("page", &page.to_string());
        state.path(&format!("/admin/audit?{}", query.finish()))
    };
    Ok(pages::render_app(
        if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        },
        &AuditPage {
            chrome: viewer.chrome(&state, "audit", None),
            kinds: AuditKind::ALL.iter().map(|k| k.as_str()).collect(),
            events: events.iter().take(PAGE_SIZE as usize).map(line).collect(),
            newer: (page > 1).then(|| link(page - 1)),
            older: has_older.then(|| link(page + 1)),
            error: (!problems.is_empty()).then(|| problems.join("; ")),
            kind,
            user,
            client,
            since,
            until,
            page,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::moment;

    #[test]
    fn days_and_moments_are_utc() {
        assert_eq!(moment("1970-01-02"), Some(86_400));
        assert_eq!(moment("1970-01-01T01:00"), Some(3_600));
        assert_eq!(moment("1970-01-01T00:00:30"), Some(30));
        assert_eq!(moment("yesterday"), None);
    }
}
