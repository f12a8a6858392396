//! `/healthz` and `/readyz` on the real server.

use std::time::Duration;

use crate::support::TestApp;

#[tokio::test]
async fn healthz_answers_with_a_request_id() {
    let app = TestApp::start().await;
    let res = app.get("/healthz").await;
    assert_eq!(res.status(), 200);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(id.len() >= 16, "{id}");
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    let other = app.get("/healthz").await;
    assert_ne!(other.headers()["x-request-id"].to_str().unwrap(), id);
    app.stop().await;
}

#[tokio::test]
async fn a_plain_incoming_request_id_is_kept_and_anything_else_replaced() {
    let app = TestApp::start().await;
    let kept = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "lb-1234_abc")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "lb-1234_abc");
    let replaced = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id; injected=1")
        .send()
        .await
        .unwrap();
    let id = replaced.headers()["x-request-id"].to_str().unwrap();
    assert!(!id.contains("injected"), "{id}");
    app.stop().await;
}

#[tokio::test]
async fn readyz_reports_the_database() {
    let app = TestApp::start().await;
    let res = app.get("/readyz").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    let backend = if app.db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(body["database"], backend);
    app.stop().await;
}

#[tokio::test]
async fn the_stylesheet_is_served_from_the_binary() {
    let app = TestApp::start().await;
    let res = app.get("/static/portcullis.css").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/css; charset=utf-8");
    assert!(res.text().await.unwrap().contains(":root"));
    app.stop().await;
}

#[tokio::test]
async fn unknown_path_is_404() {
    let app = TestApp::start().await;
    assert_eq!(app.get("/nope").await.status(), 404);
    app.stop().await;
}

async fn wait_for_status(app: &TestApp, want: u16) -> serde_json::Value {
    for _ in 0..50 {
        let res = app.get("/readyz").await;
        if res.status().as_u16() == want {
            return res.json().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/readyz never answered {want}");
}

/// The database goes away and comes back: 503 with a reason, then 200 again,
/// with no restart. Postgres: connections refused and existing ones killed.
/// SQLite: the file moved away (writes would go to a deleted file) and back.
#[tokio::test]
async fn readyz_turns_503_when_the_database_goes_away_and_200_when_it_returns() {
    let app = TestApp::start().await;
    assert_eq!(app.get("/readyz").await.status(), 200);
    let moved = app.db.dir.path().join("moved-away.db");
    if app.db.is_postgres() {
        app.db.postgres_admin(
            "ALTER DATABASE {db} WITH ALLOW_CONNECTIONS false; \
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{db}' AND pid <> pg_backend_pid();",
        );
    } else {
        std::fs::rename(app.db.sqlite_path().unwrap(), &moved).unwrap();
    }

    let body = wait_for_status(&app, 503).await;
    assert_eq!(body["status"], "unavailable");
    let reason = body["reason"].as_str().unwrap();
    assert!(reason.starts_with("database "), "{reason}");
    assert!(
        !reason.contains('/') && !reason.contains("127.0.0.1"),
        "no details: {reason}"
    );
    assert_eq!(
        app.get("/healthz").await.status(),
        200,
        "liveness is not readiness"
    );

    if app.db.is_postgres() {
        app.db
            .postgres_admin("ALTER DATABASE {db} WITH ALLOW_CONNECTIONS true");
    } else {
        std::fs::rename(&moved, app.db.sqlite_path().unwrap()).unwrap();
    }
    let body = wait_for_status(&app, 200).await;
    assert_eq!(body["status"], "ready");
    app.stop().await;
}
