//! The connection pool and the bridge that runs blocking diesel work off the
//! async workers.

use std::time::Duration;

use diesel::r2d2::{Pool, PooledConnection};

use super::DbConnection;
use super::DbTarget;
use super::connection::Manager;
use super::target::Backend;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had from the pool in time.
    #[error("database unavailable: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// Migrations could not be applied.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Stored data cannot be read back.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The blocking task was cancelled (the server is shutting down).
    #[error("database task cancelled")]
    Cancelled,
}

impl DbError {
    /// Whether the database could not be reached (or is shutting down, or
    /// stayed locked past the busy timeout) rather than refusing the work:
    /// retrying later can succeed, and nothing was written.
    pub fn is_unavailable(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            Self::Pool(_) | Self::Cancelled => true,
            Self::Query(Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )) => true,
            Self::Query(Error::DatabaseError(_, info)) => {
                let message = info.message();
                // SQLite's busy timeout ran out; PostgreSQL shutting down or
                // the connection dropped mid-statement.
                message.contains("database is locked")
                    || message.contains("terminating connection")
                    || message.contains("server closed the connection")
                    || message.contains("connection to server")
                    || message.contains("the database system is shutting down")
            }
            _ => false,
        }
    }
}

/// A shared handle to the database: cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Opens a pool of up to `size` connections. Fails when no connection can be
    /// opened, with the backend's own error.
    pub fn connect(target: &DbTarget, size: u32) -> Result<Self, DbError> {
        let pool = Pool::builder()
            .max_size(size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
            .build(Manager::new(target.clone()))?;
        Ok(Self {
            pool,
            backend: target.backend(),
        })
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for synchronous use (CLI commands, background threads).
    pub fn conn(&self) -> Result<PooledConnection<Manager>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Runs `work` with a pooled connection on the blocking thread pool, never on
    /// an async worker thread.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(DbError::from)?;
            work(&mut conn)
        })
        .await
        .map_err(|_| E::from(DbError::Cancelled))?
    }
}
