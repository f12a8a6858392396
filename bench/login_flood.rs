//! Token latency and server memory during a login flood (the hardening issue's
//! numbers): the release binary `portcullis serve` on a temp SQLite file, one
//! client sending `client_credentials` requests one at a time — first alone, then
//! while 32 clients post wrong passwords to the login form as fast as they are
//! answered. Prints token p50/p99 in both phases, the login answers (200: checked
//! and refused, 503: hashing saturated), the server's peak RSS and its CPU seconds.
//!
//! Run: `bash bench/login_flood.sh` (builds the release binary first).

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FLOODERS: usize = 32;
const BASELINE_REQUESTS: usize = 1_000;
const FLOOD_SECONDS: u64 = 10;
const REDIRECT_URI: &str = "https://app.example/callback";

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(binary: &str, db: &str, args: &[&str], stdin: Option<&str>) -> serde_json::Value {
    use std::io::Write;
    let mut child = Command::new(binary)
        .args(args)
        .env("PORTCULLIS_DATABASE_URL", db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run portcullis");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "portcullis {args:?} failed");
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn proc_field(pid: u32, file: &str, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/{file}"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// User + system CPU seconds of `pid` so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("hidden field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

async fn token_latencies(
    http: &reqwest::Client,
    base: &str,
    id: &str,
    secret: &str,
    until: impl Fn(usize) -> bool,
) -> Vec<f64> {
    let mut samples = Vec::new();
    while !until(samples.len()) {
        let start = Instant::now();
        let response = http
            .post(format!("{base}/token"))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "a token request failed");
        response.bytes().await.unwrap();
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    samples
}

#[tokio::main]
async fn main() {
    let binary = std::env::args()
        .nth(1)
        .expect("usage: bench_login_flood PATH_TO_PORTCULLIS");
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/bench.db", dir.path().display());
    cli(&binary, &db, &["migrate"], None);
    cli(
        &binary,
        &db,
        &[
            "user",
            "create",
            "--username",
            "alice",
            "--password-stdin",
            "--json",
        ],
        Some("correct horse battery staple\n"),
    );
    let service = cli(
        &binary,
        &db,
        &[
            "client",
            "create",
            "--name",
            "svc",
            "--grant-type",
            "client_credentials",
            "--scope",
            "read",
            "--json",
        ],
        None,
    );
    let web = cli(
        &binary,
        &db,
        &[
            "client",
            "create",
            "--name",
            "web",
            "--redirect-uri",
            REDIRECT_URI,
            "--scope",
            "openid",
            "--json",
        ],
        None,
    );
    let (svc_id, svc_secret) = (
        service["client_id"].as_str().unwrap().to_owned(),
        service["client_secret"].as_str().unwrap().to_owned(),
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(&binary)
        .arg("serve")
        .env("PORTCULLIS_DATABASE_URL", &db)
        .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
        .env("PORTCULLIS_ISSUER", &base)
        .env("PORTCULLIS_LOGIN_RATE_LIMIT", "0")
        .env("PORTCULLIS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let server = Server { child, base };
    let pid = server.child.id();
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http
            .get(format!("{}/healthz", server.base))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // One pending authorization request and its login form, shared by the flood.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let authorize = browser
        .get(format!("{}/authorize", server.base))
        .query(&[
            ("response_type", "code"),
            ("client_id", web["client_id"].as_str().unwrap()),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid"),
            ("state", "s"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    let login = authorize.headers()["location"].to_str().unwrap().to_owned();
    let page = browser
        .get(format!("{}{login}", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form = Arc::new(vec![
        ("request".to_owned(), hidden(&page, "request")),
        ("csrf_token".to_owned(), hidden(&page, "csrf_token")),
        ("username".to_owned(), "alice".to_owned()),
        ("password".to_owned(), "wrong password".to_owned()),
    ]);

    let alone = token_latencies(&http, &server.base, &svc_id, &svc_secret, |n| {
        n >= BASELINE_REQUESTS
    })
    .await;
    let rss_before = proc_field(pid, "status", "VmRSS:");
    let cpu_before = cpu_seconds(pid);

    let stop = Arc::new(AtomicBool::new(false));
    let (checked, busy, other) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let mut flooders = Vec::new();
    for _ in 0..FLOODERS {
        let (browser, form, stop) = (browser.clone(), form.clone(), stop.clone());
        let (checked, busy, other) = (checked.clone(), busy.clone(), other.clone());
        let url = format!("{}/login", server.base);
        flooders.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match browser.post(&url).form(&*form).send().await {
                    Ok(r) if r.status() == 200 => checked.fetch_add(1, Ordering::Relaxed),
                    Ok(r) if r.status() == 503 => busy.fetch_add(1, Ordering::Relaxed),
                    _ => other.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(proc_field(pid, "status", "VmRSS:"), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let started = Instant::now();
    let flooded = token_latencies(&http, &server.base, &svc_id, &svc_secret, |_| {
        started.elapsed() >= Duration::from_secs(FLOOD_SECONDS)
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        let _ = f.await;
    }
    let _ = sampler.await;
    let cpu = cpu_seconds(pid) - cpu_before;
    let hwm = proc_field(pid, "status", "VmHWM:");

    println!(
        "token endpoint alone:        p50 {:.2} ms, p99 {:.2} ms ({} requests)",
        percentile(&alone, 0.5),
        percentile(&alone, 0.99),
        alone.len()
    );
    println!("token endpoint during flood: p50 {:.2} ms, p99 {:.2} ms ({} requests in {FLOOD_SECONDS} s)", percentile(&flooded, 0.5), percentile(&flooded, 0.99), flooded.len());
    println!(
        "login flood ({FLOODERS} clients): {} checked and refused (200), {} answered busy (503), {} other",
        checked.load(Ordering::Relaxed), busy.load(Ordering::Relaxed), other.load(Ordering::Relaxed)
    );
    println!(
        "server RSS: {} MiB before the flood, peak {} MiB (VmHWM {} MiB)",
        rss_before / 1024,
        peak.load(Ordering::Relaxed) / 1024,
        hwm / 1024
    );
    println!("server CPU during the flood: {cpu:.1} s in {FLOOD_SECONDS} s");
}
