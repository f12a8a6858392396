//! HTTPS for `serve` (DESIGN.md §5): rustls on ring (the one crypto library we
//! link), TLS 1.2 and 1.3, HTTP/2 by ALPN (actix adds `h2` and `http/1.1`).
//!
//! The certificate is served through a resolver holding the current key, so that a
//! renewed certificate (certbot, an ACME client, a secret mount) takes effect
//! without a restart: the files are re-read on SIGHUP and whenever their
//! modification time changes (checked every few seconds). A renewal that fails to
//! load is logged and the previous certificate stays.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::ring::{default_provider, sign::any_supported_type};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

use crate::config::TlsFiles;

/// How often the certificate files' modification times are checked.
const RELOAD_CHECK: Duration = Duration::from_secs(5);

/// Why the certificate or the TLS configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the certificate chain {path}: {message}")]
    Certificate { path: String, message: String },
    #[error("cannot read the private key {path}: {message}")]
    Key { path: String, message: String },
    #[error("the certificate file {0} holds no certificate")]
    NoCertificate(String),
    #[error("the private key does not fit the certificate: {0}")]
    Mismatch(String),
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The certificate the server presents now, replaced on reload.
#[derive(Debug)]
pub struct CertificateResolver {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
    loaded_from: RwLock<Option<(SystemTime, SystemTime)>>,
}

impl ResolvesServerCert for CertificateResolver {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|key| key.clone())
    }
}

impl CertificateResolver {
    /// Loads the files once; a failure here stops the start.
    pub fn load(files: &TlsFiles) -> Result<Arc<CertificateResolver>, TlsError> {
        let key = certified_key(files)?;
        Ok(Arc::new(CertificateResolver {
            files: files.clone(),
            current: RwLock::new(Arc::new(key)),
            loaded_from: RwLock::new(modified(files)),
        }))
    }

    /// Re-reads the files if `force` or if they changed; keeps the old certificate
    /// when the new one does not load.
    pub fn reload(&self, force: bool) {
        let stamp = modified(&self.files);
        let changed = self.loaded_from.read().map_or(true, |seen| *seen != stamp);
        if !force && !changed {
            return;
        }
        match certified_key(&self.files) {
            Ok(key) => {
                if let Ok(mut current) = self.current.write() {
                    *current = Arc::new(key);
                }
                if let Ok(mut seen) = self.loaded_from.write() {
                    *seen = stamp;
                }
                tracing::info!(cert = %self.files.cert.display(), "reloaded the TLS certificate");
            }
            Err(e) => {
                // Remember the stamp anyway: one error line per change, not every poll.
                if let Ok(mut seen) = self.loaded_from.write() {
                    *seen = stamp;
                }
                tracing::error!(error = %e, "the new TLS certificate does not load; keeping the old one");
            }
        }
    }

    /// Reloads on SIGHUP and when the files change, as long as `alive` holds.
    pub fn spawn_reloader(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut hangup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            let mut ticker = tokio::time::interval(RELOAD_CHECK);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                #[cfg(unix)]
                let forced = match hangup.as_mut() {
                    Some(signal) => tokio::select! {
                        _ = ticker.tick() => false,
                        _ = signal.recv() => true,
                    },
                    None => {
                        ticker.tick().await;
                        false
                    }
                };
                #[cfg(not(unix))]
                let forced = {
                    ticker.tick().await;
                    false
                };
                let Some(resolver) = weak.upgrade() else {
                    break;
                };
                let resolver = resolver.clone();
                // Reading files is blocking work.
                let _ = tokio::task::spawn_blocking(move || resolver.reload(forced)).await;
            }
        });
    }
}

/// The rustls server configuration around `resolver`: ring, safe default
/// protocol versions (TLS 1.2 and 1.3), no client certificates.
pub fn server_config(resolver: Arc<CertificateResolver>) -> Result<ServerConfig, TlsError> {
    Ok(
        ServerConfig::builder_with_provider(Arc::new(default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(resolver),
    )
}

fn modified(files: &TlsFiles) -> Option<(SystemTime, SystemTime)> {
    let time = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    Some((time(&files.cert)?, time(&files.key)?))
}

fn certified_key(files: &TlsFiles) -> Result<CertifiedKey, TlsError> {
    let cert_path = files.cert.display().to_string();
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Certificate {
            path: cert_path.clone(),
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(cert_path));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| TlsError::Key {
        path: files.key.display().to_string(),
        message: e.to_string(),
    })?;
    let signing_key = any_supported_type(&key).map_err(|e| TlsError::Key {
        path: files.key.display().to_string(),
        message: e.to_string(),
    })?;
    let certified = CertifiedKey::new(chain, signing_key);
    certified
        .keys_match()
        .map_err(|e| TlsError::Mismatch(e.to_string()))?;
    Ok(certified)
}
