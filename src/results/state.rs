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
use diesel::sql_types::{Text, Timestamp};

use super::aggregate::{execute, load};
use super::sql::{
    Adjust, Dialect, MetricQuery, Param, Query, StateRows, arm_sums_delta, delete_state_rows,
    insert_state_rows, phase_param, sums_are_additive,
};
use crate::db::DbConnection;
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

#[derive(QueryableByName)]
struct Watermark {
    #[diesel(sql_type = Timestamp)]
    watermark: NaiveDateTime,
}

#[derive(QueryableByName)]
struct StoredMetric {
    #[diesel(sql_type = Text)]
    metric_key: String,
    #[diesel(sql_type = Text)]
    fingerprint: String,
}

/// The dialect of `conn`'s backend.
pub fn dialect(conn: &DbConnection) -> Dialect {
    match conn {
        DbConnection::Postgresql(_) => Dialect::Postgres,
        DbConnection::Sqlite(_) => Dialect::Sqlite,
    }
}

/// `sql` with `?n` placeholders rewritten to `$n` for PostgreSQL.
fn query(dialect: Dialect, sql: &str, params: Vec<Param>) -> Query {
    let sql = match dialect {
        Dialect::Postgres => sql.replace('?', "$"),
        Dialect::Sqlite => sql.to_owned(),
    };
    Query { sql, params }
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
    let key = || Param::Text(experiment.to_owned());
    let epoch = NaiveDateTime::default();
    execute(
        conn,
        &query(
            d,
            "INSERT INTO result_state (experiment_key, phase, watermark) VALUES (?1, ?2, ?3) \
             ON CONFLICT DO NOTHING",
            vec![key(), phase_param(phase), Param::Timestamp(epoch)],
        ),
    )?;
    // Locks the row until the transaction ends.
    execute(
        conn,
        &query(
            d,
            "UPDATE result_state SET watermark = watermark WHERE experiment_key = ?1 AND phase = ?2",
            vec![key(), phase_param(phase)],
        ),
    )?;
    let previous = load::<Watermark>(
        conn,
        &query(
            d,
            "SELECT watermark FROM result_state WHERE experiment_key = ?1 AND phase = ?2",
            vec![key(), phase_param(phase)],
        ),
    )?
    .first()
    .map_or(epoch, |w| w.watermark);
    if watermark <= previous {
        return Ok(previous);
    }
    forget_other_phases(conn, experiment, phase)?;
    let stored = load::<StoredMetric>(
        conn,
        &query(
            d,
            "SELECT metric_key, fingerprint FROM result_state_metrics \
             WHERE experiment_key = ?1 AND phase = ?2",
            vec![key(), phase_param(phase)],
        ),
    )?;
    let mut rebuilt = false;
    for m in metrics {
        let fingerprint = m.fingerprint();
        let current = stored
            .iter()
            .any(|s| s.metric_key == m.key && s.fingerprint == fingerprint);
        let q = MetricQuery {
            experiment,
            phase,
            metric: m.definition,
            as_of: watermark,
            pre_period_secs: m.pre_period_secs,
        };
        let rows = StateRows {
            metric_key: m.key,
            since: current.then_some(previous),
        };
        let additive = sums_are_additive(m.definition);
        if !current {
            forget_metric(conn, experiment, phase, m.key, Forget::Sums)?;
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
            forget_metric(conn, experiment, phase, m.key, Forget::Fingerprint)?;
            execute(
                conn,
                &query(
                    d,
                    "INSERT INTO result_state_metrics (experiment_key, phase, metric_key, fingerprint) \
                     VALUES (?1, ?2, ?3, ?4)",
                    vec![
                        key(),
                        phase_param(phase),
                        Param::Text(m.key.to_owned()),
                        Param::Text(fingerprint),
                    ],
                ),
            )?;
        }
    }
    if rebuilt && d == Dialect::Postgres {
        // Fresh statistics, so that the next advance looks up the few changed
        // units instead of hashing all of them.
        execute(conn, &query(d, "ANALYZE metric_unit_values", Vec::new()))?;
    }
    for s in stored
        .iter()
        .filter(|s| !metrics.iter().any(|m| m.key == s.metric_key))
    {
        forget_metric(conn, experiment, phase, &s.metric_key, Forget::Everything)?;
    }
    execute(
        conn,
        &query(
            d,
            "UPDATE result_state SET watermark = ?3 WHERE experiment_key = ?1 AND phase = ?2",
            vec![key(), phase_param(phase), Param::Timestamp(watermark)],
        ),
    )?;
    Ok(watermark)
}

#[derive(QueryableByName)]
struct StoredPhase {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    phase: i32,
}

/// Tables holding stored state, keyed by experiment and phase first.
const STATE_TABLES: [&str; 3] = [
    "result_state_metrics",
    "metric_unit_values",
    "metric_arm_sums",
];

/// Drops everything stored for `experiment`'s phases other than `phase`.
fn forget_other_phases(conn: &mut DbConnection, experiment: &str, phase: u32) -> QueryResult<()> {
    let d = dialect(conn);
    let key = || Param::Text(experiment.to_owned());
    let others = load::<StoredPhase>(
        conn,
        &query(
            d,
            "SELECT phase FROM result_state WHERE experiment_key = ?1 AND phase <> ?2",
            vec![key(), phase_param(phase)],
        ),
    )?;
    for other in others {
        for table in STATE_TABLES.iter().chain(&["result_state"]) {
            let sql = format!("DELETE FROM {table} WHERE experiment_key = ?1 AND phase = ?2");
            execute(conn, &query(d, &sql, vec![key(), Param::Int(other.phase)]))?;
        }
    }
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
    phase: u32,
    metric: &str,
    what: Forget,
) -> QueryResult<()> {
    let d = dialect(conn);
    let params = || {
        vec![
            Param::Text(experiment.to_owned()),
            phase_param(phase),
            Param::Text(metric.to_owned()),
        ]
    };
    let tables: &[&str] = match what {
        Forget::Sums => &["metric_arm_sums"],
        Forget::Fingerprint => &["result_state_metrics"],
        Forget::Everything => &STATE_TABLES,
    };
    for table in tables {
        let sql = format!(
            "DELETE FROM {table} WHERE experiment_key = ?1 AND phase = ?2 AND metric_key = ?3"
        );
        execute(conn, &query(d, &sql, params()))?;
    }
    Ok(())
}
