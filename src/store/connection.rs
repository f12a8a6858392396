//! Opening connections: the backend from the URL, SQLite tuned for a server.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;

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
    pub fn transaction<T, F>(&mut self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, StoreError>,
    {
        // Diesel's transaction manager works on the concrete connection; begin/commit
        // by hand so the closure still sees the enum.
        let begin = match self {
            // IMMEDIATE takes the write lock up front: no deadlock-prone lock upgrade.
            DbConn::Sqlite(_) => "BEGIN IMMEDIATE",
            DbConn::Postgres(_) => "BEGIN",
        };
        self.batch(begin)?;
        match f(self) {
            Ok(value) => {
                self.batch("COMMIT")?;
                Ok(value)
            }
            Err(e) => {
                // The original error matters more than a failed rollback.
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        match self {
            DbConn::Sqlite(c) => c.batch_execute(sql)?,
            DbConn::Postgres(c) => c.batch_execute(sql)?,
        }
        Ok(())
    }
}

/// SQLite settings applied to every connection: WAL for concurrent readers, foreign
/// keys enforced, and a busy timeout so writers wait instead of failing at once.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA busy_timeout = 5000;";

/// The r2d2 manager: connects by URL scheme, checks connections before handing them out.
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        ConnectionManager { url }
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
                let mut conn = SqliteConnection::establish(path)?;
                conn.batch_execute(SQLITE_PRAGMAS)?;
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseUrl::Postgres { url } => Ok(DbConn::Postgres(PgConnection::establish(url)?)),
        }
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

    fn has_broken(&self, _conn: &mut DbConn) -> bool {
        false
    }
}
