//! A session on a warehouse prepared for one analysis: connected with the
//! source's statement timeout, the phase's exposures copied into a temporary
//! table (`COPY`), the events relation mapped by a temporary view, then
//! read-only. Metric SQL of the PostgreSQL backend runs on it unchanged.

use std::collections::HashMap;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::model::DataSource;
use super::relation::{EXPOSURES_DDL, events_view, missing_columns, qualified};
use crate::db::DbConnection;
use crate::db::schema::{exposures, warehouse_exposures};

/// Exposures copied per `COPY` statement.
const CHUNK: i64 = 100_000;

/// Why a warehouse could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// The connection failed (the message is the server's or the driver's).
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The mapped relation is not there (or not visible to the role).
    #[error("relation `{0}` not found (or the role may not read it)")]
    NoRelation(String),
    /// Mapped columns the relation lacks.
    #[error("relation `{relation}` has no column(s) {}", .missing.join(", "))]
    MissingColumns {
        /// The relation.
        relation: String,
        /// The columns it lacks.
        missing: Vec<String>,
    },
    /// More exposed units than the source's limit.
    #[error("{units} exposed units exceed the source's limit of {max}")]
    TooManyUnits {
        /// Units in the phase.
        units: i64,
        /// The source's `max_units`.
        max: u64,
    },
    /// A statement failed (e.g. the statement timeout).
    #[error("{0}")]
    Query(#[from] diesel::result::Error),
}

/// What the mapped relation looks like.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// Its columns and their types, in order.
    pub columns: Vec<(String, String)>,
    /// The planner's row estimate (`None` for a view, or never analysed).
    pub row_estimate: Option<i64>,
    /// Mapped columns it lacks.
    pub missing: Vec<String>,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
}

#[derive(QueryableByName)]
struct Estimate {
    #[diesel(sql_type = Nullable<BigInt>)]
    rows: Option<i64>,
}

/// Seconds a connection attempt may take unless the URL says otherwise: a
/// source that does not answer fails its metrics instead of holding the results.
const CONNECT_TIMEOUT_SECS: u32 = 10;

/// `url` with a connection timeout.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&connect_timeout={CONNECT_TIMEOUT_SECS}")
    } else {
        format!("{url}?connect_timeout={CONNECT_TIMEOUT_SECS}")
    }
}

/// Connects to `source` with its statement timeout.
pub fn connect(source: &DataSource) -> Result<PgConnection, WarehouseError> {
    let mut pg = PgConnection::establish(&with_connect_timeout(source.url.expose()))
        .map_err(|e| WarehouseError::Connect(e.to_string().trim().to_owned()))?;
    // As on Verdict's own PostgreSQL (`results::aggregate`): per-unit
    // aggregation sorts or hashes a million rows, which spills to disk at the
    // default work_mem, and JIT compilation costs a second per statement
    // without making these scans faster.
    pg.batch_execute(&format!(
        "SET statement_timeout = {}; SET application_name = 'verdict'; \
         SET work_mem = '256MB'; SET jit = off",
        source.limits.statement_timeout_ms
    ))?;
    Ok(pg)
}

/// The mapped relation's columns, row estimate and missing columns.
pub fn describe(pg: &mut PgConnection, source: &DataSource) -> Result<Description, WarehouseError> {
    let relation = qualified(&source.mapping.relation);
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT CAST(a.attname AS text) AS name, format_type(a.atttypid, a.atttypmod) AS kind \
         FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 \
         AND NOT a.attisdropped ORDER BY a.attnum",
    )
    .bind::<Text, _>(&relation)
    .load(pg)?;
    if columns.is_empty() {
        return Err(WarehouseError::NoRelation(source.mapping.relation.clone()));
    }
    let estimate: Estimate = diesel::sql_query(
        "SELECT CASE WHEN c.relkind IN ('r', 'm', 'p') AND c.reltuples >= 0 \
         THEN CAST(c.reltuples AS bigint) END AS rows FROM pg_class c WHERE c.oid = to_regclass($1)",
    )
    .bind::<Text, _>(&relation)
    .get_result(pg)?;
    let columns: Vec<(String, String)> = columns.into_iter().map(|c| (c.name, c.kind)).collect();
    Ok(Description {
        missing: missing_columns(&source.mapping, &columns),
        columns,
        row_estimate: estimate.rows,
    })
}

#[derive(Insertable, Clone)]
#[diesel(table_name = warehouse_exposures, treat_none_as_default_value = false)]
struct Exposure {
    experiment_key: String,
    phase: i32,
    unit_id: String,
    variant: String,
    first_seen: chrono::NaiveDateTime,
    recorded_at: chrono::NaiveDateTime,
    dimensions: Option<String>,
}

/// A session on `source` with its temporary `exposures` table (still empty)
/// and `events` view.
fn open(source: &DataSource) -> Result<PgConnection, WarehouseError> {
    let mut pg = connect(source)?;
    let described = describe(&mut pg, source)?;
    if !described.missing.is_empty() {
        return Err(WarehouseError::MissingColumns {
            relation: source.mapping.relation.clone(),
            missing: described.missing,
        });
    }
    pg.batch_execute(EXPOSURES_DDL)?;
    pg.batch_execute(&events_view(&source.mapping, &described.columns))?;
    Ok(pg)
}

