//! The command line of DESIGN.md §2, run as the real binary.

use portcullis::store::{audit, clients as client_rows};

use crate::support::{assert_fails, portcullis, portcullis_in, stderr, stdout_json, TestDb};

/// How many rows `portcullis <what> list --json` shows (`what`: `user` or `client`).
fn listed(db: &TestDb, what: &str) -> usize {
    let out = portcullis(db, &[what, "list", "--json"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout_json(&out).as_array().unwrap().len()
}

#[test]
fn user_create_prints_one_json_object_and_never_the_password() {
    let db = TestDb::new();
    let out = portcullis(
        &db,
        &[
            "user",
            "create",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--name",
            "Alice Liddell",
            "--admin",
            "--password-stdin",
            "--json",
        ],
        Some("s3cret-Pa55word\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let user = stdout_json(&out);
    assert_eq!(user["username"], "alice");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["name"], "Alice Liddell");
    assert_eq!(user["admin"], true);
    assert_eq!(user["disabled"], false);
    assert_eq!(user["id"].as_str().unwrap().len(), 36);
    assert!(user.get("password_hash").is_none());
    assert!(!stderr(&out).contains("s3cret"), "password in logs");

    let list = portcullis(&db, &["user", "list", "--json"], None);
    let users = stdout_json(&list);
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["id"], user["id"]);
    assert!(!String::from_utf8_lossy(&list.stdout).contains("argon2"));

    let mut conn = db.connect();
    assert_eq!(
        audit::count_of_kind(&mut conn, audit::AuditKind::UserCreated).unwrap(),
        1
    );
}

#[test]
fn stored_password_is_argon2id_and_verifies() {
    let db = TestDb::new();
    let out = portcullis(
        &db,
        &["user", "create", "--username", "bob", "--password-stdin"],
        Some("correct horse\r\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut conn = db.connect();
    let row = portcullis::store::users::find_by_username(&mut conn, "BOB")
        .unwrap()
        .unwrap();
    assert!(row.password_hash.starts_with("$argon2id$"));
    let verify = |pw: &str| {
        portcullis::crypto::password::verify(
            &portcullis::crypto::Secret::new(pw.to_owned()),
            &row.password_hash,
        )
        .unwrap()
    };
    assert!(verify("correct horse"), "CRLF must be stripped");
    assert!(!verify("correct horse\r"));
}

#[test]
fn duplicate_username_fails_and_writes_nothing() {
    let db = TestDb::new();
    let create = |name: &str| {
        portcullis(
            &db,
            &["user", "create", "--username", name, "--password-stdin"],
            Some("pw\n"),
        )
    };
    assert!(create("alice").status.success());
    assert_fails(&create("alice"), 1, "already taken");
    assert_fails(&create("ALICE"), 1, "already taken");
    assert_eq!(listed(&db, "user"), 1);
}

#[test]
fn user_create_usage_and_input_errors() {
    let db = TestDb::new();
    let out = portcullis(
        &db,
        &["user", "create", "--username", "alice"],
        Some("pw\n"),
    );
    assert_fails(&out, 2, "--password-stdin");
    let out = portcullis(
        &db,
        &["user", "create", "--username", "alice", "--password-stdin"],
        Some("\n"),
    );
    assert_fails(&out, 1, "password must not be empty");
    let out = portcullis(
        &db,
        &["user", "create", "--username", "alice", "--password-stdin"],
        None,
    );
    assert_fails(&out, 1, "no password");
    let out = portcullis(
        &db,
        &["user", "create", "--username", "al ice", "--password-stdin"],
        Some("pw\n"),
    );
    assert_fails(&out, 1, "username");
    let out = portcullis(
        &db,
        &[
            "user",
            "create",
            "--username",
            "a",
            "--email",
            "nope",
            "--password-stdin",
        ],
        Some("pw\n"),
    );
    assert_fails(&out, 1, "not an email address");
    assert_eq!(listed(&db, "user"), 0);
}

#[test]
fn confidential_client_gets_a_secret_once_stored_only_as_a_keyed_hash() {
    let db = TestDb::new();
    let out = portcullis(
        &db,
        &[
            "client",
            "create",
            "--name",
            "Demo App",
            "--redirect-uri",
            "https://app.example.com/callback",
            "--redirect-uri",
            "http://127.0.0.1:8765/cb",
            "--post-logout-redirect-uri",
            "https://app.example.com/bye",
            "--scope",
            "openid profile",
            "--token-endpoint-auth-method",
            "client_secret_post",
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let c = stdout_json(&out);
    let id = c["client_id"].as_str().unwrap();
    let secret = c["client_secret"].as_str().unwrap();
    assert_eq!(secret.len(), 43, "256 bits, base64url");
    assert_eq!(c["client_secret_expires_at"], 0);
    assert_eq!(c["client_name"], "Demo App");
    assert_eq!(
        c["redirect_uris"],
        serde_json::json!([
            "https://app.example.com/callback",
            "http://127.0.0.1:8765/cb"
        ])
    );
    assert_eq!(
        c["post_logout_redirect_uris"],
        serde_json::json!(["https://app.example.com/bye"])
    );
    assert_eq!(
        c["grant_types"],
        serde_json::json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(c["response_types"], serde_json::json!(["code"]));
    assert_eq!(c["scope"], "openid profile");
    assert_eq!(c["token_endpoint_auth_method"], "client_secret_post");
    assert!(!stderr(&out).contains(secret), "secret in logs");

    let list = portcullis(&db, &["client", "list", "--json"], None);
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(listed.contains(id));
    assert!(!listed.contains(secret), "list must never show the secret");
    assert!(!listed.contains("client_secret\""));

    let mut conn = db.connect();
    let row = client_rows::find(&mut conn, id).unwrap().unwrap();
    let stored = row.secret_hash.unwrap();
    assert!(stored.starts_with("hmac-sha256:"));
    assert!(!stored.contains(secret));
    let hasher = portcullis::service::clients::secret_hasher(&mut conn, 0).unwrap();
    assert!(hasher.verify(secret, &stored));
    assert!(!hasher.verify(&format!("{secret}x"), &stored));
    assert!(!hasher.verify(&secret[1..], &stored));
    assert_eq!(
        audit::count_of_kind(&mut conn, audit::AuditKind::ClientCreated).unwrap(),
        1
    );
}

#[test]
fn public_client_has_no_secret() {
    let db = TestDb::new();
    let out = portcullis(
        &db,
        &[
            "client",
            "create",
            "--name",
            "SPA",
            "--public",
            "--redirect-uri",
            "http://localhost:3000/cb",
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let c = stdout_json(&out);
    assert!(c["client_secret"].is_null());
    assert!(c.get("client_secret_expires_at").is_none());
    assert_eq!(c["token_endpoint_auth_method"], "none");
    assert_eq!(c["public"], true);
}

#[test]
fn client_credentials_client_needs_no_redirect_uri() {
    let db = TestDb::new();
    let out = portcullis(
        &db,
        &[
            "client",
            "create",
            "--name",
            "batch job",
            "--grant-type",
            "client_credentials",
            "--scope",
            "reports:read",
            "--json",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let c = stdout_json(&out);
    assert_eq!(c["grant_types"], serde_json::json!(["client_credentials"]));
    assert_eq!(c["redirect_uris"], serde_json::json!([]));
    assert_eq!(c["response_types"], serde_json::json!([]));
    assert_eq!(c["scope"], "reports:read");
}

#[test]
fn bad_client_registrations_fail_with_one_line_and_write_nothing() {
    let db = TestDb::new();
    let cases: &[(&[&str], &str)] = &[
        (&["--redirect-uri", "/callback"], "not an absolute URI"),
        (
            &["--redirect-uri", "https://app.example/cb#frag"],
            "fragment",
        ),
        (
            &["--redirect-uri", "javascript:alert(1)"],
            "forbidden scheme",
        ),
        (&["--redirect-uri", "http://app.example/cb"], "https"),
        (
            &[
                "--redirect-uri",
                "https://a.example/cb",
                "--grant-type",
                "password",
            ],
            "unknown grant type",
        ),
        (
            &[
                "--redirect-uri",
                "https://a.example/cb",
                "--grant-type",
                "implicit",
            ],
            "unknown grant type",
        ),
        (
            &[
                "--redirect-uri",
                "https://a.example/cb",
                "--public",
                "--token-endpoint-auth-method",
                "client_secret_basic",
            ],
            "public client",
        ),
        (
            &[
                "--redirect-uri",
                "https://a.example/cb",
                "--public",
                "--token-endpoint-auth-method",
                "client_secret_post",
            ],
            "public client",
        ),
        (
            &[
                "--redirect-uri",
                "https://a.example/cb",
                "--token-endpoint-auth-method",
                "private_key_jwt",
            ],
            "auth method",
        ),
        (
            &["--grant-type", "authorization_code"],
            "at least one redirect URI",
        ),
        (
            &["--public", "--grant-type", "client_credentials"],
            "confidential",
        ),
        (
            &[
                "--redirect-uri",
                "https://a.example/cb",
                "--scope",
                "bad\"scope",
            ],
            "scope",
        ),
        (
            &[
                "--redirect-uri",
                "https://a.example/cb",
                "--post-logout-redirect-uri",
                "javascript:x",
            ],
            "forbidden scheme",
        ),
    ];
    for (extra, mentions) in cases {
        let mut args = vec!["client", "create", "--name", "x"];
        args.extend_from_slice(extra);
        let out = portcullis(&db, &args, None);
        assert_fails(&out, 1, mentions);
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    }
    assert_eq!(listed(&db, "client"), 0);
}

#[test]
fn bad_usage_exits_2_with_one_line() {
    let db = TestDb::new();
    assert_fails(&portcullis(&db, &["client", "create"], None), 2, "--name");
    assert_fails(&portcullis(&db, &["frobnicate"], None), 2, "frobnicate");
    assert_fails(
        &portcullis(&db, &["user", "list", "--jsn"], None),
        2,
        "--jsn",
    );
    assert_fails(&portcullis(&db, &[], None), 2, "subcommand");
    assert_fails(&portcullis(&db, &["user"], None), 2, "subcommand");
    assert_eq!(portcullis(&db, &["--help"], None).status.code(), Some(0));
    assert_eq!(portcullis(&db, &["--version"], None).status.code(), Some(0));
}

#[test]
fn bad_configuration_names_the_setting() {
    let db = TestDb::new();
    let mut env = db.env();
    env.push(("PORTCULLIS_ISSUER", "not a url".into()));
    let out = portcullis_in(db.dir.path(), &env, &["user", "list"], None);
    assert_fails(&out, 1, "PORTCULLIS_ISSUER");

    let toml = db.dir.path().join("portcullis.toml");
    std::fs::write(&toml, "pool_size = 0\n").unwrap();
    let out = portcullis(
        &db,
        &["--config", toml.to_str().unwrap(), "user", "list"],
        None,
    );
    assert_fails(&out, 1, "pool_size in");
}

#[test]
fn mistyped_postgres_url_fails_and_creates_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let env = [(
        "PORTCULLIS_DATABASE_URL",
        "postgress://postgres@127.0.0.1/test".to_owned(),
    )];
    for args in [&["migrate"][..], &["user", "list"], &["serve"]] {
        let out = portcullis_in(dir.path(), &env, args, None);
        assert_fails(&out, 1, "postgress");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing may be created"
    );
}

#[test]
fn unreachable_postgres_fails_with_the_driver_error() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        (
            "PORTCULLIS_DATABASE_URL",
            "postgres://postgres@127.0.0.1:1/test".to_owned(),
        ),
        (
            "PORTCULLIS_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
        ),
    ];
    let out = portcullis_in(dir.path(), &env, &["migrate"], None);
    assert_fails(&out, 1, "cannot connect to the database");
    assert!(stderr(&out).contains("127.0.0.1"), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// DESIGN.md §2: instances on Postgres must share one master key, so none is made
/// up per instance: without `PORTCULLIS_MASTER_KEY` (or an explicit key file) the
/// start is refused before anything is written, naming the setting.
#[test]
fn postgres_without_a_master_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let env = [(
        "PORTCULLIS_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/test".to_owned(),
    )];
    for command in [&["migrate"][..], &["serve"][..]] {
        let out = portcullis_in(dir.path(), &env, command, None);
        assert_fails(&out, 1, "PORTCULLIS_MASTER_KEY");
        assert!(stderr(&out).contains("master_key"), "{}", stderr(&out));
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no key file made up"
    );
}

#[test]
fn migrate_creates_a_missing_sqlite_file_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub.db");
    let env = [(
        "PORTCULLIS_DATABASE_URL",
        format!("sqlite://{}", path.display()),
    )];
    let first = portcullis_in(dir.path(), &env, &["migrate"], None);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(path.exists());
    assert!(String::from_utf8_lossy(&first.stdout).contains("applied 9 migration"));
    let second = portcullis_in(dir.path(), &env, &["migrate"], None);
    assert!(second.status.success());
    assert!(String::from_utf8_lossy(&second.stdout).contains("up to date"));
}

#[cfg(unix)]
#[test]
fn a_new_sqlite_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("private.db");
    let env = [(
        "PORTCULLIS_DATABASE_URL",
        format!("sqlite://{}", path.display()),
    )];
    assert!(portcullis_in(dir.path(), &env, &["migrate"], None)
        .status
        .success());
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}

#[test]
fn default_database_is_portcullis_db_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = portcullis_in(dir.path(), &[], &["migrate"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("portcullis.db").exists());
}
