//! Several instances on one Postgres database behind a round-robin proxy: the
//! release binary started 1, 2 and 3 times on a fresh database, a TCP proxy in this
//! driver handing each new connection to the next instance, and 16 clients sending
//! `client_credentials` requests (keep-alive) for a fixed window. Prints, per
//! instance count: requests per second, p50/p99, errors, and the instances' CPU
//! seconds per request. On 2 cores the point is that nothing serialises (the rate
//! holds and the CPU per request stays flat), not a bigger number.
//!
//! Run: `bash bench/scale_out.sh` (needs the local Postgres; PORTCULLIS_BENCH_POSTGRES
//! names another server, default postgres://postgres@127.0.0.1:5432).

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};

const CLIENTS: usize = 16;
const WINDOW: Duration = Duration::from_secs(8);
const MASTER_KEY: &str = "c2NhbGUtb3V0LWJlbmNoLW1hc3Rlci1rZXktMzJieXQ=";

struct Instances(Vec<Child>);

impl Drop for Instances {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(binary: &str, env: &[(&str, String)], args: &[&str]) -> serde_json::Value {
    let out = Command::new(binary)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stderr(Stdio::null())
        .output()
        .expect("run portcullis");
    assert!(out.status.success(), "portcullis {args:?} failed");
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// Accepts on `listener` and splices each connection to the next backend in turn.
async fn round_robin(listener: TcpListener, backends: Vec<u16>) {
    let next = Arc::new(AtomicUsize::new(0));
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            return;
        };
        let port = backends[next.fetch_add(1, Ordering::Relaxed) % backends.len()];
        tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", port)).await {
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

#[tokio::main]
async fn main() {
    let binary = std::env::args()
        .nth(1)
        .expect("usage: bench_scale_out PATH_TO_PORTCULLIS");
    let server = std::env::var("PORTCULLIS_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    println!("instances | req/s | p50 ms | p99 ms | errors | instance CPU ms/request");
    for count in 1..=3 {
        let name = format!("portcullis_bench_{}_{count}", std::process::id());
        let admin = format!("{server}/postgres");
        let created = Command::new("psql")
            .args([admin.as_str(), "-qc", &format!("CREATE DATABASE {name}")])
            .status()
            .expect("psql");
        assert!(created.success(), "cannot create the bench database");
        let env = vec![
            ("PORTCULLIS_DATABASE_URL", format!("{server}/{name}")),
            ("PORTCULLIS_MASTER_KEY", MASTER_KEY.to_owned()),
            ("PORTCULLIS_LOG", "warn".to_owned()),
        ];
        run(&binary, &env, &["migrate"]);
        let client = run(
            &binary,
            &env,
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
        );
        let id = client["client_id"].as_str().unwrap().to_owned();
        let secret = client["client_secret"].as_str().unwrap().to_owned();

        let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", proxy.local_addr().unwrap());
        let ports: Vec<u16> = (0..count).map(|_| free_port()).collect();
        let mut instances = Instances(Vec::new());
        for port in &ports {
            let child = Command::new(&binary)
                .arg("serve")
                .arg("--no-migrate")
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .env("PORTCULLIS_BIND", format!("127.0.0.1:{port}"))
                .env("PORTCULLIS_ISSUER", &issuer)
                .env("PORTCULLIS_TRUSTED_PROXIES", "127.0.0.1/32")
                .env("PORTCULLIS_POOL_SIZE", "4")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            instances.0.push(child);
        }
        let http = reqwest::Client::new();
        for port in &ports {
            for _ in 0..200 {
                let ready = http
                    .get(format!("http://127.0.0.1:{port}/readyz"))
                    .send()
                    .await;
                if ready.is_ok_and(|r| r.status() == 200) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let proxy_task = tokio::spawn(round_robin(proxy, ports.clone()));
        let pids: Vec<u32> = instances.0.iter().map(Child::id).collect();
        let cpu_before: f64 = pids.iter().map(|p| cpu_seconds(*p)).sum();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..CLIENTS {
            let (url, id, secret) = (format!("{issuer}/token"), id.clone(), secret.clone());
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                let (mut latencies, mut errors) = (Vec::new(), 0usize);
                while started.elapsed() < WINDOW {
                    let sent = Instant::now();
                    match http
                        .post(&url)
                        .basic_auth(&id, Some(&secret))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await
                    {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.bytes().await;
                            latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                        }
                        _ => errors += 1,
                    }
                }
                (latencies, errors)
            }));
        }
        let (mut latencies, mut errors) = (Vec::new(), 0);
        for task in tasks {
            let (l, e) = task.await.unwrap();
            latencies.extend(l);
            errors += e;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let cpu: f64 = pids.iter().map(|p| cpu_seconds(*p)).sum::<f64>() - cpu_before;
        latencies.sort_by(|a, b| a.total_cmp(b));
        let at =
            |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
        println!(
            "{count} | {:.0} | {:.2} | {:.2} | {errors} | {:.3}",
            latencies.len() as f64 / elapsed,
            at(0.5),
            at(0.99),
            cpu * 1e3 / latencies.len() as f64
        );
        proxy_task.abort();
        drop(instances);
        let _ = Command::new("psql")
            .args([admin.as_str(), "-qc", &format!("DROP DATABASE {name}")])
            .status();
    }
}
