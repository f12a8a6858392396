//! One typed [`Config`], read once at start and validated before anything runs.
//!
//! Sources, weakest first: the defaults documented in [`SETTINGS`], an optional
//! TOML file (`--config FILE`, flat `key = value` pairs), then environment
//! variables `PORTCULLIS_<KEY>`. The environment wins. Every error names the
//! setting and where its value came from.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod database_url;

use crate::crypto::key_alg::KeyAlg;
use crate::crypto::master_key::MasterKey;
pub use crate::crypto::password::Argon2Params;
use crate::crypto::Secret;
pub use database_url::DatabaseUrl;

/// A setting: its TOML key (the env var is `PORTCULLIS_` + the key in upper case),
/// its default, and what it means. This table is the documentation of every option.
pub struct Setting {
    pub key: &'static str,
    pub default: &'static str,
    pub doc: &'static str,
}

/// Every setting Portcullis reads, with its default.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "database_url",
        default: "sqlite://portcullis.db",
        doc: "sqlite://relative.db, sqlite:///absolute/path.db, a plain file path, or postgres://user@host/db",
    },
    Setting {
        key: "issuer",
        default: "http://127.0.0.1:8080",
        doc: "the issuer identifier: absolute http(s) URL, no query or fragment; used exactly as written",
    },
    Setting {
        key: "bind",
        default: "127.0.0.1:8080",
        doc: "address the server listens on, IP:PORT",
    },
    Setting {
        key: "log",
        default: "info",
        doc: "tracing filter, e.g. `info` or `portcullis=debug,actix_web=info`",
    },
    Setting {
        key: "database_timeout",
        default: "3",
        doc: "seconds a request waits for a database connection (and libpq's connect and TCP timeouts) before it is answered 503 with `Retry-After`: while the database is away nothing hangs (1 to 60)",
    },
    Setting {
        key: "postgres_statement_cache",
        default: "true",
        doc: "`true`: each Postgres connection keeps named prepared statements (fastest). `false`: unnamed statements only, for PgBouncer in transaction-pooling mode before 1.21 (or without `max_prepared_statements`). Request handling keeps no other session state; run migrations directly against Postgres",
    },
    Setting {
        key: "pool_size",
        default: "8",
        doc: "database connections kept in the pool (1 to 256)",
    },
    Setting {
        key: "authorization_code_lifetime",
        default: "60",
        doc: "seconds an authorization code stays valid (RFC 6749 §4.1.2 recommends at most 600)",
    },
    Setting {
        key: "access_token_lifetime",
        default: "900",
        doc: "seconds an access token stays valid",
    },
    Setting {
        key: "id_token_lifetime",
        default: "3600",
        doc: "seconds an ID token stays valid",
    },
    Setting {
        key: "refresh_token_idle_lifetime",
        default: "1209600",
        doc: "seconds a refresh token lives without being used (14 days)",
    },
    Setting {
        key: "refresh_token_absolute_lifetime",
        default: "7776000",
        doc: "seconds a refresh-token family lives at most, however often it is used (90 days)",
    },
    Setting {
        key: "session_idle_lifetime",
        default: "28800",
        doc: "seconds a login session lives without activity (8 hours)",
    },
    Setting {
        key: "session_absolute_lifetime",
        default: "604800",
        doc: "seconds a login session lives at most (7 days)",
    },
    Setting {
        key: "admin_session_idle_lifetime",
        default: "900",
        doc: "seconds an admin's session lives without activity (15 minutes; at most session_idle_lifetime): an admin who walks away must sign in again. Deleting, rotating a secret and revoking a key also ask for the password again 5 minutes after the last sign-in",
    },
    Setting {
        key: "signing_algs",
        default: "RS256 ES256",
        doc: "signing algorithms to keep keys for, space-separated: RS256 and ES256 always, EdDSA (Ed25519) on request",
    },
    Setting {
        key: "jwks_max_age",
        default: "600",
        doc: "seconds resource servers may cache the JWKS (its `Cache-Control: max-age`); a new key is published at least this long (plus key_reload_interval) before it signs",
    },
    Setting {
        key: "key_rotation_period",
        default: "2592000",
        doc: "seconds a signing key signs before the next one takes over automatically (30 days)",
    },
    Setting {
        key: "key_reload_interval",
        default: "10",
        doc: "seconds between reloads of the key set from the database by each instance; a rotation takes effect at least this far ahead so every instance switches together",
    },
    Setting {
        key: "master_key",
        default: "",
        doc: "base64 of 32 bytes: encrypts private signing keys at rest (AES-256-GCM); set it in the environment. Empty: read or create master_key_file",
    },
    Setting {
        key: "master_key_file",
        default: "",
        doc: "file holding the master key when master_key is empty, created 0600 on first start. Empty: `<database file>.master-key` beside a SQLite database; with Postgres one of master_key or master_key_file is required",
    },
    Setting {
        key: "authorization_request_lifetime",
        default: "600",
        doc: "seconds a pending authorization request waits for login and consent (10 minutes)",
    },
    Setting {
        key: "refresh_token_grace_period",
        default: "5",
        doc: "seconds after a rotation in which a retry with the old refresh token by the same client gets the same answer instead of revoking the family (0 turns it off)",
    },
    Setting {
        key: "access_token_signing_alg",
        default: "ES256",
        doc: "algorithm of access-token signatures (RFC 9068), one of signing_algs; a client may override it",
    },
    Setting {
        key: "access_token_audience",
        default: "",
        doc: "the `aud` of access tokens: the resource server(s) they are meant for. Empty: the issuer",
    },
    Setting {
        key: "pkce_required_for_confidential_clients",
        default: "true",
        doc: "`true` or `false`: whether confidential clients must send a PKCE challenge too (public clients always must; only S256 is accepted)",
    },
    Setting {
        key: "login_rate_limit",
        default: "60",
        doc: "login attempts per minute per client IP (burst of the same size); 0 turns the limit off. Failed sign-ins are also throttled per (username, client IP) and per username, decaying over time (see Security)",
    },
    Setting {
        key: "authorize_rate_limit",
        default: "600",
        doc: "authorization requests per minute per client IP (burst of the same size); 0 turns the limit off",
    },
    Setting {
        key: "token_rate_limit",
        default: "10000",
        doc: "token requests per second per client IP (burst of the same size); 0 turns the limit off. A flood guard: client secrets are 256-bit, so guessing is not the threat, and real clients must not be throttled",
    },
    Setting {
        key: "introspection_rate_limit",
        default: "10000",
        doc: "introspection and revocation requests per second per client IP (burst of the same size); 0 turns the limit off",
    },
    Setting {
        key: "userinfo_rate_limit",
        default: "10000",
        doc: "UserInfo requests per second per client IP (burst of the same size); 0 turns the limit off",
    },
    Setting {
        key: "admin_rate_limit",
        default: "300",
        doc: "requests per minute per client IP to the admin UI, the playground, the account page and the setup page (burst of the same size); 0 turns the limit off",
    },
    Setting {
        key: "trusted_proxies",
        default: "",
        doc: "CIDRs of reverse proxies (e.g. `127.0.0.1/32 10.0.0.0/8`), space- or comma-separated. Only for a request from one of them is the client address read from `Forwarded` / `X-Forwarded-For` (the right-most address not itself a trusted proxy); rate limits, login throttling and the audit log use that address. Empty: the TCP peer is the client",
    },
    Setting {
        key: "forwarded_header",
        default: "x-forwarded-for",
        doc: "which header trusted proxies write the client address into: `x-forwarded-for` (nginx, HAProxy, most load balancers) or `forwarded` (RFC 7239). Only that one is read; a client-written copy of the other passes through proxies untouched and is ignored",
    },
    Setting {
        key: "password_hash_workers",
        default: "0",
        doc: "threads verifying passwords (argon2id, ~19 MiB each, kept between logins); 0: one per core. They run at a lower CPU priority than requests (0 to 256)",
    },
    Setting {
        key: "password_hash_queue",
        default: "16",
        doc: "sign-ins that may wait for a password-hashing thread; beyond that a sign-in is answered 503 with `Retry-After` at once (1 to 10000)",
    },
    Setting {
        key: "session_cookie_persistent",
        default: "false",
        doc: "`true`: the session cookie carries `Max-Age` (the absolute session lifetime) and survives browser restarts; `false`: it is a browser-session cookie. Either way the server ends sessions at their idle and absolute timeouts",
    },
    Setting {
        key: "tls_cert_file",
        default: "",
        doc: "PEM certificate chain: `serve` speaks HTTPS (TLS 1.2 and 1.3, HTTP/2) with rustls on `bind`. Re-read on SIGHUP and when the file changes. Needs tls_key_file",
    },
    Setting {
        key: "tls_key_file",
        default: "",
        doc: "PEM private key (PKCS#8, PKCS#1 or SEC1) of tls_cert_file",
    },
    Setting {
        key: "tls_terminated_by_proxy",
        default: "false",
        doc: "`true`: a reverse proxy in front terminates TLS for the https issuer, so `serve` may listen on plain HTTP. Without it (or TLS files), an https issuer on a non-loopback host is refused at start",
    },
    Setting {
        key: "allow_http_issuer",
        default: "false",
        doc: "`true`: accept an http:// issuer on a non-loopback host (cookies then lack `Secure`; for closed test networks only). An http issuer on 127.0.0.1, ::1 or localhost is always accepted",
    },
    Setting {
        key: "metrics_token",
        default: "",
        doc: "bearer token for `GET /metrics` (Prometheus text format) on the main address; empty: /metrics is not served there",
    },
    Setting {
        key: "metrics_bind",
        default: "",
        doc: "IP:PORT of a separate listener serving only `GET /metrics` without a token (keep it private); empty: none",
    },
    Setting {
        key: "audit_retention",
        default: "7776000",
        doc: "seconds audit events are kept before the purge task deletes them (90 days; 1 day to 10 years)",
    },
    Setting {
        key: "argon2_memory_kib",
        default: "19456",
        doc: "argon2id memory cost in KiB for user passwords (OWASP minimum: 19 MiB)",
    },
    Setting {
        key: "argon2_iterations",
        default: "2",
        doc: "argon2id time cost (passes)",
    },
    Setting {
        key: "argon2_parallelism",
        default: "1",
        doc: "argon2id lanes",
    },
];

