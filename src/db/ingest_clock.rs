//! The ingestion clock: stamps on the rows results are computed from (events'
//! `received_at`, exposures' `recorded_at`) and commit-order-safe cut-offs
//! over them, so incremental results never skip a row that committed late.
//!
//! A row is stamped inside its insert transaction while that transaction holds
//! the ingestion lock shared: on PostgreSQL a transaction-level advisory lock
//! and the database clock, on SQLite the write lock of an immediate transaction
//! and the process clock. A [`watermark`] is read while the lock is held
//! exclusively, so when it is returned every row stamped before it has
//! committed, and every row stamped afterwards is stamped at or after it.

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use diesel::sql_types::Timestamp;

use super::DbConnection;

/// The advisory lock key ("verdict\0").
const LOCK_KEY: i64 = 0x7665_7264_6963_7400;

#[derive(QueryableByName)]
struct Now {
    #[diesel(sql_type = Timestamp)]
    now: NaiveDateTime,
}

const CLOCK: &str = "SELECT CAST(clock_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP) AS now";

/// Stamp for rows inserted by the current PostgreSQL transaction: takes the
/// ingestion lock shared (released at commit) and reads the database clock.
pub fn stamp_pg(pg: &mut PgConnection) -> QueryResult<NaiveDateTime> {
    diesel::sql_query("SELECT pg_advisory_xact_lock_shared($1)")
        .bind::<diesel::sql_types::BigInt, _>(LOCK_KEY)
        .execute(pg)?;
    Ok(diesel::sql_query(CLOCK).get_result::<Now>(pg)?.now)
}

/// Stamp for rows inserted by the current SQLite transaction, which must be
/// immediate (holding the write lock).
pub fn stamp_sqlite() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A cut-off such that every row stamped before it has committed and no row
/// will be stamped before it later. Runs its own short transaction holding the
/// ingestion lock exclusively (PostgreSQL: a transaction-level advisory lock;
/// SQLite: an immediate transaction's write lock), so it must not be called
/// inside another transaction.
pub fn watermark(conn: &mut DbConnection) -> QueryResult<NaiveDateTime> {
    match conn {
        DbConnection::Postgresql(pg) => pg.transaction(|pg| {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(LOCK_KEY)
                .execute(pg)?;
            Ok(diesel::sql_query(CLOCK).get_result::<Now>(pg)?.now)
        }),
        DbConnection::Sqlite(lite) => lite.immediate_transaction(|_| Ok(stamp_sqlite())),
    }
}
