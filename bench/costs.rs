//! What one request costs Portcullis in CPU, step by step, in process (release build):
//! client authentication (the HMAC-SHA-256 check of a client secret), hashing a bearer
//! value for lookup (codes, refresh tokens, sessions), signing an access token with
//! each algorithm (key parsed once, as the server does), signing an ID token (RS256),
//! and one argon2id password verification with the default cost (m=19 MiB, t=2, p=1;
//! working memory kept between calls, as the hashing threads do). Medians over many
//! batches. `bench/run` uses the argon2 figure for the in-process "argon2 ceiling"
//! (cores ÷ time per verification) next to the one it measures over HTTP.
//!
//! The database steps of a request (consuming a code, rotating a refresh token) are
//! not here: they are measured end to end over HTTP by bench/run's scenarios (e) and
//! (g), on SQLite and Postgres, rather than by reaching into the store's row types.
//!
//! Run: `cargo run --release --example bench_costs [-- --json]`.

use std::time::Instant;

use jsonwebtoken::Header;
use portcullis::config::Config;
use portcullis::crypto::client_secret::ClientSecretHasher;
use portcullis::crypto::{password, random, token_hash, Secret};
use portcullis::keys::signer;
use portcullis::keys::{material, KeyAlg};
use serde_json::json;

const BATCHES: usize = 31;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// Median microseconds per call of `f`, over `batches` batches of `per_batch` calls.
fn measure(batches: usize, per_batch: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..per_batch {
        f(); // warm up
    }
    let samples = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / per_batch as f64
        })
        .collect();
    median(samples)
}

fn main() {
    let as_json = std::env::args().any(|a| a == "--json");
    let mut rows: Vec<(String, f64)> = Vec::new();

    // Client authentication: the HMAC of the presented secret, compared in constant time.
    let hasher = ClientSecretHasher::new(&random::bytes::<32>().expect("random"));
    let (secret, stored) = hasher.generate().expect("secret");
    let presented = secret.expose().clone();
    rows.push((
        "client authentication (HMAC-SHA-256 secret check)".into(),
        measure(BATCHES, 20_000, || {
            assert!(hasher.verify(&presented, &stored));
        }),
    ));

    // Looking up a code, refresh token or session: SHA-256 of the bearer value.
    let bearer = random::token().expect("random");
    rows.push((
        "bearer value hash for lookup (SHA-256)".into(),
        measure(BATCHES, 20_000, || {
            std::hint::black_box(token_hash(&bearer));
        }),
    ));
    rows.push((
        "new random token (256 bits)".into(),
        measure(BATCHES, 20_000, || {
            std::hint::black_box(random::token().expect("random"));
        }),
    ));

    // Access tokens (RFC 9068) with each algorithm, and an RS256 ID token.
    let access = json!({
        "iss": "https://id.example.com", "sub": "7d3c1b2a-4f5e-4a6b-8c7d-9e0f1a2b3c4d",
        "aud": "https://id.example.com", "client_id": "q1w2e3r4t5y6u7i8o9p0aa",
        "scope": "openid profile email offline_access", "iat": 1_790_000_000u64,
        "exp": 1_790_000_900u64, "jti": "Zm9vYmFyYmF6cXV4cXV1eGNvcmdl",
    });
    let id_token = json!({
        "iss": "https://id.example.com", "sub": "7d3c1b2a-4f5e-4a6b-8c7d-9e0f1a2b3c4d",
        "aud": "q1w2e3r4t5y6u7i8o9p0aa", "iat": 1_790_000_000u64, "exp": 1_790_003_600u64,
        "auth_time": 1_789_999_990u64, "nonce": "n-0S6_WzA2Mj", "sid": "c2Vzc2lvbi1pZA",
        "at_hash": "77QmUPtjPfzWtF2AnpK9RQ", "amr": ["pwd"], "name": "Alice Bench",
        "preferred_username": "alice", "email": "alice@example.com", "email_verified": false,
    });
    for (alg, per_batch) in [
        (KeyAlg::Es256, 400),
        (KeyAlg::EdDsa, 400),
        (KeyAlg::Rs256, 40),
    ] {
        let key = material::generate(alg).expect("key generation");
        let mut header = Header::new(alg.jwt_algorithm());
        header.typ = Some("at+jwt".into());
        header.kid = Some(key.kid.clone());
        rows.push((
            format!("sign an access token, {}", alg.as_str()),
            measure(BATCHES, per_batch, || {
                signer::encode(&header, &access, &key.signing_key).expect("sign");
            }),
        ));
        if alg == KeyAlg::Rs256 {
            let mut header = Header::new(alg.jwt_algorithm());
            header.kid = Some(key.kid.clone());
            rows.push((
                "sign an ID token, RS256".into(),
                measure(BATCHES, per_batch, || {
                    signer::encode(&header, &id_token, &key.signing_key).expect("sign");
                }),
            ));
        }
    }

    // One password verification at the default cost.
    let params = Config::defaults().expect("default config").argon2;
    let password_text = Secret::new("correct horse battery staple".to_owned());
    let stored_hash = password::hash(&params, &password_text).expect("hash");
    let mut memory = Vec::new();
    let argon2_us = measure(9, 3, || {
        assert!(password::verify_in(&password_text, &stored_hash, &mut memory).expect("verify"));
    });
    rows.push((
        format!(
            "argon2id password verification (m={} KiB, t={}, p={})",
            params.memory_kib, params.iterations, params.parallelism
        ),
        argon2_us,
    ));

    if as_json {
        let out = json!({
            "rows": rows.iter().map(|(n, us)| json!({"name": n, "us": us})).collect::<Vec<_>>(),
            "argon2_verify_ms": argon2_us / 1000.0,
            "argon2_params": {
                "memory_kib": params.memory_kib,
                "iterations": params.iterations,
                "parallelism": params.parallelism,
            },
        });
        println!("{out}");
    } else {
        println!("{:<62} {:>12}", "operation", "median µs");
        for (name, us) in &rows {
            println!("{name:<62} {us:>12.1}");
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!(
            "argon2 ceiling: {cores} cores / {:.1} ms = {:.1} password checks/s",
            argon2_us / 1000.0,
            cores as f64 * 1e6 / argon2_us
        );
    }
}
