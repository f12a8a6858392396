//! The test harness: [`TestDb`] (an isolated database) and [`TestApp`] (the real
//! server on 127.0.0.1:0 against it), plus a runner for the real binary.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use portcullis::clock::ManualClock;
use portcullis::config::Config;
use portcullis::keys::{KeyRing, MasterKey};
use portcullis::store::{ConnectionManager, DatabaseUrl, DbConn};
use portcullis::{ServeOptions, StartError};

/// Env var naming the Postgres server to test against (a database we may create in).
pub const POSTGRES_ENV: &str = "PORTCULLIS_TEST_POSTGRES_URL";

/// One test's own database, removed when dropped.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    postgres: Option<PostgresDb>,
    /// Given to Postgres instances, which have no SQLite file to keep a key file beside.
    master_key: Option<String>,
}

struct PostgresDb {
    admin_url: String,
    name: String,
}

impl TestDb {
    pub fn new() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        match std::env::var(POSTGRES_ENV) {
            Ok(admin_url) if !admin_url.is_empty() => {
                let admin_url = without_tls(&admin_url);
                let suffix: String = portcullis::crypto::random::bytes::<8>()
                    .unwrap()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let name = format!("portcullis_test_{suffix}");
                let mut admin = PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("{POSTGRES_ENV}={admin_url}: {e}"));
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap();
                let mut url = url::Url::parse(&admin_url).unwrap();
                url.set_path(&format!("/{name}"));
                TestDb {
                    url: url.to_string(),
                    dir,
                    postgres: Some(PostgresDb { admin_url, name }),
                    master_key: Some(MasterKey::generate().unwrap().to_base64()),
                }
            }
            _ => {
                let url = format!("sqlite://{}", dir.path().join("portcullis.db").display());
                TestDb {
                    url,
                    dir,
                    postgres: None,
                    master_key: None,
                }
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// The SQLite file, when the backend is SQLite.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match DatabaseUrl::parse(&self.url).unwrap() {
            DatabaseUrl::Sqlite { path } => Some(path),
            DatabaseUrl::Postgres { .. } => None,
        }
    }

    /// A direct connection, for checking what was (not) written.
    pub fn connect(&self) -> DbConn {
        ConnectionManager::new(DatabaseUrl::parse(&self.url).unwrap(), true)
            .establish()
            .unwrap()
    }

    /// Runs SQL as the Postgres admin (outside this test's database).
    pub fn postgres_admin(&self, sql: &str) {
        let pg = self.postgres.as_ref().expect("postgres only");
        let sql = sql.replace("{db}", &pg.name);
        PgConnection::establish(&pg.admin_url)
            .unwrap()
            .batch_execute(&sql)
            .unwrap();
    }

    /// The environment under which the binary and the server use this database,
    /// with argon2 made cheap for tests.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("PORTCULLIS_DATABASE_URL", self.url.clone()),
            ("PORTCULLIS_ARGON2_MEMORY_KIB", "8192".into()),
            ("PORTCULLIS_ARGON2_ITERATIONS", "1".into()),
        ];
        if let Some(key) = &self.master_key {
            env.push(("PORTCULLIS_MASTER_KEY", key.clone()));
        }
        env
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(pg) = &self.postgres {
            if let Ok(mut admin) = PgConnection::establish(&pg.admin_url) {
                let _ = admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", pg.name));
            }
        }
    }
}

/// Loopback test connections skip TLS: libpq's OpenSSL state, torn down by exit
/// handlers while the servers' pool threads still hold connections, crashed the test
/// process at exit (`munmap_chunk(): invalid pointer`) after every test had passed.
fn without_tls(url: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    if !parsed.query_pairs().any(|(k, _)| k == "sslmode") {
        parsed.query_pairs_mut().append_pair("sslmode", "disable");
    }
    parsed.to_string()
}

/// The real server, in-process, on an ephemeral loopback port, with a manual clock
/// that starts at the real time and moves only when a test moves it.
pub struct TestApp {
    pub base_url: String,
    pub http: reqwest::Client,
    pub db: Arc<TestDb>,
    pub keys: Arc<KeyRing>,
    pub clock: Arc<ManualClock>,
    handle: actix_web::dev::ServerHandle,
}

impl TestApp {
    pub async fn start() -> TestApp {
        TestApp::start_with(TestDb::new()).await
    }

