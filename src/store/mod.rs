//! Storage: one diesel schema served by SQLite and Postgres.
//!
//! The backend is chosen by the URL scheme ([`DatabaseUrl`]). A [`DbConn`] is an enum
//! over the two concrete connections and [`db_run!`] expands a query once per backend,
//! so every query is type-checked against both. Queries are blocking: request handlers
//! reach them through [`Store::run`], which moves them to the blocking pool.
//!
//! A lookup by a unique key reads its row with `get_result`, not `first`: `first`
//! adds `LIMIT ?`, and SQLite marks a statement whose LIMIT is a bound parameter
//! for recompilation at every new binding, so a cached statement was parsed and
//! planned again on every query (13 % of the server's CPU in a refresh profile).

pub mod audit;
pub mod audit_writer;
pub mod authorization_codes;
pub mod authorization_requests;
pub mod client_cache;
pub mod clients;
mod connection;
pub mod consents;
pub mod login_throttles;
pub mod migrations;
pub mod purge;
pub mod refresh_tokens;
pub mod resources;
pub mod revoked_access_tokens;
pub mod schema;
pub mod server_secrets;
pub mod sessions;
pub mod setup_tokens;
pub mod signing_keys;
pub mod task_leases;
pub mod users;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub use crate::clock::unix_seconds;
pub use crate::config::database_url::{DatabaseUrl, DatabaseUrlError};
pub use connection::{ConnectionManager, DbConn};

/// Runs the same diesel code on whichever backend `$conn` holds.
///
/// `db_run!(conn, |c| users::table.load::<UserRow>(c))`
#[macro_export]
macro_rules! db_run {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::store::DbConn::Sqlite($c) => $body,
            $crate::store::DbConn::Postgres($c) => $body,
        }
    };
}

/// What went wrong below the protocol.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("the SQLite database file {0} is missing")]
    SqliteFileMissing(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the blocking task failed: {0}")]
    Blocking(String),
    /// A conditional write found the row changed: another instance got there first.
    #[error("concurrent change: {0}")]
    Conflict(&'static str),
    #[error("the database did not answer in time")]
    Timeout,
    #[error(transparent)]
    Random(#[from] crate::crypto::RandomError),
}

impl StoreError {
    /// True when the database cannot be reached now — no connection within the
    /// pool's wait, a connection refused or lost mid-query, a probe that timed out —
    /// as opposed to a query the database refused. Requests answer 503 with
    /// `Retry-After` for these, and the instance recovers by itself when the database
    /// returns (the pool tests every connection before handing it out).
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        matches!(
            self,
            StoreError::Pool(_)
                | StoreError::Connect(_)
                | StoreError::Timeout
                | StoreError::Query(
                    Error::DatabaseError(
                        DatabaseErrorKind::ClosedConnection
                            | DatabaseErrorKind::UnableToSendCommand,
                        _,
                    ) | Error::BrokenTransactionManager
                )
        )
    }

    /// True when the error is a unique-constraint violation (a duplicate key).
    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        )
    }
}

/// How the pool connects and waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    /// Connections kept at most.
    pub size: u32,
    /// How long a request waits for a connection (and libpq for the server).
    pub wait: Duration,
    /// Named prepared statements on Postgres (off for PgBouncer transaction mode).
    pub statement_cache: bool,
}

impl PoolSettings {
    /// The pool of `config`, with `size` connections.
    pub fn of(config: &crate::config::Config, size: u32) -> PoolSettings {
        PoolSettings {
            size,
            wait: config.database_timeout,
            statement_cache: config.postgres_statement_cache,
        }
    }
}

/// Connections of the pool by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    pub idle: u32,
    pub in_use: u32,
    pub max: u32,
}

/// The connection pool and the URL it serves.
#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<ConnectionManager>,
    url: DatabaseUrl,
    /// SQLite has one writer at a time: transactions of this process take turns
    /// here, on the blocking thread that will run them and before taking a pooled
    /// connection, instead of sleeping in SQLite's busy handler on `BEGIN
    /// IMMEDIATE` with a connection each (DESIGN.md §6). The turn passes straight
    /// from one writer's thread to the next: a queue on the async side would hold
    /// it while the next writer's task is woken and then its blocking thread.
    /// `None` on Postgres, whose row locks let writers overlap.
    writer: Option<Arc<Mutex<()>>>,
    /// Clients already read (SQLite; see [`client_cache`]).
    clients: Arc<client_cache::ClientCache>,
}

