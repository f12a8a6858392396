//! Sessions: signing in with a password, the signed-in user of a browser, and
//! ending a session (RP-initiated logout). DESIGN.md §5.
//!
//! No enumeration: an unknown user, a wrong password, a locked and a disabled
//! account all fail alike after the same argon2 work (an unknown user is checked
//! against a dummy hash made with the configured cost), and are counted alike.

use super::introspection::our_id_token;
use super::Services;
use crate::clock::seconds;
use crate::config::Lifetimes;
use crate::crypto::password_pool::{PoolError, Reservation};
use crate::crypto::{random, token_hash, Secret};
use crate::protocol::login::{self, Throttle};
use crate::protocol::logout::{self, LogoutError, LogoutHint};
use crate::store::audit::{self, AuditEvent, AuditKind};
use crate::store::sessions::{self, SessionRow};
use crate::store::users::{self, UserRow};
use crate::store::{authorization_requests, login_throttles, DbConn, Store, StoreError};

/// A live session and its (enabled) user.
pub struct SignedIn {
    pub session: SessionRow,
    pub user: UserRow,
}

/// The user of the session whose cookie value is `session_id`, if the session is
/// live and the user enabled (an admin's session also ends after
/// `admin_session_idle` without use). Use pushes the idle deadline out (never past the
/// absolute one), written at most once a minute so that page views are not all writes.
pub async fn current(
    store: &Store,
    lifetimes: Lifetimes,
    session_id: &str,
    now: i64,
) -> Result<Option<SignedIn>, StoreError> {
    let id_hash = token_hash(session_id);
    store
        .run(move |conn| current_in(conn, lifetimes, &id_hash, now))
        .await
}

/// [`current`] on `conn`, for the session whose cookie value hashes to `id_hash`
/// (for an operation that reads the session in its own transaction).
pub fn current_in(
    conn: &mut DbConn,
    lifetimes: Lifetimes,
    id_hash: &str,
    now: i64,
) -> Result<Option<SignedIn>, StoreError> {
    let Some(session) = sessions::find_live(conn, id_hash, now)? else {
        return Ok(None);
    };
    let Some(user) = users::find(conn, &session.user_id)?.filter(|u| !u.disabled) else {
        return Ok(None);
    };
    // An admin's session ends sooner when left alone (DESIGN.md §5).
    if user.is_admin && now - session.last_seen_at > seconds(lifetimes.admin_session_idle) {
        sessions::end(conn, id_hash, now)?;
        return Ok(None);
    }
    let absolute = session.created_at + seconds(lifetimes.session_absolute);
    let expires_at = (now + seconds(lifetimes.session_idle)).min(absolute);
    // Activity is recorded once a minute at most, even when the idle deadline
    // cannot move (it reached the absolute one): the admin timeout reads it.
    if now - session.last_seen_at >= 60 {
        sessions::touch(conn, id_hash, now, expires_at.max(session.expires_at))?;
    }
    Ok(Some(SignedIn { session, user }))
}

/// The authorization request a sign-in is for.
pub struct ForRequest {
    pub pending_id: String,
    pub client_id: String,
}

/// A password sign-in attempt: for a pending authorization request, or (`None`)
/// for the server's own pages (the account page, the admin UI).
pub struct SignInAttempt {
    pub request: Option<ForRequest>,
    pub username: String,
    pub password: Secret<String>,
    pub ip: Option<String>,
    /// The browser's current session cookie, ended by a successful sign-in.
    pub previous_session: Option<String>,
}

/// How a sign-in ended; short-lived, so not boxed.
#[allow(clippy::large_enum_variant)]
pub enum SignIn {
    /// A new session: its cookie value (shown once, stored hashed) and its user.
    Succeeded {
        session_id: String,
        signed_in: SignedIn,
    },
    /// The one answer for every failure (no enumeration). `locks_started` counts the
    /// locks this failure started, for metrics only: the user reads the same page.
    Failed { locks_started: u64 },
    /// Password hashing is saturated: nothing was checked or counted; try again in
    /// a moment (503 with `Retry-After`).
    Busy,
}

