//! Signing cost per algorithm, in-process: a typical access token signed with a key
//! parsed once (what the server does), and with the key parsed for every signature
//! (what `jsonwebtoken::encode` with a DER `EncodingKey` would do). Prints the median
//! time per token over many batches, and the ratios.
//!
//! Run: `bash bench/signing.sh` (release build).

use std::time::Instant;

use jsonwebtoken::Header;
use portcullis::keys::signer::{self, SigningKey};
use portcullis::keys::{material, KeyAlg};
use serde_json::json;

const BATCHES: usize = 31;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

/// Median microseconds per call of `f`, over `BATCHES` batches of `per_batch` calls.
fn measure(per_batch: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..per_batch {
        f(); // warm up
    }
    let samples = (0..BATCHES)
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
    let claims = json!({
        "iss": "https://id.example.com", "sub": "7d3c1b2a-4f5e-4a6b-8c7d-9e0f1a2b3c4d",
        "aud": "https://api.example.com", "client_id": "q1w2e3r4t5y6u7i8o9p0aa",
        "scope": "openid profile email", "iat": 1_790_000_000u64, "exp": 1_790_000_900u64,
        "jti": "Zm9vYmFyYmF6cXV4cXV1eGNvcmdl",
    });
    println!(
        "{:<6}  {:>14}  {:>20}  {:>10}",
        "alg", "parsed once µs", "parsed per token µs", "ratio"
    );
    let mut results = Vec::new();
    for (alg, per_batch) in [
        (KeyAlg::Es256, 400),
        (KeyAlg::EdDsa, 400),
        (KeyAlg::Rs256, 40),
    ] {
        let key = material::generate(alg).expect("key generation");
        let der = key.private_der.expose().clone();
        let mut header = Header::new(alg.jwt_algorithm());
        header.typ = Some("at+jwt".into());
        header.kid = Some(key.kid.clone());
        let once = measure(per_batch, || {
            signer::encode(&header, &claims, &key.signing_key).expect("sign");
        });
        let each = measure(per_batch, || {
            let parsed = SigningKey::from_der(alg, &der).expect("parse");
            signer::encode(&header, &claims, &parsed).expect("sign");
        });
        println!(
            "{:<6}  {:>14.1}  {:>20.1}  {:>9.1}x",
            alg.as_str(),
            once,
            each,
            each / once
        );
        results.push((alg, once));
    }
    let es = results[0].1;
    for (alg, once) in &results {
        println!("{:<6}  {:.2}x the cost of ES256", alg.as_str(), once / es);
    }
}
