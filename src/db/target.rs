//! Which database a URL names.

use std::path::PathBuf;
use std::str::FromStr;

/// The database backends Verdict runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (the default).
    Sqlite,
    /// PostgreSQL (production).
    Postgres,
}

/// A parsed `DATABASE_URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

/// A `DATABASE_URL` Verdict cannot use.
#[derive(Debug, thiserror::Error)]
#[error(
    "unsupported DATABASE_URL {0:?}: use sqlite://PATH (e.g. sqlite://verdict.db) or postgres://USER@HOST:PORT/DB"
)]
pub struct TargetError(String);

impl FromStr for DbTarget {
    type Err = TargetError;

    fn from_str(url: &str) -> Result<Self, TargetError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .filter(|p| !p.is_empty())
            .ok_or_else(|| TargetError(url.to_owned()))?;
        Ok(Self::Sqlite(PathBuf::from(path)))
    }
}

impl DbTarget {
    /// The backend this target runs on.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The database file, for SQLite.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match self {
            Self::Sqlite(path) => Some(path),
            Self::Postgres(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_urls_and_rejects_others() {
        let cases: [(&str, Option<DbTarget>); 7] = [
            (
                "sqlite://verdict.db",
                Some(DbTarget::Sqlite("verdict.db".into())),
            ),
            (
                "sqlite:///tmp/v.db",
                Some(DbTarget::Sqlite("/tmp/v.db".into())),
            ),
            ("sqlite:v.db", Some(DbTarget::Sqlite("v.db".into()))),
            (
                "postgres://postgres@127.0.0.1/verdict",
                Some(DbTarget::Postgres(
                    "postgres://postgres@127.0.0.1/verdict".into(),
                )),
            ),
            (
                "postgresql://u@h/d",
                Some(DbTarget::Postgres("postgresql://u@h/d".into())),
            ),
            ("mysql://root@localhost/x", None),
            ("sqlite://", None),
        ];
        for (url, expected) in cases {
            assert_eq!(url.parse::<DbTarget>().ok(), expected, "{url}");
        }
    }
}
