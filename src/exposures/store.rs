//! Batched, idempotent exposure inserts (the first exposure per unit and phase wins).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::exposures;
use crate::db::{DbConnection, DbError, ingest_clock};

/// One exposure to store.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The experiment's dimensions in the unit's context, as a JSON object
    /// of strings (`None` when the experiment declares none).
    pub dimensions: Option<String>,
}

/// The JSON object of `values` (`None` when empty).
pub fn dimensions_json<'a>(values: impl IntoIterator<Item = (&'a str, String)>) -> Option<String> {
    let map: serde_json::Map<String, serde_json::Value> = values
        .into_iter()
        .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v)))
        .collect();
    (!map.is_empty()).then(|| serde_json::Value::Object(map).to_string())
}

#[derive(Insertable)]
#[diesel(table_name = exposures)]
struct ExposureRow<'a> {
    experiment_key: &'a str,
    phase: i32,
    unit_id: &'a str,
    variant: &'a str,
    first_seen: NaiveDateTime,
    recorded_at: NaiveDateTime,
    dimensions: Option<&'a str>,
}

fn rows(records: &[ExposureRecord], recorded_at: NaiveDateTime) -> Vec<ExposureRow<'_>> {
    records
        .iter()
        .map(|r| ExposureRow {
            experiment_key: &r.experiment_key,
            phase: r.phase,
            unit_id: &r.unit_id,
            variant: &r.variant,
            first_seen: r.first_seen,
            recorded_at,
            dimensions: r.dimensions.as_deref(),
        })
        .collect()
}

/// Largest number of rows per INSERT statement (7 parameters each, well under
/// both backends' parameter limits).
const ROWS_PER_STATEMENT: usize = 1000;

/// Inserts `records`, ignoring units already exposed to the same phase. One
/// transaction, multi-row statements on the concrete backend; `recorded_at` is
/// the transaction's ingestion-clock stamp.
pub fn insert_batch(conn: &mut DbConnection, records: &[ExposureRecord]) -> Result<usize, DbError> {
    let mut inserted = 0;
    match conn {
        DbConnection::Postgresql(pg) => pg.transaction(|pg| {
            let rows = rows(records, ingest_clock::stamp_pg(pg)?);
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                inserted += diesel::insert_into(exposures::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(pg)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?,
        DbConnection::Sqlite(sqlite) => sqlite.immediate_transaction(|sqlite| {
            let rows = rows(records, ingest_clock::stamp_sqlite());
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                inserted += diesel::insert_or_ignore_into(exposures::table)
                    .values(chunk)
                    .execute(sqlite)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?,
    }
    Ok(inserted)
}
