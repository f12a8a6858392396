//! The database URL, parsed once: the scheme alone picks the backend.
//!
//! A URL that looks like a network URL but names no scheme we support is refused,
//! so a mistyped `postgress://…` fails instead of quietly creating a SQLite file.

use std::fmt;
use std::path::PathBuf;

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite file, created if missing.
    Sqlite { path: PathBuf },
    /// A Postgres connection string, handed to libpq as is.
    Postgres { url: String },
}

/// Why a database URL was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseUrlError {
    #[error("the database URL is empty")]
    Empty,
    #[error("unsupported database URL scheme `{0}` (use sqlite:// or postgres://)")]
    UnsupportedScheme(String),
    #[error("an in-memory SQLite database cannot be shared by a connection pool; name a file")]
    InMemory,
    #[error("SQLite URLs take no query parameters; name the file only")]
    SqliteQuery,
    #[error("not a valid postgres URL: {0}")]
    BadPostgres(String),
}

impl DatabaseUrl {
    /// Accepts `sqlite://relative.db`, `sqlite:///abs/path.db`, `sqlite:relative.db`,
    /// a plain path, and `postgres://` / `postgresql://` URLs.
    pub fn parse(value: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        let Some((scheme, rest)) = value.split_once(':').filter(|(s, _)| looks_like_scheme(s))
        else {
            // `postgres//u:pw@host/db` is a URL with its colon lost, not a file name.
            if let Some((word, _)) = value.split_once("//") {
                if looks_like_scheme(word) {
                    return Err(DatabaseUrlError::UnsupportedScheme(word.to_owned()));
                }
            }
            return sqlite_path(value);
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => sqlite_path(rest.strip_prefix("//").unwrap_or(rest)),
            "postgres" | "postgresql" => {
                let parsed = url::Url::parse(value)
                    .map_err(|e| DatabaseUrlError::BadPostgres(e.to_string()))?;
                if parsed.path().trim_start_matches('/').is_empty() {
                    return Err(DatabaseUrlError::BadPostgres(
                        "name the database, e.g. postgres://user@host/portcullis".to_owned(),
                    ));
                }
                Ok(DatabaseUrl::Postgres {
                    url: value.to_owned(),
                })
            }
            other => Err(DatabaseUrlError::UnsupportedScheme(other.to_owned())),
        }
    }

    /// The URL with libpq's failure bounds added where the operator set none, so
    /// that a database that is away or unreachable fails a request within `wait`
    /// instead of hanging: `connect_timeout`, TCP keepalives (a dead peer is noticed
    /// in about a minute on an idle connection) and `tcp_user_timeout` (unacknowledged
    /// data). SQLite is returned as is.
    pub fn with_timeouts(&self, wait: std::time::Duration) -> DatabaseUrl {
        let DatabaseUrl::Postgres { url } = self else {
            return self.clone();
        };
        let Ok(mut parsed) = url::Url::parse(url) else {
            return self.clone();
        };
        let present: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
        // libpq rounds connect_timeout up to 2 s.
        let seconds = wait.as_secs().max(2).to_string();
        let millis = wait.as_millis().max(1_000).to_string();
        let defaults = [
            ("connect_timeout", seconds.as_str()),
            ("keepalives", "1"),
            ("keepalives_idle", "30"),
            ("keepalives_interval", "10"),
            ("keepalives_count", "3"),
            ("tcp_user_timeout", millis.as_str()),
        ];
        {
            let mut pairs = parsed.query_pairs_mut();
            for (key, value) in defaults {
                if !present.iter().any(|k| k == key) {
                    pairs.append_pair(key, value);
                }
            }
        }
        DatabaseUrl::Postgres { url: parsed.into() }
    }

    /// `sqlite` or `postgres`, for logs and health answers.
    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite { .. } => "sqlite",
            DatabaseUrl::Postgres { .. } => "postgres",
        }
    }
}