/// Why a sign-in failed, for the audit trail only: the user reads one message.
#[derive(Debug, Clone, Copy)]
enum Failure {
    UnknownUser,
    WrongPassword,
    Locked,
    Disabled,
}

/// Whether an attempt may have its password checked, decided and counted before
/// the check (`protocol::login`).
#[derive(Clone, Copy)]
enum Admission {
    /// Counted as a failure until it succeeds; the counters as they now stand.
    Counted {
        at_address: Throttle,
        at_account: Throttle,
    },
    /// A lock holds: refused without looking at the password (after the same work).
    Locked,
}

/// Checks a password sign-in: the attempt is first counted as a failure per
/// (username, client address) and per username, atomically in the database, so
/// that a parallel burst stops at the limit; a locked attempt is refused whatever
/// the password. The argon2id check runs on the bounded password pool with the same
/// work for unknown users and locked attempts. Success forgets the failures, starts
/// a session (ending the browser's previous one) and marks the pending request as
/// signed in, in one transaction.
pub async fn sign_in(
    services: &Services,
    attempt: SignInAttempt,
    now: i64,
) -> Result<SignIn, StoreError> {
    // A place for the password check first: a saturated pool refuses before
    // anything is read, counted or recorded.
    let Ok(reservation) = services.passwords.reserve() else {
        return Ok(SignIn::Busy);
    };
    let lookup = attempt.username.clone();
    let user = services
        .store
        .run(move |conn| users::find_by_username(conn, &lookup))
        .await?;
    let key = users::username_key(&attempt.username);
    let address = attempt.ip.clone().unwrap_or_else(|| "unknown".to_owned());
    // The same argon2 work whoever the user is and whatever the lock says.
    let hash = user.as_ref().map_or_else(
        || services.dummy_password_hash.clone(),
        |u| u.password_hash.clone(),
    );
    let checked = counted_check(
        services,
        reservation,
        (&key, &address),
        attempt.password,
        hash,
        now,
    )
    .await?;
    let Some((admission, matches)) = checked else {
        return Ok(SignIn::Busy);
    };
    let failure = match (&user, &admission) {
        (_, Admission::Locked) => Some(Failure::Locked),
        (None, _) => Some(Failure::UnknownUser),
        (Some(u), _) if u.disabled => Some(Failure::Disabled),
        (Some(_), _) if !matches => Some(Failure::WrongPassword),
        (Some(_), _) => None,
    };
    match (failure, user) {
        (None, Some(user)) => {
            let session = NewSession {
                request: attempt.request,
                ip: attempt.ip,
                previous_session: attempt.previous_session,
                throttle_key: key,
                throttle_address: address,
            };
            start_session(services, user, session, now).await
        }
        (Some(failure), user) => {
            let user_id = user.map(|u| u.id);
            let events =
                record_failed(services, user_id, failure, admission, attempt.ip, now).await?;
            let locks_started = events
                .iter()
                .filter(|e| e.kind == AuditKind::LoginLocked)
                .count() as u64;
            Ok(SignIn::Failed { locks_started })
        }
        (None, None) => Err(StoreError::Corrupt("a sign-in without a user".into())),
    }
}

/// One counted password check on a reserved hashing place: the attempt is counted
/// per (username `key`, `address`) and per username before argon2 runs, and argon2
/// runs whatever the counters say (the same work for a locked attempt). `None`: the
/// pool turned out saturated; nothing was checked.
async fn counted_check(
    services: &Services,
    reservation: Reservation<'_>,
    (key, address): (&str, &str),
    password: Secret<String>,
    hash: String,
    now: i64,
) -> Result<Option<(Admission, bool)>, StoreError> {
    let admission = {
        let (key, address) = (key.to_owned(), address.to_owned());
        services
            .store
            .transaction(move |conn| admit(conn, &key, &address, now))
            .await?
    };
    match reservation.verify(password, hash).await {
        Ok(matches) => Ok(Some((admission, matches))),
        Err(PoolError::Busy) => Ok(None),
        Err(PoolError::Stopped) => Err(StoreError::Blocking("password pool stopped".into())),
        Err(PoolError::Password(e)) => {
            Err(StoreError::Corrupt(format!("stored password hash: {e}")))
        }
    }
}