/// Hands the exposures of `key`'s `phase` to `each`, `CHUNK` at a time, in
/// unit order; stops early when `each` returns false.
fn read_exposures(
    conn: &mut DbConnection,
    key: &str,
    phase: i32,
    mut each: impl FnMut(Vec<Exposure>) -> bool,
) -> Result<(), WarehouseError> {
    let mut after = String::new();
    loop {
        let rows: Vec<(
            String,
            String,
            chrono::NaiveDateTime,
            chrono::NaiveDateTime,
            Option<String>,
        )> = exposures::table
            .filter(exposures::experiment_key.eq(key))
            .filter(exposures::phase.eq(phase))
            .filter(exposures::unit_id.gt(&after))
            .order(exposures::unit_id)
            .limit(CHUNK)
            .select((
                exposures::unit_id,
                exposures::variant,
                exposures::first_seen,
                exposures::recorded_at,
                exposures::dimensions,
            ))
            .load(conn)?;
        let Some(last) = rows.last().map(|r| r.0.clone()) else {
            return Ok(());
        };
        let full = rows.len() as i64 == CHUNK;
        let batch = rows
            .into_iter()
            .map(
                |(unit_id, variant, first_seen, recorded_at, dimensions)| Exposure {
                    experiment_key: key.to_owned(),
                    phase,
                    unit_id,
                    variant,
                    first_seen,
                    recorded_at,
                    dimensions,
                },
            )
            .collect();
        if !each(batch) || !full {
            return Ok(());
        }
        after = last;
    }
}

/// `n` (at least one) sessions on `source` ready for metric queries of
/// `key`'s `phase`. The exposures are read once from Verdict's database and
/// copied into every session at the same time, one thread per session.
pub fn prepare_many(
    conn: &mut DbConnection,
    source: &DataSource,
    key: &str,
    phase: u32,
    n: usize,
) -> Result<Vec<DbConnection>, WarehouseError> {
    let phase = i32::try_from(phase).unwrap_or(i32::MAX);
    let units: i64 = exposures::table
        .filter(exposures::experiment_key.eq(key))
        .filter(exposures::phase.eq(phase))
        .count()
        .get_result(conn)?;
    if units > i64::try_from(source.limits.max_units).unwrap_or(i64::MAX) {
        return Err(WarehouseError::TooManyUnits {
            units,
            max: source.limits.max_units,
        });
    }
    let mut sessions = (0..n.max(1))
        .map(|_| open(source))
        .collect::<Result<Vec<_>, _>>()?;
    std::thread::scope(|scope| {
        let (senders, copies): (Vec<_>, Vec<_>) = sessions
            .iter_mut()
            .map(|pg| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Exposure>>(1);
                let copy = scope.spawn(move || -> Result<(), WarehouseError> {
                    for batch in rx {
                        diesel::copy_from(warehouse_exposures::table)
                            .from_insertable(batch)
                            .execute(pg)?;
                    }
                    pg.batch_execute(
                        "ANALYZE exposures; SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
                    )?;
                    Ok(())
                });
                (tx, copy)
            })
            .unzip();
        // A session whose copy failed hangs up; its error is the one reported.
        let read = read_exposures(conn, key, phase, |batch| {
            let Some((last, others)) = senders.split_last() else {
                return false;
            };
            others.iter().all(|tx| tx.send(batch.clone()).is_ok()) && last.send(batch).is_ok()
        });
        drop(senders);
        let copied = copies
            .into_iter()
            .map(|c| c.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect::<Result<Vec<()>, _>>();
        copied.and(read)
    })?;
    Ok(sessions.into_iter().map(DbConnection::Postgresql).collect())
}

/// The sessions one analysis opened, by source key; a source that failed
/// keeps its error, so its metrics all report it and it is tried once.
pub struct Sessions {
    key: String,
    phase: u32,
    open: HashMap<String, Result<DbConnection, String>>,
}

impl Sessions {
    /// None open yet, for `key`'s `phase`.
    pub fn new(key: &str, phase: u32) -> Self {
        Self {
            key: key.to_owned(),
            phase,
            open: HashMap::new(),
        }
    }

    /// Sessions on data source `source` for `wanted` reads run at once: as
    /// many as wanted and the source allows (`max_concurrent_queries`), or the
    /// one already open. Give one back with [`Sessions::keep`] for later reads.
    pub fn take(
        &mut self,
        conn: &mut DbConnection,
        source: &str,
        wanted: usize,
    ) -> Result<Vec<DbConnection>, String> {
        match self.open.remove(source) {
            Some(Ok(session)) => return Ok(vec![session]),
            Some(Err(e)) => {
                self.open.insert(source.to_owned(), Err(e.clone()));
                return Err(e);
            }
            None => {}
        }
        let prepared = super::store::get(conn, source)
            .map_err(|e| e.to_string())
            .and_then(|s| {
                let allowed = usize::try_from(s.source.limits.max_concurrent_queries).unwrap_or(1);
                prepare_many(conn, &s.source, &self.key, self.phase, wanted.min(allowed)).map_err(
                    |e| {
                        tracing::warn!(source, error = %e, "data source unavailable");
                        e.to_string()
                    },
                )
            });
        if let Err(e) = &prepared {
            self.open.insert(source.to_owned(), Err(e.clone()));
        }
        prepared
    }

    /// Keeps `session` on `source` open for later reads of this analysis.
    pub fn keep(&mut self, source: &str, session: DbConnection) {
        self.open.insert(source.to_owned(), Ok(session));
    }

    /// The session on data source `source`, prepared on first use.
    pub fn get(
        &mut self,
        conn: &mut DbConnection,
        source: &str,
    ) -> Result<&mut DbConnection, String> {
        if !self.open.contains_key(source) {
            let mut taken = self.take(conn, source, 1)?;
            self.keep(source, taken.remove(0));
        }
        match self.open.get_mut(source) {
            Some(Ok(session)) => Ok(session),
            Some(Err(e)) => Err(e.clone()),
            None => Err(format!("data source `{source}` was not opened")),
        }
    }
}
