//! `verdict seed --demo --warehouse URL`: the demo's events live in an
//! analytics warehouse instead of Verdict: an `events` table in the OKR
//! document's shape (`name`, `user_id`, `ts timestamptz`, `props jsonb`) with
//! a dbt-style view on top, a data source over the view, and every demo
//! metric computed there.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamp};

use super::{SEED_ACTOR, SeedError, catalogue};
use crate::db::DbConnection;
use crate::db::schema::events;
use crate::warehouse::{DataSource, Limits, Mapping, Properties, SourceUrl, store};

/// The data source the demo's metrics are moved onto.
pub const SOURCE_KEY: &str = "analytics";

/// The warehouse's tables, as a team's dbt project would have them: the raw
/// events and a cleaned view that exposes the numeric value.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS events (id bigserial PRIMARY KEY, \
       name text NOT NULL, user_id text NOT NULL, ts timestamptz NOT NULL, props jsonb);
     CREATE INDEX IF NOT EXISTS events_user_id ON events (user_id);
     CREATE SCHEMA IF NOT EXISTS analytics;
     CREATE OR REPLACE VIEW analytics.events_clean AS
       SELECT name, user_id, ts, props, CAST(props ->> 'value' AS double precision) AS value
       FROM events WHERE NOT COALESCE(CAST(props ->> 'test' AS boolean), false);";

/// Rows per INSERT into the warehouse.
const BATCH: usize = 1_000;

type EventRow = (
    String,
    String,
    chrono::NaiveDateTime,
    Option<f64>,
    Option<String>,
);

fn props(value: Option<f64>, properties: Option<String>) -> Option<String> {
    let mut p: serde_json::Map<String, serde_json::Value> = properties
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    if let Some(v) = value {
        p.insert("value".into(), serde_json::json!(v));
    }
    (!p.is_empty()).then(|| serde_json::Value::Object(p).to_string())
}

/// Moves every event of Verdict's database into the warehouse at `url`,
/// registers it as data source [`SOURCE_KEY`] and computes the demo metrics
/// there; returns how many events moved.
pub fn move_events(conn: &mut DbConnection, url: &str) -> Result<usize, SeedError> {
    let mut pg =
        PgConnection::establish(url).map_err(|e| SeedError::Domain(format!("warehouse: {e}")))?;
    let warehouse = |e: diesel::result::Error| SeedError::Domain(format!("warehouse: {e}"));
    pg.batch_execute(SCHEMA).map_err(warehouse)?;
    let rows: Vec<EventRow> = events::table
        .select((
            events::unit_id,
            events::name,
            events::ts,
            events::value,
            events::properties,
        ))
        .load(conn)
        .map_err(crate::db::DbError::from)?;
    pg.transaction(|pg| {
        for chunk in rows.chunks(BATCH) {
            let placeholders: Vec<String> = (0..chunk.len())
                .map(|i| {
                    format!(
                        "(${}, ${}, CAST(${} AS timestamp) AT TIME ZONE 'UTC', CAST(${} AS jsonb))",
                        4 * i + 1,
                        4 * i + 2,
                        4 * i + 3,
                        4 * i + 4
                    )
                })
                .collect();
            let mut insert = diesel::sql_query(format!(
                "INSERT INTO events (name, user_id, ts, props) VALUES {}",
                placeholders.join(", ")
            ))
            .into_boxed::<diesel::pg::Pg>();
            for (unit, name, ts, value, properties) in chunk {
                insert = insert
                    .bind::<Text, _>(name.clone())
                    .bind::<Text, _>(unit.clone())
                    .bind::<Timestamp, _>(*ts)
                    .bind::<Nullable<Text>, _>(props(*value, properties.clone()));
            }
            insert.execute(pg)?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .map_err(warehouse)?;
    let source = DataSource {
        key: SOURCE_KEY.into(),
        url: SourceUrl::new(url.to_owned()),
        mapping: Mapping {
            relation: "analytics.events_clean".into(),
            unit_column: "user_id".into(),
            name_column: "name".into(),
            timestamp_column: "ts".into(),
            value_column: Some("value".into()),
            properties: Some(Properties::Json("props".into())),
            filters: Vec::new(),
        },
        limits: Limits::default(),
    };
    if store::exists(conn, SOURCE_KEY).map_err(crate::db::DbError::from)? {
        store::replace(conn, SEED_ACTOR, source)?;
    } else {
        store::create(conn, SEED_ACTOR, source)?;
    }
    for metric in catalogue::metrics() {
        let mut current = crate::metrics_catalog::get(conn, &metric.key)?;
        current.data_source = Some(SOURCE_KEY.into());
        crate::metrics_catalog::update(conn, SEED_ACTOR, current)?;
    }
    diesel::delete(events::table)
        .execute(conn)
        .map_err(crate::db::DbError::from)?;
    Ok(rows.len())
}
