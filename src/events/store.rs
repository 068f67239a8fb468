//! The batched, idempotent event insert.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::NewEvent;
use crate::db::DbConnection;
use crate::db::ingest_clock;
use crate::db::schema::events;

/// Rows per SQLite INSERT statement: 7 bind parameters each keeps a statement
/// well under SQLite's parameter limit.
const ROWS_PER_STATEMENT: usize = 1000;

/// Rows per PostgreSQL statement: columns travel as seven array parameters, so
/// the statement text and plan stay the same whatever the batch size.
const PG_ROWS_PER_STATEMENT: usize = 10_000;

/// One multi-row `INSERT ... SELECT FROM UNNEST(arrays) ON CONFLICT DO NOTHING`:
/// far cheaper to parse and bind than a VALUES list with 7 parameters per row.
fn insert_pg(
    pg: &mut PgConnection,
    batch: &[NewEvent],
    received_at: NaiveDateTime,
) -> QueryResult<usize> {
    use diesel::sql_types::{Array, Double, Nullable, Text, Timestamp};
    let ids: Vec<&str> = batch.iter().map(|e| e.event_id.as_str()).collect();
    let units: Vec<&str> = batch.iter().map(|e| e.unit_id.as_str()).collect();
    let names: Vec<&str> = batch.iter().map(|e| e.name.as_str()).collect();
    let times: Vec<NaiveDateTime> = batch.iter().map(|e| e.timestamp).collect();
    let values: Vec<Option<f64>> = batch.iter().map(|e| e.value).collect();
    let properties: Vec<Option<&str>> = batch.iter().map(|e| e.properties.as_deref()).collect();
    diesel::sql_query(
        "INSERT INTO events (event_id, unit_id, name, ts, value, properties, received_at) \
         SELECT u.event_id, u.unit_id, u.name, u.ts, u.value, u.properties, $7 \
         FROM UNNEST($1, $2, $3, $4, $5, $6) AS u (event_id, unit_id, name, ts, value, properties) \
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind::<Array<Text>, _>(&ids)
    .bind::<Array<Text>, _>(&units)
    .bind::<Array<Text>, _>(&names)
    .bind::<Array<Timestamp>, _>(&times)
    .bind::<Array<Nullable<Double>>, _>(&values)
    .bind::<Array<Nullable<Text>>, _>(&properties)
    .bind::<Timestamp, _>(received_at)
    .execute(pg)
}

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

/// Stores `batch` in one transaction with multi-row inserts (array-bound on
/// PostgreSQL), skipping events whose `event_id` is already stored, and returns
/// how many were new. `received_at` is the transaction's ingestion-clock stamp.
/// The events are committed when this returns.
pub fn insert_batch(conn: &mut DbConnection, batch: &[NewEvent]) -> QueryResult<usize> {
    if batch.is_empty() {
        return Ok(0);
    }
    match conn {
        DbConnection::Postgresql(pg) => pg.transaction(|pg| {
            let received_at = ingest_clock::stamp_pg(pg)?;
            let mut inserted = 0;
            for chunk in batch.chunks(PG_ROWS_PER_STATEMENT) {
                inserted += insert_pg(pg, chunk, received_at)?;
            }
            Ok(inserted)
        }),
        DbConnection::Sqlite(lite) => lite.immediate_transaction(|lite| {
            let received_at = ingest_clock::stamp_sqlite();
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
