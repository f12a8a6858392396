//! Opening connections: the backend from the URL, SQLite tuned for a server.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

use std::path::Path;

use super::{DatabaseUrl, StoreError};

/// One open connection to either backend. Use [`crate::db_run!`] to query it.
pub enum DbConn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl DbConn {
    /// A round trip to the database.
    pub fn ping(&mut self) -> Result<(), StoreError> {
        match self {
            DbConn::Sqlite(c) => c.batch_execute("SELECT 1")?,
            DbConn::Postgres(c) => c.batch_execute("SELECT 1")?,
        }
        Ok(())
    }

    /// Runs `f` in a transaction: committed when it returns `Ok`, rolled back otherwise.
    /// Diesel's transaction manager tracks the state, so a connection left inside a
    /// transaction (a panic, a failed rollback) is seen as broken and never reused.
    pub fn transaction<T, F>(&mut self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, StoreError>,
    {
        self.transaction_with(f)
    }

    /// [`DbConn::transaction`] for a body with its own error type (one that a
    /// storage failure converts into): any `Err` rolls back.
    pub fn transaction_with<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce(&mut DbConn) -> Result<T, E>,
    {
        self.begin().map_err(E::from)?;
        match f(self) {
            Ok(value) => {
                self.commit().map_err(E::from)?;
                Ok(value)
            }
            Err(e) => {
                // The original error matters more; a failed rollback leaves the
                // connection marked broken, and the pool drops it.
                let _ = self.rollback();
                Err(e)
            }
        }
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        match self {
            // IMMEDIATE takes the write lock up front: no deadlock-prone lock upgrade.
            DbConn::Sqlite(c) => {
                AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
            }
            DbConn::Postgres(c) => AnsiTransactionManager::begin_transaction(c)?,
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        match self {
            DbConn::Sqlite(c) => AnsiTransactionManager::commit_transaction(c)?,
            DbConn::Postgres(c) => AnsiTransactionManager::commit_transaction(c)?,
        }
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StoreError> {
        match self {
            DbConn::Sqlite(c) => AnsiTransactionManager::rollback_transaction(c)?,
            DbConn::Postgres(c) => AnsiTransactionManager::rollback_transaction(c)?,
        }
        Ok(())
    }

    /// True when the connection is inside a transaction or its transaction state is
    /// unknown: it must not go back to the pool.
    fn is_unusable(&mut self) -> bool {
        let depth = match self {
            DbConn::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c)
                .transaction_depth()
                .map(|d| d.is_some()),
            DbConn::Postgres(c) => AnsiTransactionManager::transaction_manager_status_mut(c)
                .transaction_depth()
                .map(|d| d.is_some()),
        };
        depth.unwrap_or(true)
    }
}

/// SQLite settings applied to every connection: WAL for concurrent readers, foreign
/// keys enforced, and a busy timeout so writers wait instead of failing at once.
/// The busy timeout comes first, so switching to WAL waits for a lock too. Each
/// connection's page cache is 1 MiB (SQLite's default is 2 MiB, times `pool_size`
/// connections): the tables are small and the OS caches the file anyway.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA cache_size = -1024;";

/// The r2d2 manager: connects by URL scheme, checks connections before handing them out.
pub struct ConnectionManager {
    url: DatabaseUrl,
    statement_cache: bool,
}

impl ConnectionManager {
    /// A manager for `url`; `statement_cache: false` makes Postgres connections use
    /// unnamed statements only (diesel sends them with the query, in one round trip
    /// of the same transaction: what PgBouncer's transaction mode needs).
    pub fn new(url: DatabaseUrl, statement_cache: bool) -> Self {
        ConnectionManager {
            url,
            statement_cache,
        }
    }

    /// Opens a new connection with the driver's own error on failure.
    pub fn establish(&self) -> Result<DbConn, StoreError> {
        match &self.url {
            DatabaseUrl::Sqlite { path } => {
                let path = path.to_str().ok_or_else(|| {
                    StoreError::Connect(diesel::ConnectionError::InvalidConnectionUrl(
                        "the SQLite path is not valid UTF-8".to_owned(),
                    ))
                })?;
                create_private_file(Path::new(path))?;
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(SQLITE_PRAGMAS)?;
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseUrl::Postgres { url } => {
                let mut conn = PgConnection::establish(url)?;
                if !self.statement_cache {
                    conn.set_prepared_statement_cache_size(diesel::connection::CacheSize::Disabled);
                }
                Ok(DbConn::Postgres(conn))
            }
        }
    }
}

/// Creates a missing SQLite file readable by its owner only (0600): it holds password
/// hashes and server keys. SQLite gives its `-wal` and `-shm` files the same mode.
fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Connect(diesel::ConnectionError::BadConnection(
            format!("cannot create the SQLite file {}: {e}", path.display()),
        ))),
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = StoreError;

    fn connect(&self) -> Result<DbConn, StoreError> {
        self.establish()
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), StoreError> {
        conn.ping()
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_unusable()
    }
}