/// The validated configuration. Built by [`Config::load`]; immutable afterwards.
#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: DatabaseUrl,
    /// The issuer exactly as configured (OIDC Discovery §4.3: compared as a string).
    pub issuer: String,
    pub bind: SocketAddr,
    pub log: String,
    pub pool_size: u32,
    /// How long a request waits for the database before a 503.
    pub database_timeout: Duration,
    /// Whether Postgres connections cache named prepared statements.
    pub postgres_statement_cache: bool,
    pub lifetimes: Lifetimes,
    pub argon2: Argon2Params,
    pub keys: KeyPolicy,
    pub oauth: OAuthPolicy,
    pub rate_limits: RateLimits,
    /// Audit events older than this are purged.
    pub audit_retention: Duration,
    /// Reverse proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The header those proxies write the client address into.
    pub forwarded_header: ForwardedHeader,
    /// The password-hashing workers and their queue.
    pub password_hashing: PasswordHashing,
    /// Whether the session cookie outlives the browser session.
    pub session_cookie_persistent: bool,
    /// Certificate and key when `serve` speaks TLS itself.
    pub tls: Option<TlsFiles>,
    /// `GET /metrics`: its bearer token and its own listener, each optional.
    pub metrics: MetricsPolicy,
}

/// The header trusted proxies write the client address into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …`
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`
    Forwarded,
}

/// The files of the server's TLS certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Bounds on password hashing (DESIGN.md §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    /// Worker threads (at least one).
    pub workers: usize,
    /// Sign-ins that may wait for a worker.
    pub queue: usize,
}

/// Where `GET /metrics` is served.
#[derive(Debug, Clone, Default)]
pub struct MetricsPolicy {
    /// On the main address, for requests bearing this token.
    pub token: Option<Secret<String>>,
    /// On a listener of its own, without a token.
    pub bind: Option<SocketAddr>,
}

/// Choices in how tokens are issued (DESIGN.md §3).
#[derive(Debug, Clone)]
pub struct OAuthPolicy {
    /// RFC 9700 §2.1.1: PKCE for confidential clients too (public clients always).
    pub pkce_required_for_confidential_clients: bool,
    /// Access-token signature algorithm unless the client names its own.
    pub access_token_alg: KeyAlg,
    /// The `aud` claim of access tokens (RFC 9068 §3).
    pub access_token_audience: String,
    /// A retry with a just-rotated refresh token inside this window gets the same answer.
    pub refresh_grace_period: Duration,
}

/// Per-IP request budgets; `0` means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub login_per_minute: u32,
    pub authorize_per_minute: u32,
    pub token_per_second: u32,
    pub introspection_per_second: u32,
    pub userinfo_per_second: u32,
    pub admin_per_minute: u32,
}

/// How signing keys are kept and rotated (DESIGN.md §4).
#[derive(Debug, Clone)]
pub struct KeyPolicy {
    /// The algorithms to keep keys for; always RS256 and ES256.
    pub algs: Vec<KeyAlg>,
    /// The JWKS `Cache-Control: max-age`.
    pub jwks_max_age: Duration,
    /// How long a key signs before the automatic rotation.
    pub rotation_period: Duration,
    /// How often each instance reloads the key set.
    pub reload_interval: Duration,
    /// Where the master key comes from.
    pub master_key: MasterKeySource,
}

impl KeyPolicy {
    /// DESIGN.md §4: how long a new key is published before it may sign — a full
    /// JWKS cache lifetime plus one reload, so every cache and every instance has it.
    /// The one place this lead is computed.
    pub fn publish_lead(&self) -> Duration {
        self.jwks_max_age + self.reload_interval
    }
}

/// The master key, given directly or kept in a file.
#[derive(Debug, Clone)]
pub enum MasterKeySource {
    /// `PORTCULLIS_MASTER_KEY`.
    Given(Secret<MasterKey>),
    /// Read from this file, created on first start when missing.
    File(PathBuf),
}

/// Lifetimes of everything the server hands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub authorization_code: Duration,
    pub access_token: Duration,
    pub id_token: Duration,
    pub refresh_token_idle: Duration,
    pub refresh_token_absolute: Duration,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    /// An admin's session ends after this long without activity.
    pub admin_session_idle: Duration,
    /// A pending authorization request (login, consent) expires after this.
    pub authorization_request: Duration,
}

/// Why the configuration was refused. The message names the setting and its source.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    ParseFile { path: PathBuf, message: String },
    #[error("{origin}: {problem}")]
    Invalid { origin: Origin, problem: String },
}

/// Where a setting's value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default(&'static str),
    File(&'static str, PathBuf),
    Env(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default(key) => write!(f, "{key} (default)"),
            Origin::File(key, path) => write!(f, "{key} in {}", path.display()),
            Origin::Env(name) => f.write_str(name),
        }
    }
}

/// The env var that sets a key.
pub fn env_name(key: &str) -> String {
    format!("PORTCULLIS_{}", key.to_ascii_uppercase())
}

impl Config {
    /// Reads the file (if any) and the environment (through `env`, so tests pass a map),
    /// and validates every setting.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let file_values = match file {
            Some(path) => read_file(path)?,
            None => BTreeMap::new(),
        };
        let mut raw = RawValues::default();
        for setting in SETTINGS {
            let name = env_name(setting.key);
            let value = if let Some(v) = env(&name) {
                (v, Origin::Env(name))
            } else if let Some(v) = file_values.get(setting.key) {
                let path = file.map(Path::to_path_buf).unwrap_or_default();
                (v.clone(), Origin::File(setting.key, path))
            } else {
                (setting.default.to_owned(), Origin::Default(setting.key))
            };
            raw.0.insert(setting.key, value);
        }
        raw.into_config()
    }

    /// The defaults alone (what `load` gives with no file and an empty environment).
    pub fn defaults() -> Result<Config, ConfigError> {
        Config::load(None, |_| None)
    }
}

fn read_file(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let parse_error = |message: String| ConfigError::ParseFile {
        path: path.to_path_buf(),
        message,
    };
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| parse_error(e.message().to_owned()))?;
    let mut values = BTreeMap::new();
    for (key, value) in table {
        if !SETTINGS.iter().any(|s| s.key == key) {
            return Err(parse_error(format!("unknown setting `{key}`")));
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            other => {
                return Err(parse_error(format!(
                    "`{key}` must be a string or an integer, not {}",
                    other.type_str()
                )))
            }
        };
        values.insert(key, text);
    }
    Ok(values)
}

#[derive(Default)]
struct RawValues(BTreeMap<&'static str, (String, Origin)>);

impl RawValues {
    fn get(&self, key: &'static str) -> (&str, &Origin) {
        match self.0.get(key) {
            Some((v, o)) => (v.as_str(), o),
            None => ("", &Origin::Default("unknown")),
        }
    }

    fn parse<T>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        let (value, origin) = self.get(key);
        parse(value.trim()).map_err(|problem| ConfigError::Invalid {
            origin: origin.clone(),
            problem,
        })
    }

    fn seconds(&self, key: &'static str) -> Result<Duration, ConfigError> {
        self.parse(key, |v| {
            parse_in_range(v, 1, 10 * 365 * 86_400).map(Duration::from_secs)
        })
    }

    fn into_config(self) -> Result<Config, ConfigError> {
        let lifetimes = Lifetimes {
            authorization_code: self.parse("authorization_code_lifetime", |v| {
                parse_in_range(v, 1, 600).map(Duration::from_secs)
            })?,
            access_token: self.seconds("access_token_lifetime")?,
            id_token: self.seconds("id_token_lifetime")?,
            refresh_token_idle: self.seconds("refresh_token_idle_lifetime")?,
            refresh_token_absolute: self.seconds("refresh_token_absolute_lifetime")?,
            session_idle: self.seconds("session_idle_lifetime")?,
            session_absolute: self.seconds("session_absolute_lifetime")?,
            admin_session_idle: self.seconds("admin_session_idle_lifetime")?,
            authorization_request: self.parse("authorization_request_lifetime", |v| {
                parse_in_range(v, 60, 86_400).map(Duration::from_secs)
            })?,
        };
        self.check_order(
            "refresh_token_idle_lifetime",
            lifetimes.refresh_token_idle,
            "refresh_token_absolute_lifetime",
            lifetimes.refresh_token_absolute,
        )?;
        self.check_order(
            "session_idle_lifetime",
            lifetimes.session_idle,
            "session_absolute_lifetime",
            lifetimes.session_absolute,
        )?;
        self.check_order(
            "admin_session_idle_lifetime",
            lifetimes.admin_session_idle,
            "session_idle_lifetime",
            lifetimes.session_idle,
        )?;
        let database_url = self.parse("database_url", |v| {
            DatabaseUrl::parse(v).map_err(|e| e.to_string())
        })?;
        let keys = self.key_policy(&database_url)?;
        let issuer = self.parse("issuer", validate_issuer)?;
        let oauth = self.oauth_policy(&keys.algs, &issuer)?;
        let rate_limits = RateLimits {
            login_per_minute: self
                .parse("login_rate_limit", |v| parse_in_range(v, 0, 1_000_000))?,
            authorize_per_minute: self
                .parse("authorize_rate_limit", |v| parse_in_range(v, 0, 1_000_000))?,
            token_per_second: self
                .parse("token_rate_limit", |v| parse_in_range(v, 0, 1_000_000))?,
            introspection_per_second: self.parse("introspection_rate_limit", |v| {
                parse_in_range(v, 0, 1_000_000)
            })?,
            userinfo_per_second: self
                .parse("userinfo_rate_limit", |v| parse_in_range(v, 0, 1_000_000))?,
            admin_per_minute: self
                .parse("admin_rate_limit", |v| parse_in_range(v, 0, 1_000_000))?,
        };
        let tls = self.tls_files()?;
        self.check_issuer_transport(&issuer, tls.is_some())?;
        Ok(Config {
            database_url,
            issuer,
            bind: self.parse("bind", |v| {
                v.parse::<SocketAddr>()
                    .map_err(|_| format!("expected IP:PORT such as 127.0.0.1:8080, got `{v}`"))
            })?,
            log: self.parse("log", |v| {
                tracing_subscriber::EnvFilter::try_new(v)
                    .map(|_| v.to_owned())
                    .map_err(|e| format!("not a valid tracing filter: {e}"))
            })?,
            pool_size: self.parse("pool_size", |v| parse_in_range(v, 1, 256))?,
            postgres_statement_cache: self.parse("postgres_statement_cache", parse_bool)?,
            database_timeout: self.parse("database_timeout", |v| {
                parse_in_range(v, 1, 60).map(Duration::from_secs)
            })?,
            lifetimes,
            argon2: Argon2Params {
                memory_kib: self.parse("argon2_memory_kib", |v| {
                    parse_in_range(v, 8 * 1024, 4 * 1024 * 1024)
                })?,
                iterations: self.parse("argon2_iterations", |v| parse_in_range(v, 1, 100))?,
                parallelism: self.parse("argon2_parallelism", |v| parse_in_range(v, 1, 64))?,
            },
            keys,
            oauth,
            rate_limits,
            audit_retention: self.parse("audit_retention", |v| {
                parse_in_range(v, 86_400, 10 * 365 * 86_400).map(Duration::from_secs)
            })?,
            trusted_proxies: self.parse("trusted_proxies", parse_cidrs)?,
            forwarded_header: self.parse("forwarded_header", |v| {
                match v.to_ascii_lowercase().as_str() {
                    "x-forwarded-for" => Ok(ForwardedHeader::XForwardedFor),
                    "forwarded" => Ok(ForwardedHeader::Forwarded),
                    _ => Err(format!(
                        "expected `x-forwarded-for` or `forwarded`, got `{v}`"
                    )),
                }
            })?,
            password_hashing: PasswordHashing {
                workers: match self
                    .parse("password_hash_workers", |v| parse_in_range(v, 0_usize, 256))?
                {
                    0 => std::thread::available_parallelism().map_or(1, usize::from),
                    n => n,
                },
                queue: self.parse("password_hash_queue", |v| parse_in_range(v, 1, 10_000))?,
            },
            session_cookie_persistent: self.parse("session_cookie_persistent", parse_bool)?,
            tls,
            metrics: MetricsPolicy {
                token: self.parse("metrics_token", |v| {
                    if v.is_empty() {
                        Ok(None)
                    } else if v.len() < 16 {
                        Err("must be at least 16 characters (or empty)".to_owned())
                    } else {
                        Ok(Some(Secret::new(v.to_owned())))
                    }
                })?,
                bind: self.parse("metrics_bind", |v| {
                    if v.is_empty() {
                        return Ok(None);
                    }
                    v.parse::<SocketAddr>()
                        .map(Some)
                        .map_err(|_| format!("expected IP:PORT such as 127.0.0.1:9090, got `{v}`"))
                })?,
            },
        })
    }

    fn tls_files(&self) -> Result<Option<TlsFiles>, ConfigError> {
        let cert = self.get("tls_cert_file").0.trim();
        let key = self.get("tls_key_file").0.trim();
        match (cert.is_empty(), key.is_empty()) {
            (true, true) => Ok(None),
            (false, false) => Ok(Some(TlsFiles {
                cert: PathBuf::from(cert),
                key: PathBuf::from(key),
            })),
            (true, false) => Err(self.invalid("tls_key_file", "needs tls_cert_file too")),
            (false, true) => Err(self.invalid("tls_cert_file", "needs tls_key_file too")),
        }
    }

    /// RFC 9700 §2.6 / RFC 6749 §3.1: the endpoints must be served over TLS. An https
    /// issuer needs TLS here or a proxy that says it terminates TLS; a plain-http
    /// issuer is for loopback development unless explicitly allowed.
    fn check_issuer_transport(&self, issuer: &str, tls: bool) -> Result<(), ConfigError> {
        let url = url::Url::parse(issuer).map_err(|e| self.invalid("issuer", &e.to_string()))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        let behind_proxy = self.parse("tls_terminated_by_proxy", parse_bool)?;
        let allow_http = self.parse("allow_http_issuer", parse_bool)?;
        match url.scheme() {
            "https" if !loopback && !tls && !behind_proxy => Err(self.invalid(
                "issuer",
                "is https on a public host, but neither tls_cert_file/tls_key_file nor tls_terminated_by_proxy = true is set",
            )),
            "http" if !loopback && !allow_http => Err(self.invalid(
                "issuer",
                "is plain http on a non-loopback host: use https (or allow_http_issuer = true on a closed test network)",
            )),
            "http" if tls => Err(self.invalid(
                "issuer",
                "is plain http, but tls_cert_file is set: the issuer must be https",
            )),
            _ => Ok(()),
        }
    }

    fn invalid(&self, key: &'static str, problem: &str) -> ConfigError {
        let (_, origin) = self.get(key);
        ConfigError::Invalid {
            origin: origin.clone(),
            problem: problem.to_owned(),
        }
    }

    fn oauth_policy(&self, algs: &[KeyAlg], issuer: &str) -> Result<OAuthPolicy, ConfigError> {
        Ok(OAuthPolicy {
            pkce_required_for_confidential_clients: self
                .parse("pkce_required_for_confidential_clients", parse_bool)?,
            access_token_alg: self.parse("access_token_signing_alg", |v| {
                let alg: KeyAlg = v.parse().map_err(|_| {
                    format!("unknown algorithm `{v}` (expected RS256, ES256, EdDSA)")
                })?;
                if algs.contains(&alg) {
                    Ok(alg)
                } else {
                    Err(format!("{alg} is not in signing_algs"))
                }
            })?,
            access_token_audience: match self.get("access_token_audience").0.trim() {
                "" => issuer.to_owned(),
                audience => audience.to_owned(),
            },
            refresh_grace_period: self.parse("refresh_token_grace_period", |v| {
                parse_in_range(v, 0, 60).map(Duration::from_secs)
            })?,
        })
    }

    fn key_policy(&self, database_url: &DatabaseUrl) -> Result<KeyPolicy, ConfigError> {
        let policy = KeyPolicy {
            algs: self.parse("signing_algs", parse_signing_algs)?,
            jwks_max_age: self.parse("jwks_max_age", |v| {
                parse_in_range(v, 0, 86_400).map(Duration::from_secs)
            })?,
            rotation_period: self.seconds("key_rotation_period")?,
            reload_interval: self.parse("key_reload_interval", |v| {
                parse_in_range(v, 1, 300).map(Duration::from_secs)
            })?,
            master_key: match self.get("master_key").0.trim() {
                "" => MasterKeySource::File(match self.get("master_key_file").0.trim() {
                    // DESIGN.md §2: instances on different hosts share one Postgres
                    // database, so they must share one master key; a key file made
                    // by each in its own directory would split them silently.
                    "" if matches!(database_url, DatabaseUrl::Postgres { .. }) => {
                        return Err(self.invalid(
                            "master_key",
                            "is required with Postgres: set PORTCULLIS_MASTER_KEY (base64 of 32 bytes, the same for every instance) or an explicit master_key_file",
                        ))
                    }
                    "" => default_master_key_file(database_url),
                    path => PathBuf::from(path),
                }),
                _ => MasterKeySource::Given(Secret::new(self.parse("master_key", |v| {
                    MasterKey::from_base64(v).map_err(|e| e.to_string())
                })?)),
            },
        };
        // A waiting key is published for the publish lead before it signs, and a
        // switch is scheduled one reload ahead; a shorter period would rotate to keys
        // no cache can know yet.
        let lead = policy.publish_lead() + policy.reload_interval;
        if policy.rotation_period <= lead {
            let (_, origin) = self.get("key_rotation_period");
            return Err(ConfigError::Invalid {
                origin: origin.clone(),
                problem: format!(
                    "must exceed jwks_max_age + 2 * key_reload_interval ({}s)",
                    lead.as_secs()
                ),
            });
        }
        Ok(policy)
    }

    fn check_order(
        &self,
        shorter_key: &'static str,
        shorter: Duration,
        longer_key: &'static str,
        longer: Duration,
    ) -> Result<(), ConfigError> {
        if shorter > longer {
            let (_, origin) = self.get(shorter_key);
            return Err(ConfigError::Invalid {
                origin: origin.clone(),
                problem: format!("must not exceed {longer_key} ({}s)", longer.as_secs()),
            });
        }
        Ok(())
    }
}

fn parse_in_range<T>(value: &str, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    match value.parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(format!(
            "expected a whole number from {min} to {max}, got `{value}`"
        )),
    }
}

/// Space- or comma-separated CIDRs; a bare address is a single host.
fn parse_cidrs(value: &str) -> Result<Vec<ipnet::IpNet>, String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| format!("`{s}` is not a CIDR such as 10.0.0.0/8 or an IP address"))
        })
        .collect()
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("expected `true` or `false`, got `{value}`")),
    }
}

/// The algorithms named in `signing_algs`: RS256 and ES256 must be there (OIDC Core
/// makes RS256 the default; ES256 signs access tokens), EdDSA may be added.
fn parse_signing_algs(value: &str) -> Result<Vec<KeyAlg>, String> {
    let mut algs = Vec::new();
    for name in value.split_whitespace() {
        let alg: KeyAlg = name
            .parse()
            .map_err(|_| format!("unknown algorithm `{name}` (expected RS256, ES256, EdDSA)"))?;
        if !algs.contains(&alg) {
            algs.push(alg);
        }
    }
    for required in [KeyAlg::Rs256, KeyAlg::Es256] {
        if !algs.contains(&required) {
            return Err(format!("must include {required}"));
        }
    }
    Ok(algs)
}

/// The key file beside a SQLite database, or in the working directory for Postgres.
fn default_master_key_file(database_url: &DatabaseUrl) -> PathBuf {
    match database_url {
        DatabaseUrl::Sqlite { path } => {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(".master-key");
            path.with_file_name(name)
        }
        DatabaseUrl::Postgres { .. } => PathBuf::from("portcullis.master-key"),
    }
}

/// OIDC Discovery §3 / RFC 8414 §2: the issuer is a case-sensitive URL using the
/// https scheme (http allowed here for development) with no query or fragment.
fn validate_issuer(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value)
        .map_err(|e| format!("must be an absolute http(s) URL, got `{value}` ({e})"))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(format!("must use https or http, got `{}`", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".to_owned());
    }
    if url.query().is_some() || value.contains('?') {
        return Err("must not have a query".to_owned());
    }
    if url.fragment().is_some() || value.contains('#') {
        return Err("must not have a fragment".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain credentials".to_owned());
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(None, |k| env.get(k).cloned())
    }

    fn problem_of(result: Result<Config, ConfigError>) -> String {
        match result {
            Ok(_) => panic!("expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_are_valid() {
        let config = Config::defaults().unwrap();
        assert_eq!(config.issuer, "http://127.0.0.1:8080");
        assert_eq!(config.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(config.lifetimes.authorization_code, Duration::from_secs(60));
        assert!(matches!(config.database_url, DatabaseUrl::Sqlite { .. }));
    }

    #[test]
    fn every_setting_has_a_unique_key() {
        let mut keys: Vec<_> = SETTINGS.iter().map(|s| s.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), SETTINGS.len());
    }

    #[test]
    fn readme_documents_every_setting() {
        let readme = include_str!("../../README.md");
        for setting in SETTINGS {
            let row = format!("| `{}` | `{}` |", env_name(setting.key), setting.key);
            assert!(
                readme.contains(&row),
                "README lacks the row for {}",
                setting.key
            );
        }
    }

    #[test]
    fn env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("portcullis.toml");
        std::fs::write(&path, "issuer = \"https://file.example\"\npool_size = 3\n").unwrap();
        let env = |k: &str| match k {
            "PORTCULLIS_ISSUER" => Some("https://env.example".to_owned()),
            "PORTCULLIS_TLS_TERMINATED_BY_PROXY" => Some("true".to_owned()),
            _ => None,
        };
        let config = Config::load(Some(&path), env).unwrap();
        assert_eq!(config.issuer, "https://env.example");
        assert_eq!(config.pool_size, 3);
    }

    #[test]
    fn unknown_file_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "isuer = \"https://x\"\n").unwrap();
        let err = Config::load(Some(&path), |_| None).unwrap_err().to_string();
        assert!(err.contains("unknown setting `isuer`"), "{err}");
    }

    #[test]
    fn issuer_must_be_absolute_http_url_without_query_or_fragment() {
        for bad in [
            "example.com",
            "/relative",
            "ftp://example.com",
            "https://example.com/?a=b",
            "https://example.com/#frag",
            "https://user:pw@example.com",
        ] {
            let err = problem_of(load_env(&[("PORTCULLIS_ISSUER", bad)]));
            assert!(err.starts_with("PORTCULLIS_ISSUER: "), "{bad}: {err}");
        }
        let ok = load_env(&[
            ("PORTCULLIS_ISSUER", "https://id.example.com/tenant"),
            ("PORTCULLIS_TLS_TERMINATED_BY_PROXY", "true"),
        ])
        .unwrap();
        assert_eq!(ok.issuer, "https://id.example.com/tenant");
    }

    #[test]
    fn a_public_issuer_needs_tls_and_plain_http_stays_on_loopback() {
        let public_https = ("PORTCULLIS_ISSUER", "https://id.example.com");
        let err = problem_of(load_env(&[public_https]));
        assert!(err.contains("tls_terminated_by_proxy"), "{err}");
        load_env(&[public_https, ("PORTCULLIS_TLS_TERMINATED_BY_PROXY", "true")]).unwrap();
        let tls = load_env(&[
            public_https,
            ("PORTCULLIS_TLS_CERT_FILE", "/etc/cert.pem"),
            ("PORTCULLIS_TLS_KEY_FILE", "/etc/key.pem"),
        ])
        .unwrap();
        assert_eq!(
            tls.tls.map(|t| t.cert),
            Some(PathBuf::from("/etc/cert.pem"))
        );
        let err = problem_of(load_env(&[
            public_https,
            ("PORTCULLIS_TLS_CERT_FILE", "/etc/cert.pem"),
        ]));
        assert!(err.contains("needs tls_key_file"), "{err}");

        let public_http = ("PORTCULLIS_ISSUER", "http://id.example.com");
        let err = problem_of(load_env(&[public_http]));
        assert!(err.contains("plain http on a non-loopback host"), "{err}");
        load_env(&[public_http, ("PORTCULLIS_ALLOW_HTTP_ISSUER", "true")]).unwrap();
        for loopback in [
            "http://127.0.0.1:8080",
            "http://[::1]:9000",
            "http://localhost/x",
            "https://localhost",
        ] {
            load_env(&[("PORTCULLIS_ISSUER", loopback)]).unwrap();
        }
        // HTTPS in upper case is https (RFC 3986 §3.1): the same rule applies.
        let err = problem_of(load_env(&[("PORTCULLIS_ISSUER", "HTTPS://id.example.com")]));
        assert!(err.contains("tls_terminated_by_proxy"), "{err}");
    }

    #[test]
    fn trusted_proxies_are_cidrs_or_addresses() {
        let config = load_env(&[(
            "PORTCULLIS_TRUSTED_PROXIES",
            "10.0.0.0/8, 127.0.0.1 ::1  192.168.1.77/24",
        )])
        .unwrap();
        let shown: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(
            shown,
            ["10.0.0.0/8", "127.0.0.1/32", "::1/128", "192.168.1.0/24"]
        );
        let err = problem_of(load_env(&[("PORTCULLIS_TRUSTED_PROXIES", "10.0.0.0/33")]));
        assert!(
            err.starts_with("PORTCULLIS_TRUSTED_PROXIES: `10.0.0.0/33`"),
            "{err}"
        );
    }

    #[test]
    fn password_hashing_defaults_to_one_worker_per_core() {
        let config = Config::defaults().unwrap();
        assert!(config.password_hashing.workers >= 1);
        assert_eq!(config.password_hashing.queue, 16);
        let err = problem_of(load_env(&[("PORTCULLIS_PASSWORD_HASH_QUEUE", "0")]));
        assert!(err.contains("from 1 to 10000"), "{err}");
    }

    #[test]
    fn bad_numbers_name_the_setting() {
        let err = problem_of(load_env(&[("PORTCULLIS_POOL_SIZE", "zero")]));
        assert!(
            err.starts_with("PORTCULLIS_POOL_SIZE: expected a whole number"),
            "{err}"
        );
        let err = problem_of(load_env(&[(
            "PORTCULLIS_AUTHORIZATION_CODE_LIFETIME",
            "3600",
        )]));
        assert!(err.contains("from 1 to 600"), "{err}");
    }

    #[test]
    fn idle_lifetime_may_not_exceed_absolute() {
        let err = problem_of(load_env(&[
            ("PORTCULLIS_SESSION_IDLE_LIFETIME", "100"),
            ("PORTCULLIS_SESSION_ABSOLUTE_LIFETIME", "50"),
        ]));
        assert!(err.starts_with("PORTCULLIS_SESSION_IDLE_LIFETIME"), "{err}");
    }

    #[test]
    fn bind_and_log_are_checked() {
        let err = problem_of(load_env(&[("PORTCULLIS_BIND", "localhost")]));
        assert!(err.starts_with("PORTCULLIS_BIND"), "{err}");
        let err = problem_of(load_env(&[("PORTCULLIS_LOG", "info,[[[")]));
        assert!(err.starts_with("PORTCULLIS_LOG"), "{err}");
    }

    #[test]
    fn signing_algs_need_rs256_and_es256() {
        let config = load_env(&[("PORTCULLIS_SIGNING_ALGS", "ES256 RS256 EdDSA")]).unwrap();
        assert_eq!(
            config.keys.algs,
            vec![KeyAlg::Es256, KeyAlg::Rs256, KeyAlg::EdDsa]
        );
        let err = problem_of(load_env(&[("PORTCULLIS_SIGNING_ALGS", "ES256")]));
        assert!(err.contains("must include RS256"), "{err}");
        let err = problem_of(load_env(&[(
            "PORTCULLIS_SIGNING_ALGS",
            "RS256 ES256 HS256",
        )]));
        assert!(err.contains("unknown algorithm `HS256`"), "{err}");
    }

    #[test]
    fn rotation_period_must_outlast_the_publication_lead() {
        let err = problem_of(load_env(&[
            ("PORTCULLIS_JWKS_MAX_AGE", "600"),
            ("PORTCULLIS_KEY_ROTATION_PERIOD", "600"),
        ]));
        assert!(err.starts_with("PORTCULLIS_KEY_ROTATION_PERIOD"), "{err}");
    }

    #[test]
    fn master_key_is_given_or_a_file_beside_the_sqlite_database() {
        let config =
            load_env(&[("PORTCULLIS_DATABASE_URL", "sqlite:///var/lib/p/auth.db")]).unwrap();
        match config.keys.master_key {
            MasterKeySource::File(path) => {
                assert_eq!(path, PathBuf::from("/var/lib/p/auth.db.master-key"))
            }
            MasterKeySource::Given(_) => panic!("no key was given"),
        }
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let config = load_env(&[("PORTCULLIS_MASTER_KEY", key)]).unwrap();
        assert!(matches!(config.keys.master_key, MasterKeySource::Given(_)));
        assert!(!format!("{config:?}").contains(key));
        let err = problem_of(load_env(&[("PORTCULLIS_MASTER_KEY", "c2hvcnQ=")]));
        assert!(err.starts_with("PORTCULLIS_MASTER_KEY"), "{err}");
        assert!(
            !err.contains("c2hvcnQ"),
            "the value must not be echoed: {err}"
        );
    }

    #[test]
    fn mistyped_postgres_scheme_is_refused() {
        let err = problem_of(load_env(&[(
            "PORTCULLIS_DATABASE_URL",
            "postgress://u@localhost/db",
        )]));
        assert!(err.starts_with("PORTCULLIS_DATABASE_URL"), "{err}");
        assert!(err.contains("postgress"), "{err}");
    }
}
