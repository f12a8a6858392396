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

/// SQLite's WAL lets readers through while a writer holds its transaction (and the
/// server turns it on with foreign keys for every connection); Postgres always writes
/// ahead and never blocks readers on writers. Asserted per backend by its own settings,
/// and on both by behaviour: a reader during an open write transaction neither waits
/// nor sees the uncommitted row, and a dangling foreign key is refused.
#[test]
fn the_database_runs_with_a_write_ahead_log_and_foreign_keys() {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct TextValue {
        #[diesel(sql_type = diesel::sql_types::Text)]
        value: String,
    }
    #[derive(QueryableByName)]
    struct JournalMode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    #[derive(QueryableByName)]
    struct ForeignKeys {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        foreign_keys: i64,
    }
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }

    let db = TestDb::new();
    let mut conn = migrated(&db);
    match &mut conn {
        DbConn::Sqlite(c) => {
            let mode: JournalMode = diesel::sql_query("PRAGMA journal_mode")
                .get_result(c)
                .unwrap();
            assert_eq!(mode.journal_mode, "wal");
            let fk: ForeignKeys = diesel::sql_query("PRAGMA foreign_keys")
                .get_result(c)
                .unwrap();
            assert_eq!(fk.foreign_keys, 1, "foreign_keys is on for the connection");
            let constraints: Count =
                diesel::sql_query("SELECT count(*) AS n FROM pragma_foreign_key_list('consents')")
                    .get_result(c)
                    .unwrap();
            assert!(constraints.n >= 2, "consents references users and clients");
        }
        DbConn::Postgres(c) => {
            // Postgres has no mode without a write-ahead log; `minimal` is its least.
            let level: TextValue =
                diesel::sql_query("SELECT current_setting('wal_level') AS value")
                    .get_result(c)
                    .unwrap();
            assert!(
                ["minimal", "replica", "logical"].contains(&level.value.as_str()),
                "wal_level = {}",
                level.value
            );
            let constraints: Count = diesel::sql_query(
                "SELECT count(*) AS n FROM information_schema.table_constraints \
                 WHERE table_schema = current_schema() AND table_name = 'consents' \
                 AND constraint_type = 'FOREIGN KEY'",
            )
            .get_result(c)
            .unwrap();
            assert!(constraints.n >= 2, "consents references users and clients");
        }
    }

    // A reader, connected first (opening a connection sets the pragmas)…
    let mut reader = db.connect();
    // …while a writer holds an open transaction with an uncommitted row…
    let begin = if db.is_postgres() {
        "BEGIN"
    } else {
        "BEGIN IMMEDIATE"
    };
    execute(&mut conn, begin).unwrap();
    execute(
        &mut conn,
        "INSERT INTO server_secrets (name, value, created_at) VALUES ('wal-probe', 'x', 0)",
    )
    .unwrap();
    // …reads at once (SQLite would answer SQLITE_BUSY after its busy timeout were it
    // blocked), without seeing the row.
    let count_probe = |conn: &mut DbConn| -> i64 {
        let count: Count = portcullis::db_run!(conn, |c| diesel::sql_query(
            "SELECT count(*) AS n FROM server_secrets WHERE name = 'wal-probe'"
        )
        .get_result(c))
        .unwrap();
        count.n
    };
    assert_eq!(count_probe(&mut reader), 0, "no dirty read");
    execute(&mut conn, "COMMIT").unwrap();
    assert_eq!(count_probe(&mut reader), 1, "committed, then visible");

    // Foreign keys hold on this connection too.
    assert!(
        execute(
            &mut reader,
            "INSERT INTO consents (user_id, client_id, scope, granted_at, updated_at) \
             VALUES ('no-such-user', 'no-such-client', 'openid', 0, 0)",
        )
        .is_err(),
        "a consent for a missing user must be refused"
    );
}

#[test]
fn postgres_tls_is_compiled_into_the_bundled_libpq() {
    // With TLS missing from libpq, `sslmode=require` fails as an invalid option
    // before any connection is tried; with it, the error (if any) is the server's.
    let url = "postgres://postgres@127.0.0.1:1/test?sslmode=require";
    let err = match portcullis::store::ConnectionManager::new(
        portcullis::store::DatabaseUrl::parse(url).unwrap(),
        true,
    )
    .establish()
    {
        Ok(_) => panic!("nothing listens on port 1"),
        Err(e) => e.to_string(),
    };
    assert!(!err.contains("not compiled in"), "{err}");
    assert!(!err.contains("invalid sslmode"), "{err}");
}

/// PgBouncer in transaction mode (before 1.21) cannot keep named prepared
/// statements: with `postgres_statement_cache = false` every query is an unnamed
/// statement sent with its parameters, and the whole protocol still works (on
/// SQLite the setting changes nothing).
#[tokio::test]
async fn the_server_works_without_named_prepared_statements() {
    use crate::oauth_support::tokens_for;
    let app = crate::support::TestApp::start_on(
        std::sync::Arc::new(TestDb::new()),
        &[("PORTCULLIS_POSTGRES_STATEMENT_CACHE", "false".into())],
    )
    .await;
    let service = app.service_client();
    let answer = app
        .token(&service, &[("grant_type", "client_credentials")])
        .await;
    assert_eq!(answer.status(), 200);
    let client = app.code_client();
    let user = app.create_user("pat");
    let tokens = tokens_for(&app, &client, &user, "openid offline_access").await;
    let refreshed = app
        .token(
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(refreshed.status(), 200);
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.introspect(&client, access).await["active"], true);
}
