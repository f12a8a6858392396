//! Validation of Portcullis access tokens (RFC 9068 JWTs) by a resource server, the way
//! `docs/resource-servers.md` describes it: the JWKS cached for its `Cache-Control:
//! max-age`, one rate-limited refetch on an unknown `kid`, the algorithm pinned by the
//! key, `typ`, `iss`, `aud` and `exp` checked.
//!
//! Self-contained: the example server and an integration test both include this file.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, Validation};
use tokio::sync::Mutex;

/// Leeway for `exp`, in seconds: a token is expired when `exp + EXP_LEEWAY <= now`.
pub const EXP_LEEWAY: i64 = 60;
/// At most one unknown-`kid` refetch per this many seconds, however many tokens miss.
pub const UNKNOWN_KID_REFETCH_INTERVAL: i64 = 10;
/// The `typ` header of an access token (RFC 9068 §2.1), compared case-insensitively.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Why a token was refused (or could not be checked).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Not a compact JWS with a readable header, no `kid`, or a required claim
    /// (`exp`, `iss`, `aud`) missing or of the wrong type.
    #[error("malformed token")]
    Malformed,
    /// The header's `typ` is not `at+jwt`: an ID token or another JWT, not an access token.
    #[error("not an access token (typ must be at+jwt)")]
    WrongType,
    /// No published key has this `kid`, even after a refetch (or a refetch was
    /// rate-limited).
    #[error("unknown key id {0}")]
    UnknownKid(String),
    /// The published key cannot verify tokens: no `alg`, an `alg` that does not fit its
    /// key type, an algorithm other than RS256/ES256/EdDSA, or `use` other than `sig`.
    #[error("unusable key: {0}")]
    UnsupportedKey(String),
    /// The header's `alg` is not the key's `alg`.
    #[error("algorithm does not match the key")]
    AlgMismatch,
    #[error("bad signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
    /// The JWKS could not be fetched or parsed.
    #[error("cannot fetch the JWKS: {0}")]
    Fetch(String),
}

/// The cached key set and when it was fetched.
struct State {
    keys: Option<JwkSet>,
    fetched_at: i64,
    max_age: i64,
    last_unknown_kid_refetch_at: Option<i64>,
}

impl State {
    fn expired(&self, now: i64) -> bool {
        self.keys.is_none() || now >= self.fetched_at.saturating_add(self.max_age)
    }
}

/// A JWKS cache and access-token verifier for one issuer and one audience.
pub struct JwksCache {
    client: reqwest::Client,
    jwks_uri: String,
    issuer: String,
    audience: String,
    state: Mutex<State>,
    fetches: AtomicUsize,
    unknown_kid_refetches: AtomicUsize,
}

impl JwksCache {
    /// `jwks_uri` from the issuer's discovery document.
    pub fn new(jwks_uri: String, issuer: String, audience: String) -> JwksCache {
        // jsonwebtoken is built without a crypto backend: nothing verifies until the
        // ring provider is installed. Idempotent.
        portcullis::keys::jwt_provider::install();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        JwksCache {
            client,
            jwks_uri,
            issuer,
            audience,
            state: Mutex::new(State {
                keys: None,
                fetched_at: 0,
                max_age: 0,
                last_unknown_kid_refetch_at: None,
            }),
            fetches: AtomicUsize::new(0),
            unknown_kid_refetches: AtomicUsize::new(0),
        }
    }

