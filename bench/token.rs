//! Latency of the token endpoint, in-process: the real server on 127.0.0.1 with a
//! temp SQLite file, and a client that sends one `client_credentials` request at a
//! time (then 8 at a time, for throughput). Prints medians and p90 per request for
//! ES256 and RS256 access tokens, next to `/healthz` as the floor of an HTTP round
//! trip on this machine, and the ratios.
//!
//! Run: `bash bench/token.sh` (release build).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use portcullis::clock::SystemClock;
use portcullis::config::Config;
use portcullis::keys::KeyAlg;
use portcullis::protocol::client_metadata::ClientRegistration;
use portcullis::service::{clients, Actor};
use portcullis::ServeOptions;

const WARMUP: usize = 200;
const REQUESTS: usize = 2_000;
const CONCURRENCY: usize = 8;

struct Stats {
    median_us: f64,
    p90_us: f64,
}

fn stats(mut xs: Vec<f64>) -> Stats {
    xs.sort_by(|a, b| a.total_cmp(b));
    Stats {
        median_us: xs[xs.len() / 2],
        p90_us: xs[xs.len() * 9 / 10],
    }
}

async fn sequential(request: impl Fn() -> reqwest::RequestBuilder) -> Stats {
    for _ in 0..WARMUP {
        assert!(request().send().await.unwrap().status().is_success());
    }
    let mut samples = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let start = Instant::now();
        let response = request().send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.bytes().await.unwrap();
        samples.push(start.elapsed().as_secs_f64() * 1e6);
    }
    stats(samples)
}

async fn throughput(request: Arc<dyn Fn() -> reqwest::RequestBuilder + Send + Sync>) -> f64 {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..REQUESTS / CONCURRENCY {
                let response = request().send().await.unwrap();
                assert!(response.status().is_success());
                response.bytes().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    REQUESTS as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let env = [
        (
            "PORTCULLIS_DATABASE_URL",
            format!("sqlite://{}", dir.path().join("bench.db").display()),
        ),
        ("PORTCULLIS_ISSUER", base.clone()),
        ("PORTCULLIS_TOKEN_RATE_LIMIT", "0".to_owned()),
        ("PORTCULLIS_LOG", "warn".to_owned()),
    ];
    let config = Config::load(None, |k| {
        env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    })
    .unwrap();
    let database_url = config.database_url.clone();
    let server = portcullis::run(
        config,
        listener,
        ServeOptions {
            handle_signals: false,
            clock: Arc::new(SystemClock),
            ..ServeOptions::default()
        },
    )
    .await
    .unwrap();
    tokio::spawn(server);

    let store = portcullis::store::Store::open(
        &database_url,
        &portcullis::store::PoolSettings {
            size: 1,
            wait: std::time::Duration::from_secs(10),
            statement_cache: true,
        },
    )
    .unwrap();
    let algs = [KeyAlg::Rs256, KeyAlg::Es256];
    let register = |alg: &'static str| {
        let (store, algs) = (store.clone(), algs);
        async move {
            let c = clients::register(
                &store,
                ClientRegistration {
                    name: format!("bench {alg}"),
                    grant_types: vec!["client_credentials".into()],
                    scope: Some("read write".into()),
                    access_token_signing_alg: Some(alg.into()),
                    ..Default::default()
                },
                &algs,
                &Actor("bench".into()),
                0,
            )
            .await
            .unwrap();
            (c.view.client_id.clone(), c.secret.unwrap().expose().clone())
        }
    };
    let es256 = register("ES256").await;
    let rs256 = register("RS256").await;

    let http = reqwest::Client::new();
    let token_request = |(id, secret): (String, String)| {
        let (http, url) = (http.clone(), format!("{base}/token"));
        move || {
            http.post(&url)
                .basic_auth(&id, Some(&secret))
                .form(&[("grant_type", "client_credentials"), ("scope", "read")])
        }
    };
    let health = {
        let (http, url) = (http.clone(), format!("{base}/healthz"));
        move || http.get(&url)
    };

    let floor = sequential(&health).await;
    let es = sequential(token_request(es256.clone())).await;
    let rs = sequential(token_request(rs256.clone())).await;
    let es_rate = throughput(Arc::new(token_request(es256))).await;
    let rs_rate = throughput(Arc::new(token_request(rs256))).await;

    println!("client_credentials at the token endpoint, in-process, SQLite, {REQUESTS} sequential requests (after {WARMUP} warm-up)");
    println!(
        "{:<28} {:>12} {:>12} {:>16}",
        "", "median µs", "p90 µs", "median / floor"
    );
    for (name, s) in [
        ("GET /healthz (floor)", &floor),
        ("token, ES256 access token", &es),
        ("token, RS256 access token", &rs),
    ] {
        println!(
            "{name:<28} {:>12.0} {:>12.0} {:>16.2}",
            s.median_us,
            s.p90_us,
            s.median_us / floor.median_us
        );
    }
    println!("RS256 / ES256 median: {:.2}", rs.median_us / es.median_us);
    println!("throughput with {CONCURRENCY} concurrent clients: ES256 {es_rate:.0}/s, RS256 {rs_rate:.0}/s (ratio {:.2})", es_rate / rs_rate);
}
