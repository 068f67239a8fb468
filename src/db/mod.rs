//! Storage: diesel over SQLite (embedded default) or PostgreSQL, chosen by `DATABASE_URL`.

mod connection;
pub mod ingest_clock;
mod migrate;
mod pool;
pub mod schema;
mod target;
mod transaction;

pub use connection::DbConnection;
pub use migrate::migrate;
pub use pool::{Db, DbError};
pub use target::{Backend, DbTarget, TargetError};
pub use transaction::write_transaction;