    /// Verifies a compact JWS access token at time `now` (unix seconds, passed in so
    /// tests can use a simulated clock). Returns the claims.
    pub async fn verify(&self, token: &str, now: i64) -> Result<serde_json::Value, VerifyError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| VerifyError::Malformed)?;
        let typ_ok = header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP));
        if !typ_ok {
            return Err(VerifyError::WrongType);
        }
        let kid = header.kid.as_deref().ok_or(VerifyError::Malformed)?;

        let jwk = self.key_for(kid, now).await?;
        let pinned = pinned_algorithm(&jwk)?;
        // Never the header's alg: the key decides, the header must agree.
        if header.alg != pinned {
            return Err(VerifyError::AlgMismatch);
        }
        let key =
            DecodingKey::from_jwk(&jwk).map_err(|e| VerifyError::UnsupportedKey(e.to_string()))?;

        let mut validation = Validation::new(pinned);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.validate_exp = false; // checked below against `now`
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation).map_err(
            |e| match e.kind() {
                ErrorKind::InvalidSignature => VerifyError::BadSignature,
                ErrorKind::InvalidIssuer => VerifyError::WrongIssuer,
                ErrorKind::InvalidAudience => VerifyError::WrongAudience,
                ErrorKind::InvalidAlgorithm => VerifyError::AlgMismatch,
                ErrorKind::ExpiredSignature => VerifyError::Expired,
                _ => VerifyError::Malformed,
            },
        )?;

        let exp = match &data.claims["exp"] {
            serde_json::Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f.floor() as i64))
                .ok_or(VerifyError::Malformed)?,
            _ => return Err(VerifyError::Malformed),
        };
        if exp.saturating_add(EXP_LEEWAY) <= now {
            return Err(VerifyError::Expired);
        }
        Ok(data.claims)
    }

    /// How many times the JWKS was fetched in total (every request sent, whatever its
    /// outcome).
    pub fn fetch_count(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// How many of those fetches were caused by an unknown `kid` (not by max-age expiry).
    pub fn unknown_kid_refetches(&self) -> usize {
        self.unknown_kid_refetches.load(Ordering::SeqCst)
    }

    /// The published key `kid`, refetching the JWKS when the cache expired, or once
    /// (rate-limited) when the key is not in it. The lock is held across a fetch, so
    /// concurrent requests wait for one fetch instead of each making their own.
    async fn key_for(&self, kid: &str, now: i64) -> Result<Jwk, VerifyError> {
        let mut state = self.state.lock().await;
        let mut fetched_now = false;
        if state.expired(now) {
            self.fetch(&mut state, now).await?;
            fetched_now = true;
        }
        if let Some(jwk) = state.keys.as_ref().and_then(|set| set.find(kid)) {
            return Ok(jwk.clone());
        }
        // A set fetched by this very call is as fresh as it gets: no second fetch.
        let allowed = state
            .last_unknown_kid_refetch_at
            .is_none_or(|at| now.saturating_sub(at) >= UNKNOWN_KID_REFETCH_INTERVAL);
        if fetched_now || !allowed {
            return Err(VerifyError::UnknownKid(kid.to_owned()));
        }
        state.last_unknown_kid_refetch_at = Some(now);
        self.unknown_kid_refetches.fetch_add(1, Ordering::SeqCst);
        self.fetch(&mut state, now).await?;
        state
            .keys
            .as_ref()
            .and_then(|set| set.find(kid))
            .cloned()
            .ok_or_else(|| VerifyError::UnknownKid(kid.to_owned()))
    }

    /// GETs the JWKS into `state`, with its max-age. On failure the state is unchanged.
    async fn fetch(&self, state: &mut State, now: i64) -> Result<(), VerifyError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let fetch = |e: reqwest::Error| VerifyError::Fetch(e.to_string());
        let response = self
            .client
            .get(&self.jwks_uri)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(fetch)?
            .error_for_status()
            .map_err(fetch)?;
        let max_age = max_age(response.headers());
        let body = response.bytes().await.map_err(fetch)?;
        let keys: JwkSet =
            serde_json::from_slice(&body).map_err(|e| VerifyError::Fetch(e.to_string()))?;
        state.keys = Some(keys);
        state.fetched_at = now;
        state.max_age = max_age;
        Ok(())
    }
}

/// `max-age` of the `Cache-Control` headers, in seconds; 0 when there is none or when
/// `no-cache` / `no-store` forbid reuse.
fn max_age(headers: &reqwest::header::HeaderMap) -> i64 {
    let mut max_age = 0;
    for value in headers.get_all(reqwest::header::CACHE_CONTROL) {
        let Ok(value) = value.to_str() else { continue };
        for directive in value.split(',').map(str::trim) {
            let (name, arg) = match directive.split_once('=') {
                Some((name, arg)) => (name.trim(), Some(arg.trim().trim_matches('"'))),
                None => (directive, None),
            };
            if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
                return 0;
            }
            if name.eq_ignore_ascii_case("max-age") {
                if let Some(seconds) = arg.and_then(|a| a.parse::<u32>().ok()) {
                    max_age = i64::from(seconds);
                }
            }
        }
    }
    max_age
}

/// The one algorithm `jwk` verifies: its own `alg` member, which must fit its key type.
fn pinned_algorithm(jwk: &Jwk) -> Result<Algorithm, VerifyError> {
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return Err(VerifyError::UnsupportedKey("not a signing key".into()));
    }
    let alg = jwk
        .common
        .key_algorithm
        .ok_or_else(|| VerifyError::UnsupportedKey("no alg".into()))?;
    match (&jwk.algorithm, alg) {
        (AlgorithmParameters::RSA(_), KeyAlgorithm::RS256) => Ok(Algorithm::RS256),
        (AlgorithmParameters::EllipticCurve(p), KeyAlgorithm::ES256)
            if p.curve == EllipticCurve::P256 =>
        {
            Ok(Algorithm::ES256)
        }
        (AlgorithmParameters::OctetKeyPair(p), KeyAlgorithm::EdDSA)
            if p.curve == EllipticCurve::Ed25519 =>
        {
            Ok(Algorithm::EdDSA)
        }
        (_, alg) => Err(VerifyError::UnsupportedKey(format!(
            "alg {alg:?} for this key type"
        ))),
    }
}
