//! The key set an instance holds in memory: private keys decrypted and parsed once,
//! the JWKS document and its ETag rendered once per reload. Every instance reloads it
//! from the database on `key_reload_interval` (and right after its own changes), and
//! maintains the lifecycle at the same time; the database settles races.

use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::Header;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::lifecycle::{self, Revoked};
use super::schedule::{Action, KeyState, KeyTimes, Policy};
use super::sealing::KeySealer;
use super::signer::{self, SigningKey};
use super::{KeyAlg, KeyError};
use crate::clock::Clock;
use crate::config::Config;
use crate::store::signing_keys::{self, SigningKeyRow};
use crate::store::Store;

/// A published key, with its private half parsed.
pub struct LoadedKey {
    pub times: KeyTimes,
    pub jwk: Jwk,
    signing_key: Arc<SigningKey>,
}

/// One snapshot of the keys: what signs when, and the JWKS document.
pub struct KeySet {
    keys: Vec<LoadedKey>,
    jwks: String,
    etag: String,
}

impl KeySet {
    /// Decrypts and parses the published keys of `rows`, reusing those `previous`
    /// already parsed (keys never change once made). A key that does not decrypt
    /// means a wrong master key.
    fn build(
        rows: &[SigningKeyRow],
        sealer: &KeySealer,
        previous: Option<&KeySet>,
    ) -> Result<KeySet, KeyError> {
        let times = lifecycle::key_times(rows)?;
        let mut keys = Vec::new();
        for (row, times) in rows.iter().zip(times) {
            if !times.is_published() {
                continue;
            }
            let corrupt = |reason: String| KeyError::Corrupt {
                kid: row.kid.clone(),
                reason,
            };
            let jwk: Jwk =
                serde_json::from_str(&row.public_jwk).map_err(|e| corrupt(e.to_string()))?;
            let reused = previous
                .and_then(|p| p.find(&row.kid))
                .map(|k| k.signing_key.clone());
            let signing_key = match reused {
                Some(key) => key,
                None => {
                    let der = sealer
                        .open(&row.kid, times.alg, &row.private_key_encrypted)
                        .map_err(|_| KeyError::WrongMasterKey {
                            kid: row.kid.clone(),
                        })?;
                    let key = SigningKey::from_der(times.alg, &der).map_err(|e| corrupt(e.0))?;
                    let derived = super::material::public_jwk(&key)?;
                    if derived.common.key_id.as_deref() != Some(row.kid.as_str()) {
                        return Err(corrupt("private key does not match its kid".into()));
                    }
                    Arc::new(key)
                }
            };
            keys.push(LoadedKey {
                times,
                jwk,
                signing_key,
            });
        }
        // Signing keys first, then waiting, then retired: clients that take the first
        // key of a type find the current one.
        keys.sort_by_key(|k| {
            let rank = match k.times.state {
                KeyState::Active => 0,
                KeyState::Next => 1,
                KeyState::Retired | KeyState::Revoked => 2,
            };
            (k.times.alg, rank, std::cmp::Reverse(k.times.activates_at))
        });
        let set = JwkSet {
            keys: keys.iter().map(|k| k.jwk.clone()).collect(),
        };
        let jwks = serde_json::to_string(&set).map_err(|e| KeyError::Sign(e.to_string()))?;
        let etag = crate::crypto::etag(jwks.as_bytes());
        Ok(KeySet { keys, jwks, etag })
    }

    fn empty() -> KeySet {
        KeySet {
            keys: Vec::new(),
            jwks: String::from("{\"keys\":[]}"),
            etag: String::from("\"empty\""),
        }
    }

    /// The JWKS document (RFC 7517 §5): public members of every `next`, `active` and
    /// `retired` key.
    pub fn jwks(&self) -> &str {
        &self.jwks
    }

    /// A strong validator of [`Self::jwks`] (RFC 9110 §8.8.3).
    pub fn etag(&self) -> &str {
        &self.etag
    }

    /// The published key `kid`.
    pub fn find(&self, kid: &str) -> Option<&LoadedKey> {
        self.keys.iter().find(|k| k.times.kid == kid)
    }

    /// Every published key.
    pub fn keys(&self) -> impl Iterator<Item = &LoadedKey> {
        self.keys.iter()
    }

    /// Verifies the signature of a token this server issued and returns its claims.
    ///
    /// The header must carry `typ` (e.g. `at+jwt`) and the `kid` of a published key,
    /// and the `alg` must be that key's: RFC 8725 §3.1, no algorithm chosen by the
    /// token. Time claims are the caller's to check, against its own clock.
    pub fn verify<T: DeserializeOwned>(&self, token: &str, typ: &str) -> Option<T> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if !header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(typ))
        {
            return None;
        }
        let key = self.find(header.kid.as_deref()?)?;
        if header.alg != key.times.alg.jwt_algorithm() {
            return None;
        }
        let decoding = jsonwebtoken::DecodingKey::from_jwk(&key.jwk).ok()?;
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<T>(token, &decoding, &validation)
            .ok()
            .map(|data| data.claims)
    }

    /// The key that signs `alg` tokens at `now`.
    pub fn signing_key(&self, alg: KeyAlg, now: i64) -> Option<&LoadedKey> {
        self.keys
            .iter()
            .find(|k| k.times.alg == alg && k.times.signs_at(now))
    }
}

