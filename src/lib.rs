//! Portcullis: an OAuth 2 / OpenID Connect authorization server.
//!
//! [`run`] starts the real server on a listener you bind, so integration tests run it
//! in-process on `127.0.0.1:0`; `main.rs` does the same for `portcullis serve`.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod http;
pub mod keys;
pub mod protocol;
pub mod service;
pub mod store;
pub mod views;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::SystemTime;

use actix_web::dev::Server;
use actix_web::{web, HttpServer};

use clock::{Clock, SystemClock};
use config::Config;
use keys::{KeyError, KeyRing};
use store::{migrations, Store, StoreError};

/// How [`run`] starts the server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Apply pending migrations first (`serve` without `--no-migrate`).
    pub migrate: bool,
    /// HTTP worker threads; `None` means one per core.
    pub workers: Option<usize>,
    /// Stop gracefully on SIGTERM / SIGINT (off in tests, where the harness owns signals).
    pub handle_signals: bool,
    /// Where time comes from: the system clock, or a test's manual clock.
    pub clock: Arc<dyn Clock>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            migrate: true,
            workers: None,
            handle_signals: true,
            clock: Arc::new(SystemClock),
        }
    }
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot hash the dummy password: {0}")]
    Password(#[from] crypto::password::PasswordError),
    #[error("the database schema is {0} migration(s) behind; run `portcullis migrate` or start without --no-migrate")]
    SchemaBehind(usize),
    #[error("cannot render the server metadata: {0}")]
    Metadata(#[from] serde_json::Error),
    #[error("signing keys: {0}")]
    Keys(#[from] KeyError),
    #[error("cannot start the HTTP server: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Random(#[from] crypto::RandomError),
    #[error(transparent)]
    RateLimit(#[from] http::rate_limit::BudgetError),
    #[error("TLS: {0}")]
    Tls(#[from] http::tls::TlsError),
}

/// A started server and the keys it signs with.
pub struct Started {
    /// Await it to serve until it stops; its handle stops it.
    pub server: Server,
    /// The server's signing keys (tests sign and rotate through it).
    pub keys: Arc<KeyRing>,
    /// The first-run setup link, when the database has no enabled admin (also logged).
    pub setup_link: Option<String>,
    /// The batching audit writer: flush it once the server has stopped.
    pub audit: store::audit_writer::AuditWriter,
}

/// Opens the database, migrates (or checks the schema), loads the server's keys and
/// returns the running server. Await the [`Server`] to serve until it stops; its
/// handle stops it.
pub async fn run(
    config: Config,
    listener: TcpListener,
    options: ServeOptions,
) -> Result<Server, StartError> {
    Ok(start(config, listener, options).await?.server)
}

/// [`run`], also handing back the key ring.
pub async fn start(
    config: Config,
    listener: TcpListener,
    options: ServeOptions,
) -> Result<Started, StartError> {
    keys::jwt_provider::install();
    let config = Arc::new(config);
    let url = config.database_url.clone();
    let pool = store::PoolSettings::of(&config, config.pool_size);
    let migrate = options.migrate;
    let argon2 = config.argon2;
    let (store, secret_hasher, successors, dummy_password_hash) =
        tokio::task::spawn_blocking(move || {
            let store = Store::open(&url, &pool)?;
            let mut conn = store.conn()?;
            if migrate {
                for version in migrations::run_pending(&mut conn)? {
                    tracing::info!(version, "applied migration");
                }
            } else {
                let behind = migrations::pending_count(&mut conn)?;
                if behind > 0 {
                    return Err(StartError::SchemaBehind(behind));
                }
            }
            let now = store::unix_seconds(SystemTime::now());
            let hasher = service::clients::secret_hasher(&mut conn, now)?;
            let successors = service::clients::successor_deriver(&mut conn, now)?;
            drop(conn);
            let dummy =
                crypto::password::hash(&argon2, &crypto::Secret::new(crypto::random::token()?))?;
            Ok::<_, StartError>((store, hasher, successors, dummy))
        })
        .await
        .map_err(|e| StoreError::Blocking(e.to_string()))??;

    let metrics_listener = match config.metrics.bind {
        Some(addr) => Some(TcpListener::bind(addr)?),
        None => None,
    };
    let metrics_listener_addr = match &metrics_listener {
        Some(listener) => Some(listener.local_addr()?),
        None => None,
    };
    let keys = KeyRing::open(store.clone(), &config, options.clock.clone()).await?;
    let audit = store::audit_writer::AuditWriter::start(store.clone());
    keys.spawn_reloader();
    let state = web::Data::new(http::AppState {
        services: service::Services {
            config: config.clone(),
            store,
            keys: keys.clone(),
            secret_hasher,
            successors,
            dummy_password_hash,
            passwords: crypto::password_pool::PasswordPool::start(
                config.password_hashing.workers,
                config.password_hashing.queue,
            )?,
            audit: audit.clone(),
        },
        clock: options.clock.clone(),
        discovery: http::discovery::Documents::render(&config)?,
        cookies: http::cookies::Cookies::for_issuer(
            &config.issuer,
            config.session_cookie_persistent,
        ),
        rate_limits: http::rate_limit::Limiters::new(
            &config.rate_limits,
            &config.trusted_proxies,
            config.forwarded_header,
        )?,
        base_path: http::base_path(&config.issuer),
        metrics: http::metrics::Metrics::default(),
        metrics_listener: http::metrics::MetricsListener(metrics_listener_addr),
        playground: http::playground::Playground::default(),
    });
    let setup_link = offer_setup(&state).await?;
    spawn_purge(&state);
    spawn_limiter_pruning(&state);
    let workers = options.workers.unwrap_or_else(cores);
    let mut server = HttpServer::new(move || http::app(state.clone()))
        .shutdown_timeout(10)
        .workers(workers)
        .worker_max_blocking_threads(blocking_threads(config.pool_size, workers));
    if !options.handle_signals {
        server = server.disable_signals();
    }
    if let Some(listener) = metrics_listener {
        server = server.listen(listener)?;
    }
    if config.tls.is_none() && options.handle_signals {
        ignore_hangup();
    }
    let server = match &config.tls {
        Some(files) => {
            let resolver = http::tls::CertificateResolver::load(files)?;
            resolver.spawn_reloader();
            server.listen_rustls_0_23(listener, http::tls::server_config(resolver)?)?
        }
        None => server.listen(listener)?,
    };
    Ok(Started {
        server: server.run(),
        keys,
        setup_link,
        audit,
    })
}

/// The cores this process may run on.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Threads for each of `pools` blocking pools (each HTTP worker has its own): they
/// run database work, which needs one of `pool_size` connections, and signing
/// right after a commit, which needs a core; passwords have their own workers.
/// More threads would only wait — on the connection pool or for a core — and each
/// one parked and woken again is two context switches per request; with no more
/// than this, a busy thread takes the next task from the queue itself.
pub fn blocking_threads(pool_size: u32, pools: usize) -> usize {
    (pool_size as usize + cores()).div_ceil(pools.max(1)).max(2)
}

/// On a database without an enabled admin, logs a one-time link where the first
/// admin chooses a username and password (DESIGN.md §2): the token in it is random,
/// single use, valid for an hour and stored only as a hash. No password is ever
/// logged or set by default.
async fn offer_setup(state: &web::Data<http::AppState>) -> Result<Option<String>, StartError> {
    let now = state.clock.now();
    let Some(token) = service::setup::offer(&state.services.store, now).await? else {
        return Ok(None);
    };
    let issuer = state.services.config.issuer.trim_end_matches('/');
    let link = format!("{issuer}{}?token={token}", http::setup::SETUP_PATH);
    tracing::warn!(
        target: "portcullis::setup",
        "first-run setup: open {link} within 1 hour to create the first admin (or run `portcullis user create --admin`)"
    );
    Ok(Some(link))
}

/// Every 10 minutes, deletes expired codes, sessions, families and revoked token
/// ids, and audit events past `audit_retention`, until the server's state is dropped.
/// With several instances on one database, the one that claims the purge lease does
/// it (`service::audit::purge`); the others skip that round.
fn spawn_purge(state: &web::Data<http::AppState>) {
    let weak = Arc::downgrade(&state.clone().into_inner());
    let holder = crypto::random::identifier().unwrap_or_else(|_| "instance".to_owned());
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(600));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let Some(state) = weak.upgrade() else { break };
            let services = &state.services;
            let retention = clock::seconds(services.config.audit_retention);
            let now = state.clock.now();
            match service::audit::purge(&services.store, retention, &holder, now).await {
                Ok(Some(0)) => {}
                Ok(Some(n)) => tracing::info!(rows = n, "purged expired rows"),
                Ok(None) => tracing::debug!("another instance holds the purge lease"),
                Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
            }
        }
    });
}

/// Every minute, forgets the rate-limit state of addresses whose budget is full
/// again, so the limiters' memory follows the live clients, not every client ever.
fn spawn_limiter_pruning(state: &web::Data<http::AppState>) {
    let weak = Arc::downgrade(&state.clone().into_inner());
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(std::time::Duration::from_secs(60));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            let Some(state) = weak.upgrade() else { break };
            let tracked = state.rate_limits.prune();
            tracing::debug!(tracked, "pruned rate-limit state");
        }
    });
}

/// SIGHUP (`systemctl reload`) reloads the TLS certificate when there is one; without
/// one there is nothing to reload, and the default action — ending the process, which
/// systemd counts as a clean exit and does not restart — must not happen either.
fn ignore_hangup() {
    #[cfg(unix)]
    tokio::spawn(async {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hangup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hangup.recv().await.is_some() {
            tracing::info!("SIGHUP: no TLS certificate to reload; nothing else reloads");
        }
    });
}