/// Records a failed attempt (and any lock it starts) and logs the events.
async fn record_failed(
    services: &Services,
    user_id: Option<String>,
    failure: Failure,
    admission: Admission,
    ip: Option<String>,
    now: i64,
) -> Result<Vec<AuditEvent>, StoreError> {
    let events = services
        .store
        .transaction(move |conn| {
            record_failure(
                conn,
                user_id.as_deref(),
                failure,
                &admission,
                ip.as_deref(),
                now,
            )
        })
        .await?;
    audit::log_all(&events);
    Ok(events)
}

/// Counts the attempt at `address` and at every address, unless a lock holds.
fn admit(conn: &mut DbConn, key: &str, address: &str, now: i64) -> Result<Admission, StoreError> {
    let Some(at_address) = count(conn, key, address, login::PER_ADDRESS, now)? else {
        return Ok(Admission::Locked);
    };
    let Some(at_account) = count(conn, key, login::ANY_ADDRESS, login::PER_ACCOUNT, now)? else {
        return Ok(Admission::Locked);
    };
    Ok(Admission::Counted {
        at_address,
        at_account,
    })
}

/// One more failure on the counter (`key`, `address`), unless it is locked under
/// `limit` (`None`). Compare-and-set: a concurrent attempt that changed the counter
/// first makes this one read it again, so every attempt is counted exactly once.
fn count(
    conn: &mut DbConn,
    key: &str,
    address: &str,
    limit: login::Limit,
    now: i64,
) -> Result<Option<Throttle>, StoreError> {
    for _ in 0..64 {
        let previous = login_throttles::find(conn, key, address)?;
        if previous.is_some_and(|t| t.is_locked(limit, now)) {
            return Ok(None);
        }
        let next = Throttle::counted(previous, now);
        if login_throttles::replace(conn, key, address, previous, next)? {
            return Ok(Some(next));
        }
    }
    Err(StoreError::Corrupt(
        "a login counter kept changing under 64 attempts to count".into(),
    ))
}

fn record_failure(
    conn: &mut DbConn,
    user_id: Option<&str>,
    failure: Failure,
    admission: &Admission,
    ip: Option<&str>,
    now: i64,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut failed = AuditEvent::new(AuditKind::LoginFailed)
        .ip(ip)
        .detail(serde_json::json!({ "reason": format!("{failure:?}") }));
    if let Some(id) = user_id {
        failed = failed.user(id);
    }
    let mut events = vec![failed];
    // An attempt that reached a threshold starts (or extends) a lock.
    if let (
        Some(id),
        Admission::Counted {
            at_address,
            at_account,
        },
    ) = (user_id, admission)
    {
        for (scope, counter, limit) in [
            ("address", at_address, login::PER_ADDRESS),
            ("account", at_account, login::PER_ACCOUNT),
        ] {
            if let Some(until) = counter
                .locked_until(limit)
                .filter(|_| counter.starts_lock(limit))
            {
                events.push(
                    AuditEvent::new(AuditKind::LoginLocked)
                        .user(id)
                        .ip(ip)
                        .detail(serde_json::json!({
                            "scope": scope,
                            "failures": counter.failures,
                            "locked_until": until,
                        })),
                );
            }
        }
    }
    for event in &events {
        event.record(conn, now)?;
    }
    Ok(events)
}

/// What a successful sign-in ends, starts and forgets.
struct NewSession {
    request: Option<ForRequest>,
    ip: Option<String>,
    previous_session: Option<String>,
    throttle_key: String,
    throttle_address: String,
}