impl Store {
    /// Opens one connection first so a bad URL, a refused connection or a missing
    /// database fails here with the driver's own message, then builds the pool.
    ///
    /// `wait` bounds how long a request waits for a connection (and, on Postgres,
    /// libpq's connect and TCP timeouts): while the database is away, requests fail
    /// within it instead of hanging.
    pub fn open(url: &DatabaseUrl, pool: &PoolSettings) -> Result<Store, StoreError> {
        let (pool_size, wait) = (pool.size, pool.wait);
        let manager = ConnectionManager::new(url.with_timeouts(wait), pool.statement_cache);
        let first = manager.establish()?;
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            // A Postgres connection can die with the server (a restart, a failover):
            // checked before use, a dead one is replaced instead of failing a
            // request. A SQLite connection is a file handle: nothing to check, and
            // the check would cost a statement per checkout.
            .test_on_check_out(matches!(url, DatabaseUrl::Postgres { .. }))
            .connection_timeout(wait)
            .idle_timeout(Some(Duration::from_secs(600)))
            .build_unchecked(manager);
        drop(first);
        let writer = match url {
            DatabaseUrl::Sqlite { .. } => Some(Arc::new(Mutex::new(()))),
            DatabaseUrl::Postgres { .. } => None,
        };
        Ok(Store {
            pool,
            url: url.clone(),
            writer,
            clients: Arc::new(client_cache::ClientCache::new(url)),
        })
    }

    /// How the connection pool is used now (for metrics).
    pub fn pool_usage(&self) -> PoolUsage {
        let state = self.pool.state();
        PoolUsage {
            idle: state.idle_connections,
            in_use: state.connections - state.idle_connections,
            max: self.pool.max_size(),
        }
    }

    /// The clients this process has read.
    pub fn client_cache(&self) -> &client_cache::ClientCache {
        &self.clients
    }

    /// The URL this store was opened with.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// A pooled connection, waiting at most the pool's timeout. Blocking.
    pub fn conn(&self) -> Result<r2d2::PooledConnection<ConnectionManager>, StoreError> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, off the async executor.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Blocking(e.to_string()))?
    }

    /// [`Store::run`] for a body with its own error type (one that a storage
    /// failure converts into).
    pub async fn run_with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Blocking(e.to_string()))?
    }

    /// Runs `f` in one transaction on a pooled connection, on the blocking pool:
    /// committed when it returns `Ok`, rolled back otherwise.
    pub async fn transaction<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.transaction_then(f, Ok).await
    }

    /// [`Store::transaction`] for a body with its own error type.
    pub async fn transaction_with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
    {
        self.transaction_then(f, Ok).await
    }

    /// [`Store::transaction_with`], then `then` with its result on the same blocking
    /// thread once it has committed and given up the writer turn: CPU work that
    /// must follow the commit (signing the answer) without a second trip through
    /// the blocking pool, and without holding SQLite's one writer. The work runs
    /// to its end even if the request that asked is dropped meanwhile.
    pub async fn transaction_then<T, U, E, F, G>(&self, f: F, then: G) -> Result<U, E>
    where
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        G: FnOnce(T) -> Result<U, E> + Send + 'static,
        U: Send + 'static,
    {
        let writer = self.writer.clone();
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let committed = {
                // A writer that panicked poisoned nothing: its transaction was
                // rolled back with its connection.
                let _turn = writer
                    .as_ref()
                    .map(|w| w.lock().unwrap_or_else(PoisonError::into_inner));
                let mut conn = pool.get().map_err(StoreError::from)?;
                conn.transaction_with(f)?
            };
            then(committed)
        })
        .await
        .map_err(|e| StoreError::Blocking(e.to_string()))?
    }

    /// Readiness: the database answers a query within `timeout` (and, for SQLite,
    /// the file is still where it was opened: a deleted file means lost writes).
    pub async fn check_ready(&self, timeout: Duration) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        let url = self.url.clone();
        let check = tokio::task::spawn_blocking(move || {
            if let DatabaseUrl::Sqlite { path } = &url {
                if !path.exists() {
                    return Err(StoreError::SqliteFileMissing(path.display().to_string()));
                }
            }
            // The database answers a query on a pooled connection.
            let mut conn = pool.get_timeout(timeout)?;
            conn.ping()
        });
        // A database that stops answering mid-query must not hang the probe.
        match tokio::time::timeout(timeout * 2, check).await {
            Ok(joined) => joined.map_err(|e| StoreError::Blocking(e.to_string()))?,
            Err(_) => Err(StoreError::Timeout),
        }
    }
}
