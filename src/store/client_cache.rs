//! Clients read once, not per request (issue: client rows were read and parsed on
//! every token request). On SQLite only: every change of a client — through this
//! process, another one, or the command line — rewrites a marker file beside the
//! database (`<database>.clients`) after its commit, and every lookup first looks
//! at that file (one `stat`); a new file empties the cache. A stale answer is possible
//! only between a change's commit and its marker write (microseconds).
//!
//! On Postgres there is no file the instances share, so there is no cache: each
//! lookup reads the row (bounded staleness would otherwise mean a disabled client
//! working on another instance for a while).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use super::clients::ClientRow;
use super::DatabaseUrl;
use crate::crypto::random;

/// The most clients kept (beyond it the cache starts again empty).
const MAX_CLIENTS: usize = 10_000;

/// The cache of one process.
pub struct ClientCache {
    /// `None`: no cache (Postgres).
    marker: Option<PathBuf>,
    state: RwLock<State>,
}

#[derive(Default)]
struct State {
    /// The marker's content when the rows were read.
    generation: Option<String>,
    rows: HashMap<String, Arc<ClientRow>>,
}

/// The generation a lookup saw before it read the database: what it caches is
/// kept only if nothing changed meanwhile.
pub struct Ticket(Option<String>);

impl ClientCache {
    pub fn new(url: &DatabaseUrl) -> ClientCache {
        let marker = match url {
            DatabaseUrl::Sqlite { path } => {
                let mut name = path.clone().into_os_string();
                name.push(".clients");
                Some(PathBuf::from(name))
            }
            DatabaseUrl::Postgres { .. } => None,
        };
        ClientCache {
            marker,
            state: RwLock::new(State::default()),
        }
    }

    /// The marker's identity — which file it is (a change renames a new one over
    /// it) and when it was written — from one `stat`; `None` when there is no cache
    /// or the marker cannot be examined (then nothing is served from or put into the
    /// cache). A `stat` of a local file stays in the kernel's caches: no disk wait on
    /// the request's thread.
    fn current(&self) -> Option<String> {
        let marker = self.marker.as_ref()?;
        match std::fs::metadata(marker) {
            Ok(meta) => Some(identity(&meta)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(String::new()),
            Err(_) => None,
        }
    }

    /// The cached client `id`, if the cache is current; and the ticket for
    /// [`ClientCache::put`] after a miss.
    pub fn get(&self, id: &str) -> (Option<Arc<ClientRow>>, Ticket) {
        let Some(generation) = self.current() else {
            return (None, Ticket(None));
        };
        if let Ok(state) = self.state.read() {
            if state.generation.as_deref() == Some(generation.as_str()) {
                return (state.rows.get(id).cloned(), Ticket(Some(generation)));
            }
        }
        if let Ok(mut state) = self.state.write() {
            if state.generation.as_deref() != Some(generation.as_str()) {
                state.rows.clear();
                state.generation = Some(generation.clone());
            }
        }
        (None, Ticket(Some(generation)))
    }

    /// Keeps `row`, read after `ticket` was issued, unless a change came since.
    pub fn put(&self, ticket: Ticket, row: Arc<ClientRow>) {
        let Some(seen) = ticket.0 else { return };
        if let Ok(mut state) = self.state.write() {
            if state.generation.as_deref() != Some(seen.as_str()) {
                return;
            }
            if state.rows.len() >= MAX_CLIENTS {
                state.rows.clear();
            }
            state.rows.insert(row.id.clone(), row);
        }
    }

    /// After a change of any client has committed: a new generation for every
    /// process on this database.
    pub fn changed(&self) {
        let Some(marker) = &self.marker else { return };
        if let Ok(mut state) = self.state.write() {
            state.rows.clear();
            state.generation = None;
        }
        let generation =
            random::identifier().unwrap_or_else(|_| format!("{:?}", std::time::SystemTime::now()));
        if let Err(e) = write_private(marker, &generation) {
            // Without the marker other processes could keep a stale row: say so.
            tracing::error!(error = %e, path = %marker.display(), "cannot write the client cache marker");
        }
    }
}

/// Device, inode and modification time: a marker renamed over the old one differs.
fn identity(meta: &std::fs::Metadata) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        format!(
            "{}:{}:{}:{}",
            meta.dev(),
            meta.ino(),
            meta.mtime(),
            meta.mtime_nsec()
        )
    }
    #[cfg(not(unix))]
    {
        format!("{:?}:{}", meta.modified().ok(), meta.len())
    }
}

/// Replaces `path` with `content` at once (a file written beside it, 0600, then
/// renamed over it), so a reader never sees it half written.
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{content}.tmp"));
    let temporary = PathBuf::from(temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(&temporary)?.write_all(content.as_bytes())?;
    std::fs::rename(&temporary, path)
}