async fn start_session(
    services: &Services,
    user: UserRow,
    new: NewSession,
    now: i64,
) -> Result<SignIn, StoreError> {
    let NewSession {
        request,
        ip,
        previous_session,
        throttle_key,
        throttle_address,
    } = new;
    let (session_id, session) = new_session(&user.id, services.config.lifetimes, now)?;
    let row = session.clone();
    let mut event = AuditEvent::new(AuditKind::LoginSucceeded)
        .user(&row.user_id)
        .ip(ip.as_deref())
        .detail(serde_json::json!({ "sid": row.sid, "amr": ["pwd"] }));
    if let Some(request) = &request {
        event = event.client(&request.client_id);
    }
    let recorded = event.clone();
    services
        .store
        .transaction(move |conn| {
            login_throttles::clear(
                conn,
                &throttle_key,
                &[throttle_address.as_str(), login::ANY_ADDRESS],
            )?;
            if let Some(previous) = &previous_session {
                sessions::end(conn, &token_hash(previous), now)?;
            }
            sessions::insert(conn, &row)?;
            if let Some(request) = &request {
                authorization_requests::mark_authenticated(conn, &request.pending_id, &row.sid)?;
            }
            recorded.record(conn, now)
        })
        .await?;
    audit::log(&event);
    Ok(SignIn::Succeeded {
        session_id,
        signed_in: SignedIn { session, user },
    })
}

/// A new password session of `user_id` starting `now`: the cookie value (shown
/// once) and the row (which keeps only its hash).
pub(crate) fn new_session(
    user_id: &str,
    lifetimes: Lifetimes,
    now: i64,
) -> Result<(String, SessionRow), StoreError> {
    let session_id = random::token()?;
    let row = SessionRow {
        id_hash: token_hash(&session_id),
        sid: random::identifier()?,
        user_id: user_id.to_owned(),
        auth_time: now,
        amr: r#"["pwd"]"#.to_owned(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + seconds(lifetimes.session_idle.min(lifetimes.session_absolute)),
        ended_at: None,
    };
    Ok((session_id, row))
}

/// How a check of a signed-in user's password ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PasswordCheck {
    Right,
    /// Wrong, or refused by a sign-in lock (which reads the same).
    Wrong,
    /// Password hashing is saturated: nothing was checked or counted.
    Busy,
}

/// Checks the signed-in `user`'s password as a sign-in is checked: counted first
/// per (username, client address) and per username, refused whatever it is while a
/// lock holds (after the same argon2 work on the bounded pool), failures recorded
/// as `login.failed` (and `login.locked`), and a right one forgets the failures. A
/// stolen session cookie therefore does not open a faster way to guess the password.
pub(crate) async fn check_password(
    services: &Services,
    user: &UserRow,
    password: Secret<String>,
    ip: Option<String>,
    now: i64,
) -> Result<PasswordCheck, StoreError> {
    let Ok(reservation) = services.passwords.reserve() else {
        return Ok(PasswordCheck::Busy);
    };
    let key = users::username_key(&user.username);
    let address = ip.clone().unwrap_or_else(|| "unknown".to_owned());
    let checked = counted_check(
        services,
        reservation,
        (&key, &address),
        password,
        user.password_hash.clone(),
        now,
    )
    .await?;
    let Some((admission, matches)) = checked else {
        return Ok(PasswordCheck::Busy);
    };
    if matches && matches!(admission, Admission::Counted { .. }) {
        services
            .store
            .transaction(move |conn| {
                login_throttles::clear(conn, &key, &[address.as_str(), login::ANY_ADDRESS])
            })
            .await?;
        return Ok(PasswordCheck::Right);
    }
    let failure = match admission {
        Admission::Locked => Failure::Locked,
        Admission::Counted { .. } => Failure::WrongPassword,
    };
    record_failed(services, Some(user.id.clone()), failure, admission, ip, now).await?;
    Ok(PasswordCheck::Wrong)
}

/// How a re-authentication ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reauthentication {
    /// The password was right: the session's `auth_time` is now.
    Confirmed,
    /// Wrong password (recorded as a failed sign-in).
    Refused,
    /// Password hashing is saturated; try again in a moment.
    Busy,
}

