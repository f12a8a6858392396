//! The master key: 32 bytes that encrypt every private signing key at rest. Given in
//! `PORTCULLIS_MASTER_KEY` (base64), or kept in a file created 0600 on first start.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::crypto::{random, RandomError};

/// 256 bits of key-encryption key. No `Debug` of the bytes: wrap it in
/// [`crate::crypto::Secret`] wherever it is held.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

/// Why a master key value or file was refused.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    /// Never echoes the value: it is a secret even when malformed.
    #[error("must be base64 of exactly 32 bytes (e.g. the output of `openssl rand -base64 32`)")]
    Malformed,
    #[error("master key file {path}: {reason}")]
    File { path: String, reason: String },
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl MasterKey {
    /// Parses standard or URL-safe base64, padded or not, surrounding blanks ignored.
    pub fn from_base64(text: &str) -> Result<MasterKey, MasterKeyError> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| MasterKeyError::Malformed)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| MasterKeyError::Malformed)?;
        Ok(MasterKey(key))
    }

    /// A fresh random key.
    pub fn generate() -> Result<MasterKey, RandomError> {
        Ok(MasterKey(random::bytes::<32>()?))
    }

    /// The key in standard base64, as `PORTCULLIS_MASTER_KEY` takes it.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Reads the key file at `path`. `Ok(None)` when there is no such file.
pub fn read_file(path: &Path) -> Result<Option<MasterKey>, MasterKeyError> {
    let file_error = |reason: String| MasterKeyError::File {
        path: path.display().to_string(),
        reason,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            warn_if_readable_by_others(path);
            MasterKey::from_base64(&text)
                .map(Some)
                .map_err(|e| file_error(e.to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(file_error(e.to_string())),
    }
}

/// Creates the key file with a new key, readable by its owner only (0600). Two
/// processes racing here agree: the one that loses reads the winner's file.
pub fn create_file(path: &Path) -> Result<MasterKey, MasterKeyError> {
    let file_error = |reason: String| MasterKeyError::File {
        path: path.display().to_string(),
        reason,
    };
    let key = MasterKey::generate()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            writeln!(file, "{}", key.to_base64())
                .and_then(|()| file.sync_all())
                .map_err(|e| file_error(e.to_string()))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_file(path)?.ok_or_else(|| file_error("vanished while being created".to_owned()))
        }
        Err(e) => Err(file_error(format!("cannot create it: {e}"))),
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    "the master key file is readable by other users; chmod 600 it"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_length_check() {
        let key = MasterKey::generate().unwrap();
        let again = MasterKey::from_base64(&key.to_base64()).unwrap();
        assert_eq!(key.bytes(), again.bytes());
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64 at all!").is_err());
    }

    #[test]
    fn file_is_created_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        assert!(read_file(&path).unwrap().is_none());
        let created = create_file(&path).unwrap();
        let read = read_file(&path).unwrap().unwrap();
        assert_eq!(created.bytes(), read.bytes());
        let again = create_file(&path).unwrap();
        assert_eq!(created.bytes(), again.bytes(), "an existing file is kept");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
