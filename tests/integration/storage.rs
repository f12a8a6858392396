//! Storage rules that hold on both backends.

use diesel::connection::SimpleConnection;
use portcullis::store::{server_secrets, DbConn};

use crate::support::{portcullis, TestDb};

fn migrated(db: &TestDb) -> DbConn {
    assert!(portcullis(db, &["migrate"], None).status.success());
    db.connect()
}

fn execute(conn: &mut DbConn, sql: &str) -> Result<(), diesel::result::Error> {
    match conn {
        DbConn::Sqlite(c) => c.batch_execute(sql),
        DbConn::Postgres(c) => c.batch_execute(sql),
    }
}

#[test]
fn foreign_keys_are_enforced() {
    let db = TestDb::new();
    let mut conn = migrated(&db);
    let err = execute(
        &mut conn,
        "INSERT INTO consents (user_id, client_id, scope, granted_at, updated_at) \
         VALUES ('no-such-user', 'no-such-client', 'openid', 0, 0)",
    );
    assert!(err.is_err(), "a consent for a missing user must be refused");
}

#[test]
fn at_most_one_active_signing_key_per_algorithm() {
    let db = TestDb::new();
    let mut conn = migrated(&db);
    let insert = |kid: &str| {
        format!(
            "INSERT INTO signing_keys (kid, alg, state, public_jwk, private_key_encrypted, created_at, activates_at) \
             VALUES ('{kid}', 'ES256', 'active', '{{}}', 'x', 0, 0)"
        )
    };
    execute(&mut conn, &insert("k1")).unwrap();
    assert!(execute(&mut conn, &insert("k2")).is_err());
}

#[test]
fn server_secret_is_created_once_and_kept() {
    let db = TestDb::new();
    let mut conn = migrated(&db);
    let first = server_secrets::get_or_create(&mut conn, "k", 1, || Ok("one".into())).unwrap();
    let again = server_secrets::get_or_create(&mut conn, "k", 2, || Ok("two".into())).unwrap();
    assert_eq!((first.as_str(), again.as_str()), ("one", "one"));
}

#[test]
fn concurrent_first_starts_agree_on_one_server_secret() {
    let db = TestDb::new();
    drop(migrated(&db));
    let values: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let db = &db;
                s.spawn(move || {
                    let mut conn = db.connect();
                    server_secrets::get_or_create(&mut conn, "race", 0, || Ok(format!("v{i}")))
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(values.windows(2).all(|w| w[0] == w[1]), "{values:?}");
}

#[test]
fn sqlite_runs_in_wal_mode_with_foreign_keys() {
    let db = TestDb::new();
    if db.is_postgres() {
        return;
    }
    let mut conn = migrated(&db);
    let DbConn::Sqlite(c) = &mut conn else {
        unreachable!()
    };
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(c)
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
}

#[test]
fn postgres_tls_is_compiled_into_the_bundled_libpq() {
    // With TLS missing from libpq, `sslmode=require` fails as an invalid option
    // before any connection is tried; with it, the error (if any) is the server's.
    let url = "postgres://postgres@127.0.0.1:1/test?sslmode=require";
    let err = match portcullis::store::ConnectionManager::new(
        portcullis::store::DatabaseUrl::parse(url).unwrap(),
    )
    .establish()
    {
        Ok(_) => panic!("nothing listens on port 1"),
        Err(e) => e.to_string(),
    };
    assert!(!err.contains("not compiled in"), "{err}");
    assert!(!err.contains("invalid sslmode"), "{err}");
}
