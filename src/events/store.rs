//! The batched, idempotent event insert.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::NewEvent;
use crate::db::DbConnection;
use crate::db::schema::events;

/// Rows per INSERT statement: 7 bind parameters each keeps a statement well
/// under both backends' parameter limits.
const ROWS_PER_STATEMENT: usize = 1000;

#[derive(Insertable)]
#[diesel(table_name = events)]
struct EventRow<'a> {
    event_id: &'a str,
    unit_id: &'a str,
    name: &'a str,
    ts: NaiveDateTime,
    value: Option<f64>,
    properties: Option<&'a str>,
    received_at: NaiveDateTime,
}

/// Stores `batch` in one transaction with multi-row inserts, skipping events whose
/// `event_id` is already stored, and returns how many were new. The events are
/// committed when this returns.
pub fn insert_batch(
    conn: &mut DbConnection,
    batch: &[NewEvent],
    received_at: NaiveDateTime,
) -> QueryResult<usize> {
    if batch.is_empty() {
        return Ok(0);
    }
    let rows: Vec<EventRow<'_>> = batch
        .iter()
        .map(|e| EventRow {
            event_id: &e.event_id,
            unit_id: &e.unit_id,
            name: &e.name,
            ts: e.timestamp,
            value: e.value,
            properties: e.properties.as_deref(),
            received_at,
        })
        .collect();
    match conn {
        DbConnection::Postgresql(pg) => pg.transaction(|pg| {
            let mut inserted = 0;
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                inserted += diesel::insert_into(events::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(pg)?;
            }
            Ok(inserted)
        }),
        DbConnection::Sqlite(lite) => lite.transaction(|lite| {
            let mut inserted = 0;
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                inserted += diesel::insert_or_ignore_into(events::table)
                    .values(chunk)
                    .execute(lite)?;
            }
            Ok(inserted)
        }),
    }
}