/// Asks the signed-in user for their password again before a sensitive action
/// (OIDC Core §3.1.2.1 `max_age` in spirit: a recent authentication), checked and
/// throttled as a sign-in ([`check_password`]). A right password moves the
/// session's `auth_time` to `now`.
pub async fn reauthenticate(
    services: &Services,
    signed_in: &SignedIn,
    password: Secret<String>,
    ip: Option<String>,
    now: i64,
) -> Result<Reauthentication, StoreError> {
    match check_password(services, &signed_in.user, password, ip.clone(), now).await? {
        PasswordCheck::Busy => return Ok(Reauthentication::Busy),
        PasswordCheck::Wrong => return Ok(Reauthentication::Refused),
        PasswordCheck::Right => {}
    }
    let (id_hash, sid) = (
        signed_in.session.id_hash.clone(),
        signed_in.session.sid.clone(),
    );
    let event = AuditEvent::new(AuditKind::LoginSucceeded)
        .user(&signed_in.user.id)
        .ip(ip.as_deref())
        .detail(serde_json::json!({ "sid": sid, "amr": ["pwd"], "reauthentication": true }));
    let recorded = event.clone();
    services
        .store
        .transaction(move |conn| {
            sessions::reauthenticated(conn, &id_hash, now)?;
            recorded.record(conn, now)
        })
        .await?;
    audit::log(&event);
    Ok(Reauthentication::Confirmed)
}

/// Ends the browser's session `session_id` of `user_id` (RP-Initiated Logout §2),
/// on behalf of `client_id` when a client asked.
pub async fn log_out(
    store: &Store,
    session_id: &str,
    user_id: &str,
    client_id: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    let id_hash = token_hash(session_id);
    let mut event = AuditEvent::new(AuditKind::Logout).user(user_id);
    if let Some(client) = client_id {
        event = event.client(client);
    }
    let recorded = event.clone();
    store
        .transaction(move |conn| {
            sessions::end(conn, &id_hash, now)?;
            recorded.record(conn, now)
        })
        .await?;
    audit::log(&event);
    Ok(())
}

/// Where a logout leads: the client (if any) and the checked return address.
pub struct LogoutDestination {
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    /// The registered `post_logout_redirect_uri` with `state`, if one was asked for.
    pub return_to: Option<String>,
}

/// Why a logout request is refused (an error page, nothing ends, no redirect).
pub enum LogoutRefused {
    Refused(LogoutError),
    Internal(StoreError),
}

impl From<StoreError> for LogoutRefused {
    fn from(e: StoreError) -> Self {
        LogoutRefused::Internal(e)
    }
}

/// The `id_token_hint` of a logout request: ours (expired or not) or not.
pub fn logout_hint(services: &Services, id_token_hint: Option<&str>) -> LogoutHint {
    match id_token_hint {
        None => LogoutHint::Absent,
        Some(token) => match our_id_token(&services.keys, &services.config, token) {
            Some(claims) => LogoutHint::Valid {
                subject: claims.sub,
                audience: claims.aud,
            },
            None => LogoutHint::NotOurs,
        },
    }
}

/// Checks the client and `post_logout_redirect_uri` of a logout request
/// (RP-Initiated Logout §2, §3): `client_id` must agree with the hint's `aud`, the
/// client must be registered and enabled, and the URI registered exactly for it.
pub async fn logout_destination(
    store: &Store,
    client_id: Option<&str>,
    post_logout_redirect_uri: Option<&str>,
    state: Option<&str>,
    hint: &LogoutHint,
) -> Result<LogoutDestination, LogoutRefused> {
    let client_id = logout::client_of(client_id, hint).map_err(LogoutRefused::Refused)?;
    let client =
        match &client_id {
            None => None,
            Some(id) => match super::clients::enabled(store, id).await? {
                Some(row) => {
                    let metadata = row.metadata()?;
                    Some((row.name, metadata.post_logout_redirect_uris))
                }
                None => return Err(LogoutRefused::Refused(LogoutError(
                    "The application that sent you here is not registered, or has been disabled."
                        .into(),
                ))),
            },
        };
    let return_to = logout::return_to(
        post_logout_redirect_uri,
        client.as_ref().map(|(_, uris)| uris.as_slice()),
        state,
    )
    .map_err(LogoutRefused::Refused)?;
    Ok(LogoutDestination {
        client_id,
        client_name: client.map(|(name, _)| name),
        return_to,
    })
}
