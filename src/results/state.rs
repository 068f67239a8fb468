//! Stored per-unit metric values (`metric_unit_values`), kept current
//! incrementally: each advance moves a phase to a fresh ingestion watermark and
//! recomputes only the units that gained an exposure or a counted event since
//! the previous one, so results cost at most a scan of one row per unit
//! instead of a join of every raw event, and for metrics whose arm sums are
//! plain sums of unit values (see [`sums_are_additive`]) one row per arm: those
//! sums are kept and adjusted by the changed units' old and new values. A
//! metric whose definition (or CUPED window) changed is recomputed from
//! scratch.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::aggregate::execute;
use super::sql::{
    Adjust, Dialect, MetricQuery, StateRows, arm_sums_delta, delete_state_rows, insert_state_rows,
    sums_are_additive,
};
use crate::db::DbConnection;
use crate::db::schema::{
    metric_arm_sums as mas, metric_unit_values as muv, result_state as rs,
    result_state_metrics as rsm,
};
use crate::metrics_catalog::MetricDefinition;

/// One metric of the phase whose values are stored.
#[derive(Debug, Clone, Copy)]
pub struct StateMetric<'a> {
    /// Metric key.
    pub key: &'a str,
    /// Its definition.
    pub definition: &'a MetricDefinition,
    /// CUPED pre-period length in seconds (`None`: no covariate).
    pub pre_period_secs: Option<f64>,
}

impl StateMetric<'_> {
    /// What the stored values depend on besides the data.
    fn fingerprint(&self) -> String {
        let definition = serde_json::to_string(self.definition).unwrap_or_default();
        format!("{definition}|pre={:?}", self.pre_period_secs)
    }
}

/// The dialect of `conn`'s backend.
pub fn dialect(conn: &DbConnection) -> Dialect {
    match conn {
        DbConnection::Postgresql(_) => Dialect::Postgres,
        DbConnection::Sqlite(_) => Dialect::Sqlite,
    }
}

fn phase_i32(phase: u32) -> i32 {
    i32::try_from(phase).unwrap_or(i32::MAX)
}

