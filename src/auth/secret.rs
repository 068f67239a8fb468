//! Where the HS256 secret comes from: configuration, or for the embedded default a
//! random secret generated once and kept next to the database file.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::RngCore;

/// How the secret was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretOrigin {
    /// Set through `VERDICT_JWT_SECRET`.
    Configured,
    /// Read from the file generated on an earlier start.
    Persisted(PathBuf),
    /// Generated and written just now: this is the first start.
    Generated(PathBuf),
}

/// Why no secret could be obtained.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The secret file exists but cannot be read, or cannot be created.
    #[error("secret file {path}: {source}")]
    File {
        /// The file next to the database.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file holds no usable secret.
    #[error("secret file {0} is empty; delete it to generate a new one")]
    Empty(PathBuf),
}

/// Returns the configured secret, or, when `sqlite_path` is given and no secret is
/// configured, the secret persisted next to that database (generating it on first use).
/// Returns `None` when there is neither (e.g. PostgreSQL without a configured secret).
pub fn resolve_secret(
    configured: Option<&str>,
    sqlite_path: Option<&Path>,
) -> Result<Option<(String, SecretOrigin)>, SecretError> {
    if let Some(secret) = configured.filter(|s| !s.is_empty()) {
        return Ok(Some((secret.to_owned(), SecretOrigin::Configured)));
    }
    let Some(db_path) = sqlite_path else {
        return Ok(None);
    };
    let path = secret_path(db_path);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let secret = text.trim().to_owned();
            if secret.is_empty() {
                return Err(SecretError::Empty(path));
            }
            Ok(Some((secret, SecretOrigin::Persisted(path))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret = generate();
            write_private(&path, &secret).map_err(|source| SecretError::File {
                path: path.clone(),
                source,
            })?;
            Ok(Some((secret, SecretOrigin::Generated(path))))
        }
        Err(source) => Err(SecretError::File { path, source }),
    }
}

/// `verdict.db` keeps its secret in `verdict.db.secret`.
fn secret_path(db_path: &Path) -> PathBuf {
    let mut name = db_path.as_os_str().to_owned();
    name.push(".secret");
    PathBuf::from(name)
}

fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_private(path: &Path, secret: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(secret.as_bytes())?;
    file.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_persisted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("verdict.db");
        let (first, origin) = resolve_secret(None, Some(&db)).expect("ok").expect("some");
        assert!(matches!(origin, SecretOrigin::Generated(_)));
        assert_eq!(first.len(), 64);
        let (second, origin) = resolve_secret(None, Some(&db)).expect("ok").expect("some");
        assert_eq!(first, second);
        assert!(matches!(origin, SecretOrigin::Persisted(_)));
    }

    #[test]
    fn configured_wins_and_postgres_has_none() {
        let (s, origin) = resolve_secret(Some("x"), None).expect("ok").expect("some");
        assert_eq!((s.as_str(), origin), ("x", SecretOrigin::Configured));
        assert!(resolve_secret(None, None).expect("ok").is_none());
    }
}