/// The keys of a running server.
pub struct KeyRing {
    store: Store,
    sealer: KeySealer,
    policy: Policy,
    clock: Arc<dyn Clock>,
    reload_interval: Duration,
    current: RwLock<Arc<KeySet>>,
}

impl KeyRing {
    /// Resolves the master key, makes the first keys on a new database, brings the
    /// lifecycle up to date and loads the keys. Fails on a wrong master key.
    pub async fn open(
        store: Store,
        config: &Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<KeyRing>, KeyError> {
        let source = config.keys.master_key.clone();
        let master = store
            .run(move |conn| Ok(lifecycle::resolve_master_key(conn, &source)))
            .await??;
        let ring = Arc::new(KeyRing {
            store,
            sealer: KeySealer::new(&master)?,
            policy: lifecycle::policy(config),
            clock,
            reload_interval: config.keys.reload_interval,
            current: RwLock::new(Arc::new(KeySet::empty())),
        });
        // Check the master key against what is stored before changing anything.
        ring.reload().await?;
        let changes = ring.maintain_at(ring.clock.now()).await?;
        // Instances started together on an empty database: the one whose first keys
        // lost the race changed nothing, but the winner's keys are there now. Without
        // this reload it would serve with no signing key until the next reload.
        if changes.is_empty() {
            ring.reload().await?;
        }
        Ok(ring)
    }

    /// The current snapshot.
    pub fn current(&self) -> Arc<KeySet> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Signs `claims` as a compact JWS with the `alg` key that signs now, with `typ`
    /// in the header (e.g. `at+jwt`, RFC 9068 §2.1) and the key's `kid`.
    pub fn sign<T: Serialize>(
        &self,
        alg: KeyAlg,
        typ: &str,
        claims: &T,
    ) -> Result<String, KeyError> {
        let set = self.current();
        let key = set
            .signing_key(alg, self.clock.now())
            .ok_or(KeyError::NoSigningKey(alg))?;
        let mut header = Header::new(alg.jwt_algorithm());
        header.typ = Some(typ.to_owned());
        header.kid = Some(key.times.kid.clone());
        signer::encode(&header, claims, key.signing_key.as_ref()).map_err(|e| KeyError::Sign(e.0))
    }

    /// One maintenance round and a reload: what the background task does each interval.
    pub async fn refresh(self: &Arc<Self>) -> Result<Vec<Action>, KeyError> {
        let changes = self.maintain_at(self.clock.now()).await?;
        if changes.is_empty() {
            self.reload().await?;
        }
        Ok(changes)
    }

    /// Rotates `alg` now (see [`lifecycle::rotate`]) and reloads.
    pub async fn rotate(self: &Arc<Self>, alg: KeyAlg, actor: &str) -> Result<Action, KeyError> {
        let now = self.clock.now();
        let actor = actor.to_owned();
        let switch = self
            .blocking(move |ring, conn| {
                lifecycle::rotate(conn, &ring.sealer, &ring.policy, alg, now, &actor)
            })
            .await?;
        self.reload().await?;
        Ok(switch)
    }

    /// Revokes `kid` (see [`lifecycle::revoke`]) and reloads.
    pub async fn revoke(self: &Arc<Self>, kid: &str, actor: &str) -> Result<Revoked, KeyError> {
        let now = self.clock.now();
        let (kid, actor) = (kid.to_owned(), actor.to_owned());
        let revoked = self
            .blocking(move |ring, conn| {
                lifecycle::revoke(conn, &ring.sealer, &ring.policy, &kid, now, &actor)
            })
            .await?;
        self.reload().await?;
        Ok(revoked)
    }

    /// Maintains the lifecycle at `now`; reloads when something changed.
    async fn maintain_at(self: &Arc<Self>, now: i64) -> Result<Vec<Action>, KeyError> {
        let changes = self
            .blocking(move |ring, conn| {
                lifecycle::maintain(conn, &ring.sealer, &ring.policy, now, "server")
            })
            .await?;
        if !changes.is_empty() {
            self.reload().await?;
        }
        Ok(changes)
    }

    /// Loads the keys from the database.
    async fn reload(self: &Arc<Self>) -> Result<(), KeyError> {
        let previous = self.current();
        let set = self
            .blocking(move |ring, conn| {
                let rows = signing_keys::list(conn)?;
                KeySet::build(&rows, &ring.sealer, Some(&previous))
            })
            .await?;
        match self.current.write() {
            Ok(mut guard) => *guard = Arc::new(set),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(set),
        }
        Ok(())
    }

    /// Runs `f` with a connection on the blocking pool.
    async fn blocking<T, F>(self: &Arc<Self>, f: F) -> Result<T, KeyError>
    where
        F: FnOnce(&KeyRing, &mut crate::store::DbConn) -> Result<T, KeyError> + Send + 'static,
        T: Send + 'static,
    {
        let ring = self.clone();
        self.store.run(move |conn| Ok(f(&ring, conn))).await?
    }

    /// Reloads and maintains every `key_reload_interval` until the ring is dropped
    /// (the server stopped). Failures are logged; the last good set stays in use.
    pub fn spawn_reloader(self: &Arc<Self>) {
        let weak: Weak<KeyRing> = Arc::downgrade(self);
        let interval = self.reload_interval;
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(ring) = weak.upgrade() else { break };
                match ring.refresh().await {
                    Ok(changes) if !changes.is_empty() => {
                        tracing::info!(changes = changes.len(), "signing keys updated")
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "reloading the signing keys failed; keeping the loaded set")
                    }
                }
            }
        });
    }
}