/// A scheme per RFC 3986 §3.1 that is longer than one letter (so `C:\x` stays a path).
fn looks_like_scheme(s: &str) -> bool {
    s.len() > 1
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

fn sqlite_path(path: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
    if path.is_empty() {
        return Err(DatabaseUrlError::Empty);
    }
    if path == ":memory:" || path.starts_with("file::memory:") {
        return Err(DatabaseUrlError::InMemory);
    }
    if path.contains('?') {
        return Err(DatabaseUrlError::SqliteQuery);
    }
    Ok(DatabaseUrl::Sqlite {
        path: PathBuf::from(path),
    })
}

/// Shows the URL with any password replaced, so it can be logged.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite { path } => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres { url } => match url::Url::parse(url) {
                Ok(mut parsed) => {
                    if parsed.password().is_some() {
                        let _ = parsed.set_password(Some("REDACTED"));
                    }
                    parsed.set_query(None);
                    f.write_str(parsed.as_str())
                }
                Err(_) => f.write_str("postgres://<unparsable>"),
            },
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite(p: &str) -> DatabaseUrl {
        DatabaseUrl::Sqlite { path: p.into() }
    }

    #[test]
    fn sqlite_forms() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://portcullis.db"),
            Ok(sqlite("portcullis.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/p.db"),
            Ok(sqlite("/var/lib/p.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:data/p.db"),
            Ok(sqlite("data/p.db"))
        );
        assert_eq!(DatabaseUrl::parse("/tmp/p.db"), Ok(sqlite("/tmp/p.db")));
        assert_eq!(DatabaseUrl::parse("p.db"), Ok(sqlite("p.db")));
    }

    #[test]
    fn postgres_forms() {
        for url in [
            "postgres://u@localhost/db",
            "postgresql://u:pw@h:5433/db?sslmode=require",
        ] {
            assert_eq!(
                DatabaseUrl::parse(url),
                Ok(DatabaseUrl::Postgres { url: url.into() })
            );
        }
    }

    #[test]
    fn refused_forms() {
        assert!(matches!(
            DatabaseUrl::parse("postgress://u@localhost/db"),
            Err(DatabaseUrlError::UnsupportedScheme(s)) if s == "postgress"
        ));
        assert!(matches!(
            DatabaseUrl::parse("mysql://u@h/db"),
            Err(DatabaseUrlError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgres//u:pw@h/db"),
            Err(DatabaseUrlError::UnsupportedScheme(_))
        ));
        assert_eq!(DatabaseUrl::parse(""), Err(DatabaseUrlError::Empty));
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::Empty)
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://:memory:"),
            Err(DatabaseUrlError::InMemory)
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://x.db?mode=ro"),
            Err(DatabaseUrlError::SqliteQuery)
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@localhost"),
            Err(DatabaseUrlError::BadPostgres(_))
        ));
    }

    #[test]
    fn display_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://admin:hunter2@db.internal/p?password=x").unwrap();
        let shown = url.to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("password=x"), "{shown}");
        assert!(
            format!("{url:?}").contains("admin:REDACTED@db.internal"),
            "{url:?}"
        );
    }

    #[test]
    fn postgres_gets_libpq_timeouts_unless_the_operator_set_them() {
        let url =
            DatabaseUrl::parse("postgres://u@db.internal/app?sslmode=require&keepalives_idle=5")
                .unwrap()
                .with_timeouts(std::time::Duration::from_secs(3));
        let DatabaseUrl::Postgres { url } = url else {
            panic!("postgres stays postgres")
        };
        assert!(url.contains("sslmode=require"), "{url}");
        assert!(url.contains("keepalives_idle=5"), "{url}");
        assert!(!url.contains("keepalives_idle=30"), "{url}");
        assert!(url.contains("connect_timeout=3"), "{url}");
        assert!(url.contains("tcp_user_timeout=3000"), "{url}");
        let sqlite = DatabaseUrl::parse("sqlite://x.db").unwrap();
        assert_eq!(
            sqlite.with_timeouts(std::time::Duration::from_secs(3)),
            sqlite
        );
    }
}