    pub async fn start_with(db: TestDb) -> TestApp {
        TestApp::start_on(Arc::new(db), &[]).await
    }

    /// A server on `db` (which other instances may share) with extra settings.
    pub async fn start_on(db: Arc<TestDb>, settings: &[(&'static str, String)]) -> TestApp {
        let clock = Arc::new(ManualClock::starting_now());
        TestApp::try_start(db, settings, clock).await.unwrap()
    }

    /// A server whose issuer has a path: `http://127.0.0.1:PORT{path}` (e.g. `/auth`).
    /// `base_url` is that issuer, so `url("/authorize")` is `…{path}/authorize`.
    pub async fn start_at_path(db: TestDb, path: &str) -> TestApp {
        let clock = Arc::new(ManualClock::starting_now());
        TestApp::try_start_at_path(Arc::new(db), path, &[], clock)
            .await
            .unwrap()
    }

    /// Like [`TestApp::start_on`] with a given clock, returning a start-up failure.
    pub async fn try_start(
        db: Arc<TestDb>,
        settings: &[(&'static str, String)],
        clock: Arc<ManualClock>,
    ) -> Result<TestApp, StartError> {
        TestApp::try_start_at_path(db, "", settings, clock).await
    }

    /// Like [`TestApp::try_start`] with the issuer (and `base_url`) at `path` on the
    /// server's origin: `""` for the root, else a path such as `/auth` (no trailing `/`).
    pub async fn try_start_at_path(
        db: Arc<TestDb>,
        path: &str,
        settings: &[(&'static str, String)],
        clock: Arc<ManualClock>,
    ) -> Result<TestApp, StartError> {
        assert!(
            path.is_empty() || (path.starts_with('/') && !path.ends_with('/')),
            "an issuer path starts with `/` and does not end with one: `{path}`"
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}{path}", listener.local_addr().unwrap());
        TestApp::try_start_as(db, listener, base_url, settings, clock).await
    }

    /// A server on `listener` whose issuer (and `base_url`) is `base_url`.
    pub async fn try_start_as(
        db: Arc<TestDb>,
        listener: TcpListener,
        base_url: String,
        settings: &[(&'static str, String)],
        clock: Arc<ManualClock>,
    ) -> Result<TestApp, StartError> {
        let mut env = db.env();
        env.push(("PORTCULLIS_ISSUER", base_url.clone()));
        env.extend(settings.iter().cloned());
        let config = Config::load(None, |k| {
            env.iter()
                .rev()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.clone())
        })
        .unwrap();
        let started = portcullis::start(
            config,
            listener,
            ServeOptions {
                migrate: true,
                workers: Some(1),
                handle_signals: false,
                clock: clock.clone(),
            },
        )
        .await?;
        let handle = started.server.handle();
        tokio::spawn(started.server);
        Ok(TestApp {
            base_url,
            http: reqwest::Client::new(),
            db,
            keys: started.keys,
            clock,
            handle,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// Runs the real binary with this database's environment and `stdin`.
pub fn portcullis(db: &TestDb, args: &[&str], stdin: Option<&str>) -> Output {
    portcullis_in(db.dir.path(), &db.env(), args, stdin)
}

/// Runs the real binary in `dir` with exactly `env` (plus PATH) as its PORTCULLIS_* settings.
pub fn portcullis_in(
    dir: &Path,
    env: &[(&'static str, String)],
    args: &[&str],
    stdin: Option<&str>,
) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    {
        let mut pipe = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            // A command that fails before reading stdin closes the pipe: not an error here.
            let _ = pipe.write_all(text.as_bytes());
        }
    }
    child.wait_with_output().unwrap()
}

/// Standard output as JSON (and proof that it is exactly one JSON value).
pub fn stdout_json(out: &Output) -> serde_json::Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}): {text}"))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The lines of stderr that are not log lines (log lines carry a level).
pub fn error_lines(out: &Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| l.starts_with("error:"))
        .map(str::to_owned)
        .collect()
}

/// Asserts the exit status and that stderr says exactly one `error:` line.
pub fn assert_fails(out: &Output, status: i32, mentions: &str) {
    assert_eq!(out.status.code(), Some(status), "stderr: {}", stderr(out));
    let lines = error_lines(out);
    assert_eq!(lines.len(), 1, "one error line expected: {lines:?}");
    assert!(
        lines[0].contains(mentions),
        "`{}` should mention `{mentions}`",
        lines[0]
    );
}
