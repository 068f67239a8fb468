//! Batched, idempotent exposure inserts (the first exposure per unit and phase wins).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::exposures;
use crate::db::{DbConnection, DbError};

/// One exposure to store.
#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = exposures)]
pub struct ExposureRecord {
    /// Experiment key.
    pub experiment_key: String,
    /// Experiment phase.
    pub phase: i32,
    /// The exposed unit (value of the flag's bucketing attribute).
    pub unit_id: String,
    /// Assigned variant.
    pub variant: String,
    /// When the unit was served the variant (UTC).
    pub first_seen: NaiveDateTime,
}

/// Largest number of rows per INSERT statement (5 parameters each, well under
/// both backends' parameter limits).
const ROWS_PER_STATEMENT: usize = 1000;

/// Inserts `records`, ignoring units already exposed to the same phase. One
/// transaction, multi-row statements on the concrete backend.
pub fn insert_batch(conn: &mut DbConnection, records: &[ExposureRecord]) -> Result<usize, DbError> {
    let mut inserted = 0;
    match conn {
        DbConnection::Postgresql(pg) => pg.transaction(|pg| {
            for chunk in records.chunks(ROWS_PER_STATEMENT) {
                inserted += diesel::insert_into(exposures::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(pg)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?,
        DbConnection::Sqlite(sqlite) => sqlite.transaction(|sqlite| {
            for chunk in records.chunks(ROWS_PER_STATEMENT) {
                inserted += diesel::insert_or_ignore_into(exposures::table)
                    .values(chunk)
                    .execute(sqlite)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?,
    }
    Ok(inserted)
}