/// Creates the phase's state row at the epoch unless it exists (the variant
/// match: `ON CONFLICT DO NOTHING` is not portable through MultiConnection).
fn ensure_state_row(conn: &mut DbConnection, experiment: &str, phase: i32) -> QueryResult<()> {
    let row = (
        rs::experiment_key.eq(experiment),
        rs::phase.eq(phase),
        rs::watermark.eq(NaiveDateTime::default()),
    );
    match conn {
        DbConnection::Postgresql(pg) => diesel::insert_into(rs::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_or_ignore_into(rs::table)
            .values(row)
            .execute(sqlite)?,
    };
    Ok(())
}

/// Advances `experiment`'s `phase` to `watermark` (read beforehand with
/// [`crate::db::ingest_clock::watermark`]), recomputing what changed, and returns the
/// watermark the stored values are now at: they count exactly the exposures
/// and events stamped before it (and dated no later). That is a later one when
/// a concurrent advance got further. Run it in a transaction: it locks the
/// phase's state row, so concurrent advances (from other replicas too) take
/// turns. Values of metrics not in `metrics` are dropped, and so is everything
/// stored for the experiment's other phases: only its current phase is ever
/// advanced, and a new phase starts from scratch.
pub fn advance(
    conn: &mut DbConnection,
    experiment: &str,
    phase: u32,
    metrics: &[StateMetric<'_>],
    watermark: NaiveDateTime,
) -> QueryResult<NaiveDateTime> {
    let d = dialect(conn);
    let p = phase_i32(phase);
    ensure_state_row(conn, experiment, p)?;
    let this_phase = rs::table
        .filter(rs::experiment_key.eq(experiment))
        .filter(rs::phase.eq(p));
    // Locks the row until the transaction ends.
    diesel::update(this_phase)
        .set(rs::watermark.eq(rs::watermark))
        .execute(conn)?;
    let previous: NaiveDateTime = this_phase.select(rs::watermark).first(conn)?;
    if watermark <= previous {
        return Ok(previous);
    }
    forget_other_phases(conn, experiment, p)?;
    let stored: Vec<(String, String)> = rsm::table
        .filter(rsm::experiment_key.eq(experiment))
        .filter(rsm::phase.eq(p))
        .select((rsm::metric_key, rsm::fingerprint))
        .load(conn)?;
    let mut rebuilt = false;
    for m in metrics {
        let fingerprint = m.fingerprint();
        let current = stored
            .iter()
            .any(|(key, print)| key == m.key && *print == fingerprint);
        let q = MetricQuery {
            experiment,
            phase,
            metric: m.definition,
            as_of: watermark,
            pre_period_secs: m.pre_period_secs,
            slice: None,
            ingested_by_as_of: false,
        };
        let rows = StateRows {
            metric_key: m.key,
            since: current.then_some(previous),
        };
        let additive = sums_are_additive(m.definition);
        if !current {
            forget_metric(conn, experiment, p, m.key, Forget::Sums)?;
        } else if additive {
            execute(conn, &arm_sums_delta(d, &q, rows, Adjust::Remove))?;
        }
        execute(conn, &delete_state_rows(d, &q, rows))?;
        execute(conn, &insert_state_rows(d, &q, rows))?;
        if additive {
            execute(conn, &arm_sums_delta(d, &q, rows, Adjust::Add))?;
        }
        if !current {
            rebuilt = true;
            forget_metric(conn, experiment, p, m.key, Forget::Fingerprint)?;
            diesel::insert_into(rsm::table)
                .values((
                    rsm::experiment_key.eq(experiment),
                    rsm::phase.eq(p),
                    rsm::metric_key.eq(m.key),
                    rsm::fingerprint.eq(&fingerprint),
                ))
                .execute(conn)?;
        }
    }
    if rebuilt && d == Dialect::Postgres {
        // Fresh statistics, so that the next advance looks up the few changed
        // units instead of hashing all of them.
        diesel::sql_query("ANALYZE metric_unit_values").execute(conn)?;
    }
    for (key, _) in stored
        .iter()
        .filter(|(key, _)| !metrics.iter().any(|m| m.key == key))
    {
        forget_metric(conn, experiment, p, key, Forget::Everything)?;
    }
    diesel::update(this_phase)
        .set(rs::watermark.eq(watermark))
        .execute(conn)?;
    Ok(watermark)
}

/// Drops everything stored for `experiment`'s phases other than `phase`.
fn forget_other_phases(conn: &mut DbConnection, experiment: &str, phase: i32) -> QueryResult<()> {
    macro_rules! others {
        ($table:ident) => {
            diesel::delete(
                $table::table
                    .filter($table::experiment_key.eq(experiment))
                    .filter($table::phase.ne(phase)),
            )
            .execute(conn)?
        };
    }
    others!(rsm);
    others!(muv);
    others!(mas);
    others!(rs);
    Ok(())
}

/// What [`forget_metric`] drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forget {
    /// The kept per-arm sums (before a rebuild).
    Sums,
    /// The fingerprint (before the new one is stored).
    Fingerprint,
    /// Everything stored for the metric.
    Everything,
}

/// Drops what `what` names of a metric's stored state.
fn forget_metric(
    conn: &mut DbConnection,
    experiment: &str,
    phase: i32,
    metric: &str,
    what: Forget,
) -> QueryResult<()> {
    macro_rules! of_metric {
        ($table:ident) => {
            diesel::delete(
                $table::table
                    .filter($table::experiment_key.eq(experiment))
                    .filter($table::phase.eq(phase))
                    .filter($table::metric_key.eq(metric)),
            )
            .execute(conn)?
        };
    }
    match what {
        Forget::Sums => {
            of_metric!(mas);
        }
        Forget::Fingerprint => {
            of_metric!(rsm);
        }
        Forget::Everything => {
            of_metric!(rsm);
            of_metric!(muv);
            of_metric!(mas);
        }
    }
    Ok(())
}
