//! Turning configuration into a ready database and token keys.

use crate::auth::{JwtKeys, KeyError, Role, SecretError, SecretOrigin, resolve_secret};
use crate::cli::CommonArgs;
use crate::db::{Db, DbError, DbTarget, TargetError, migrate};

/// Why the service or a command could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `DATABASE_URL` is unusable.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The database cannot be opened or migrated.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The secret file is unusable.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// Token keys are missing or invalid.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// PostgreSQL replicas must share a configured key.
    #[error(
        "set VERDICT_JWT_SECRET (or VERDICT_JWT_PUBLIC_KEY) when running on PostgreSQL: replicas must share it"
    )]
    KeysRequired,
    /// An option is missing or inconsistent.
    #[error("{0}")]
    Config(String),
    /// Demo data could not be loaded.
    #[error("seed: {0}")]
    Seed(#[from] crate::seed::SeedError),
    /// The listener could not be bound or the server failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// Token keys from configuration; on SQLite without a configured secret, the
/// generated secret kept next to the database. Returns a freshly minted admin
/// token when the secret was generated just now (first start).
pub fn load_keys(
    common: &CommonArgs,
    target: &DbTarget,
) -> Result<(JwtKeys, Option<String>), StartError> {
    let secret = resolve_secret(common.jwt_secret.as_deref(), target.sqlite_path())?;
    if secret.is_none() && common.jwt_public_key.is_none() {
        return Err(StartError::KeysRequired);
    }
    let keys = JwtKeys::new(
        secret.as_ref().map(|(s, _)| s.as_str()),
        common.jwt_public_key.as_deref(),
    )?;
    let first_token = match secret {
        Some((_, SecretOrigin::Generated(_))) => Some(keys.mint(
            Role::Admin,
            "admin",
            std::time::Duration::from_secs(30 * 24 * 3600),
            None,
        )?),
        _ => None,
    };
    Ok((keys, first_token))
}

/// Opens the database pool and applies pending migrations.
pub fn open_database(target: &DbTarget, pool_size: u32) -> Result<Db, StartError> {
    let db = Db::connect(target, pool_size)?;
    let applied = migrate(&mut *db.conn()?)?;
    for name in applied {
        tracing::info!(migration = %name, "applied migration");
    }
    Ok(db)
}
