//! One connection type over both backends, opened from the URL scheme so that a
//! connection error names the backend that failed.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, R2D2Connection};

use super::DbTarget;

/// A connection to either backend; queries whose SQL is the same on both are
/// written once against this type.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL.
    Postgresql(PgConnection),
    /// SQLite.
    Sqlite(SqliteConnection),
}

/// SQLite settings applied to every new connection: write-ahead logging for
/// concurrent readers, a busy timeout instead of immediate "database is locked",
/// fsync on commit so accepted writes are durable, enforced foreign keys, and
/// reads through a memory map (no `pread` copy per page: the exposure writer's
/// random-key inserts read an index page per row).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA mmap_size = 1073741824;";

/// Opens a connection for `target`.
pub fn open(target: &DbTarget) -> Result<DbConnection, diesel::ConnectionError> {
    match target {
        DbTarget::Postgres(url) => PgConnection::establish(url).map(DbConnection::Postgresql),
        DbTarget::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
            conn.batch_execute(SQLITE_PRAGMAS)
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Sqlite(conn))
        }
    }
}

/// An r2d2 manager that opens connections with [`open`].
#[derive(Debug)]
pub struct Manager {
    target: DbTarget,
}

impl Manager {
    /// A manager for `target`.
    pub fn new(target: DbTarget) -> Self {
        Self { target }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        open(&self.target).map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}
