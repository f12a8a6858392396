//! `portcullis serve` as a process: start-up failures and graceful shutdown.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{assert_fails, portcullis, portcullis_in, stderr, TestDb};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_serve(db: &TestDb, port: u16) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.arg("serve")
        .current_dir(db.dir.path())
        .env_clear()
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in db.env() {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

fn wait_until_healthy(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        // A bound socket accepts connections before the server runs: ask for /healthz.
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut answer = String::new();
            if stream
                .write_all(b"GET /healthz HTTP/1.0\r\n\r\n")
                .and_then(|()| stream.read_to_string(&mut answer))
                .is_ok()
                && answer.starts_with("HTTP/1.")
                && answer.contains(" 200 ")
            {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server did not start on port {port}");
}

#[test]
fn port_in_use_is_one_clear_line_and_exit_1() {
    let db = TestDb::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut env = db.env();
    env.push(("PORTCULLIS_BIND", taken.local_addr().unwrap().to_string()));
    let out = portcullis_in(db.dir.path(), &env, &["serve"], None);
    assert_fails(&out, 1, "cannot listen on");
}

#[test]
fn unreachable_database_refuses_to_serve() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        (
            "PORTCULLIS_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/test".to_owned(),
        ),
        ("PORTCULLIS_BIND", format!("127.0.0.1:{}", free_port())),
        (
            "PORTCULLIS_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
        ),
    ];
    let out = portcullis_in(dir.path(), &env, &["serve"], None);
    assert_fails(&out, 1, "cannot connect to the database");
}

#[test]
fn no_migrate_refuses_a_schema_that_is_behind() {
    let db = TestDb::new();
    let mut env = db.env();
    env.push(("PORTCULLIS_BIND", format!("127.0.0.1:{}", free_port())));
    let out = portcullis_in(db.dir.path(), &env, &["serve", "--no-migrate"], None);
    assert_fails(&out, 1, "migration");
}

#[test]
fn sigterm_stops_the_server_gracefully_with_status_0() {
    let db = TestDb::new();
    assert!(portcullis(&db, &["migrate"], None).status.success());
    let port = free_port();
    let child = spawn_serve(&db, port);
    wait_until_healthy(port);
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(10));
    let log = stderr(&out);
    assert!(log.contains("listening"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(out.stdout.is_empty(), "logs belong on stderr");
}
