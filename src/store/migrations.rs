//! Migrations for both backends, embedded in the binary. `migrations/sqlite` and
//! `migrations/postgres` hold folders of the same names (a test checks it).

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{DbConn, StoreError};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Postgres advisory lock key held while migrating, so instances starting together
/// do not run the same migration twice.
const MIGRATION_LOCK: i64 = 0x706f_7274_6375; // "portcu"

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(conn: &mut DbConn) -> Result<Vec<String>, StoreError> {
    let err = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    let names = |versions: Vec<diesel::migration::MigrationVersion<'_>>| {
        versions.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    match conn {
        DbConn::Sqlite(c) => Ok(names(c.run_pending_migrations(SQLITE).map_err(err)?)),
        DbConn::Postgres(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let result = c.run_pending_migrations(POSTGRES).map(names).map_err(err);
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            result
        }
    }
}

/// How many migrations are not yet applied.
pub fn pending_count(conn: &mut DbConn) -> Result<usize, StoreError> {
    let err = |e: Box<dyn std::error::Error + Send + Sync>| StoreError::Migration(e.to_string());
    Ok(match conn {
        DbConn::Sqlite(c) => c.pending_migrations(SQLITE).map_err(err)?.len(),
        DbConn::Postgres(c) => c.pending_migrations(POSTGRES).map_err(err)?.len(),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    fn folder_names(backend: &str) -> BTreeSet<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.path().is_dir())
            .map(|e| {
                for file in ["up.sql", "down.sql"] {
                    assert!(e.path().join(file).is_file(), "{:?} lacks {file}", e.path());
                }
                e.file_name().to_string_lossy().into_owned()
            })
            .collect()
    }

    #[test]
    fn sqlite_and_postgres_migrations_pair_up() {
        let sqlite = folder_names("sqlite");
        let postgres = folder_names("postgres");
        assert!(!sqlite.is_empty());
        assert_eq!(
            sqlite, postgres,
            "migration folders must have the same names"
        );
    }
}
