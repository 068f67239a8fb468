//! Per-backend SQL that turns exposures and events into per-arm sufficient
//! statistics of one metric, entirely in the database: either straight from
//! the raw rows, or through stored per-unit values (`metric_unit_values`) that
//! are kept current by recomputing only the units affected since the last
//! watermark.
//!
//! Placeholders are numbered (`$n`, `?n`), so text order need not follow bind
//! order. Shape of every query: `u` = the phase's exposed units (first exposure
//! up to the cut-off), `e` = those units left-joined with their events (each
//! row's offset `dt` from first exposure computed once), `pu` = one row per unit
//! with its post-exposure value `x` (and ratio denominator `d`, CUPED
//! pre-period values `xp`/`dp`), optionally
//! `pw` = the same with `x` capped at a percentile, then one row per variant
//! with `n` and the sums, squares and cross products the stats engine needs.
//! User-supplied values (keys, event names, property names and operands) are
//! always bound parameters.

use chrono::NaiveDateTime;
use serde_json::Value;

use crate::metrics_catalog::{FilterOp, MetricDefinition, PropertyFilter};

/// SQL flavour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// PostgreSQL: `$n` placeholders, intervals, jsonb.
    Postgres,
    /// SQLite: `?n` placeholders, `julianday`, `json_type`/`json_extract`.
    Sqlite,
}

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// TEXT.
    Text(String),
    /// INTEGER.
    Int(i32),
    /// DOUBLE PRECISION.
    Double(f64),
    /// TIMESTAMP (UTC).
    Timestamp(NaiveDateTime),
}

/// SQL text with its parameters in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The statement.
    pub sql: String,
    /// Its parameters.
    pub params: Vec<Param>,
}

/// What to aggregate: one metric of one experiment phase.
#[derive(Debug, Clone)]
pub struct MetricQuery<'a> {
    /// Experiment key.
    pub experiment: &'a str,
    /// Phase number.
    pub phase: u32,
    /// The metric.
    pub metric: &'a MetricDefinition,
    /// Events and exposures after this instant are ignored.
    pub as_of: NaiveDateTime,
    /// CUPED pre-period length in seconds (`None`: no covariate).
    pub pre_period_secs: Option<f64>,
}

const DAY: f64 = 86_400.0;

struct Builder {
    dialect: Dialect,
    params: Vec<Param>,
}

impl Builder {
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        match self.dialect {
            Dialect::Postgres => format!("${}", self.params.len()),
            Dialect::Sqlite => format!("?{}", self.params.len()),
        }
    }

    /// `<events>.ts <op> u.first_seen + secs`.
    fn event_vs_exposure(&mut self, events: &str, op: &str, secs: f64) -> String {
        let p = self.bind(Param::Double(secs));
        let ts = format!("{events}.ts");
        match self.dialect {
            Dialect::Postgres => format!("{ts} {op} u.first_seen + make_interval(secs => {p})"),
            Dialect::Sqlite => format!("{} {op} {p} * 1000.0", sqlite_ms(&ts, "u.first_seen")),
        }
    }

    /// The event's offset from the unit's first exposure (`e.dt`, computed once
    /// per joined row) compared with `secs`.
    fn offset(&mut self, op: &str, secs: f64) -> String {
        let p = self.bind(Param::Double(secs));
        match self.dialect {
            Dialect::Postgres => format!("e.dt {op} make_interval(secs => {p})"),
            Dialect::Sqlite => format!("e.dt {op} {p} * 1000.0"),
        }
    }

    /// `ev.ts − u.first_seen`: an interval on PostgreSQL, milliseconds on SQLite.
    fn offset_expr(&self) -> String {
        match self.dialect {
            Dialect::Postgres => "ev.ts - u.first_seen".to_owned(),
            Dialect::Sqlite => sqlite_ms("ev.ts", "u.first_seen"),
        }
    }

    /// `<col> <= as_of`.
    fn not_after(&mut self, col: &str, as_of: NaiveDateTime) -> String {
        let p = self.bind(Param::Timestamp(as_of));
        match self.dialect {
            Dialect::Postgres => format!("{col} <= {p}"),
            Dialect::Sqlite => format!("{} <= 0", sqlite_ms(col, &p)),
        }
    }

    /// Rows of `metric_key` in `q`'s experiment phase (stored values or sums).
    fn stored_metric(&mut self, q: &MetricQuery<'_>, metric_key: &str) -> String {
        let key = self.bind(Param::Text(q.experiment.to_owned()));
        let phase = self.bind(phase_param(q.phase));
        let metric = self.bind(Param::Text(metric_key.to_owned()));
        format!("experiment_key = {key} AND phase = {phase} AND metric_key = {metric}")
    }

    /// `<col> < at` for an ingestion stamp (on SQLite stored as text in the
    /// bound parameter's format, so compared as is).
    fn stamped_before(&mut self, col: &str, at: NaiveDateTime) -> String {
        format!("{col} < {}", self.bind(Param::Timestamp(at)))
    }

    /// `<col> >= at` for an ingestion stamp.
    fn stamped_from(&mut self, col: &str, at: NaiveDateTime) -> String {
        format!("{col} >= {}", self.bind(Param::Timestamp(at)))
    }

    /// Exposures of the phase whose window of `secs` after first exposure has
    /// ended by `as_of`.
    fn window_ended(&mut self, secs: f64, as_of: NaiveDateTime) -> String {
        match self.dialect {
            Dialect::Postgres => {
                let s = self.bind(Param::Double(secs));
                let t = self.bind(Param::Timestamp(as_of));
                format!("first_seen + make_interval(secs => {s}) <= {t}")
            }
            Dialect::Sqlite => {
                let t = self.bind(Param::Timestamp(as_of));
                let s = self.bind(Param::Double(secs));
                format!("{} >= {s} * 1000.0", sqlite_ms(&t, "first_seen"))
            }
        }
    }

    fn name_is(&mut self, event: &str) -> String {
        format!("e.name = {}", self.bind(Param::Text(event.to_owned())))
    }

    /// Scalar equality of a JSON property with a scalar, without coercion.
    fn prop_eq(&mut self, property: &str, value: &Value) -> String {
        match self.dialect {
            Dialect::Postgres => {
                let k = self.bind(Param::Text(property.to_owned()));
                let v = self.bind(Param::Text(value.to_string()));
                format!("(CAST(e.properties AS jsonb) -> {k}) = CAST({v} AS jsonb)")
            }
            Dialect::Sqlite => {
                let path = sqlite_path(property);
                match value {
                    Value::Bool(b) => {
                        let p = self.bind(Param::Text(path));
                        let t = if *b { "'true'" } else { "'false'" };
                        format!("json_type(e.properties, {p}) = {t}")
                    }
                    Value::Number(n) => {
                        let p1 = self.bind(Param::Text(path.clone()));
                        let p2 = self.bind(Param::Text(path));
                        let v = self.bind(Param::Double(n.as_f64().unwrap_or(f64::NAN)));
                        format!(
                            "(json_type(e.properties, {p1}) IN ('integer', 'real') \
                             AND json_extract(e.properties, {p2}) = {v})"
                        )
                    }
                    Value::String(s) => {
                        let p1 = self.bind(Param::Text(path.clone()));
                        let p2 = self.bind(Param::Text(path));
                        let v = self.bind(Param::Text(s.clone()));
                        format!(
                            "(json_type(e.properties, {p1}) = 'text' \
                             AND json_extract(e.properties, {p2}) = {v})"
                        )
                    }
                    // Arrays, objects and null are rejected by metric validation.
                    _ => "1 = 0".to_owned(),
                }
            }
        }
    }

    /// The property is present and not JSON null.
    fn prop_present(&mut self, property: &str) -> String {
        match self.dialect {
            Dialect::Postgres => {
                let k = self.bind(Param::Text(property.to_owned()));
                format!(
                    "COALESCE(jsonb_typeof(CAST(e.properties AS jsonb) -> {k}), 'null') <> 'null'"
                )
            }
            Dialect::Sqlite => {
                let p = self.bind(Param::Text(sqlite_path(property)));
                format!("COALESCE(json_type(e.properties, {p}), 'null') <> 'null'")
            }
        }
    }

    /// A numeric property compared with `value` (non-numbers never match).
    fn prop_cmp(&mut self, property: &str, op: &str, value: f64) -> String {
        match self.dialect {
            Dialect::Postgres => {
                let k1 = self.bind(Param::Text(property.to_owned()));
                let k2 = self.bind(Param::Text(property.to_owned()));
                let v = self.bind(Param::Double(value));
                format!(
                    "(CASE WHEN jsonb_typeof(CAST(e.properties AS jsonb) -> {k1}) = 'number' \
                     THEN CAST(CAST(e.properties AS jsonb) ->> {k2} AS DOUBLE PRECISION) END) {op} {v}"
                )
            }
            Dialect::Sqlite => {
                let p1 = self.bind(Param::Text(sqlite_path(property)));
                let p2 = self.bind(Param::Text(sqlite_path(property)));
                let v = self.bind(Param::Double(value));
                format!(
                    "(json_type(e.properties, {p1}) IN ('integer', 'real') \
                     AND json_extract(e.properties, {p2}) {op} {v})"
                )
            }
        }
    }

    fn filter(&mut self, f: &PropertyFilter) -> String {
        let num = f.value.as_f64().unwrap_or(f64::NAN);
        match f.op {
            FilterOp::Eq => self.prop_eq(&f.property, &f.value),
            FilterOp::Neq => {
                let present = self.prop_present(&f.property);
                let eq = self.prop_eq(&f.property, &f.value);
                format!("({present} AND NOT ({eq}))")
            }
            FilterOp::In => {
                let items = f.value.as_array().cloned().unwrap_or_default();
                if items.is_empty() {
                    return "1 = 0".to_owned();
                }
                let parts: Vec<String> = items
                    .iter()
                    .map(|v| format!("COALESCE({}, 1 = 0)", self.prop_eq(&f.property, v)))
                    .collect();
                format!("({})", parts.join(" OR "))
            }
            FilterOp::Gt => self.prop_cmp(&f.property, ">", num),
            FilterOp::Gte => self.prop_cmp(&f.property, ">=", num),
            FilterOp::Lt => self.prop_cmp(&f.property, "<", num),
            FilterOp::Lte => self.prop_cmp(&f.property, "<=", num),
        }
    }

    /// `e.name = event AND every filter`.
    fn selector(&mut self, event: &str, filters: &[PropertyFilter]) -> String {
        let mut parts = vec![self.name_is(event)];
        for f in filters {
            let cond = self.filter(f);
            parts.push(format!("COALESCE({cond}, 1 = 0)"));
        }
        parts.join(" AND ")
    }
}

/// `a − b` in whole milliseconds on SQLite (timestamps are text; rounding
/// makes equal instants compare equal despite `julianday`'s floating point).
fn sqlite_ms(a: &str, b: &str) -> String {
    format!("ROUND((julianday({a}) - julianday({b})) * 86400000.0)")
}

/// A JSON path naming one top-level member, quoted for SQLite's `json_extract`.
fn sqlite_path(property: &str) -> String {
    format!(
        "$.\"{}\"",
        property.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

fn double(expr: &str) -> String {
    format!("CAST({expr} AS DOUBLE PRECISION)")
}

/// Per-unit value expressions over the joined events, for the post period and
/// (when CUPED is on) the pre period.
struct UnitColumns {
    x: String,
    d: String,
    xp: String,
    dp: String,
}

/// How units without any matching event are treated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Missing {
    /// They count as 0.
    Zero,
    /// They are left out (per-unit mean).
    Excluded,
}

/// Rows of the stored per-unit values (`metric_unit_values`) to (re)compute:
/// the metric's units as of the watermark `MetricQuery::as_of`, counting only
/// rows stamped before it (see [`crate::db::ingest_clock`]).
#[derive(Debug, Clone, Copy)]
pub struct StateRows<'a> {
    /// The metric's key in the experiment.
    pub metric_key: &'a str,
    /// Only the units whose value may have changed since this earlier
    /// watermark (`None`: every unit).
    pub since: Option<NaiveDateTime>,
}

/// The SQL for `q` on `dialect`: per-arm sums straight from exposures and events.
pub fn metric_query(dialect: Dialect, q: &MetricQuery<'_>) -> Query {
    let mut b = Builder {
        dialect,
        params: Vec::new(),
    };
    let mut ctes = vec![units_cte(&mut b, q, None)];
    ctes.extend(per_unit_ctes(&mut b, q, None));
    let (missing, cap) = shape(q.metric);
    let cap = cap.map(|percentile| percentile_of_pu(&mut b, percentile, missing));
    let sql = arm_sums_select(ctes, missing, cap);
    Query {
        sql,
        params: b.params,
    }
}

/// Replaces nothing, inserts `rows`' per-unit values: run [`delete_state_rows`]
/// with the same arguments first.
pub fn insert_state_rows(dialect: Dialect, q: &MetricQuery<'_>, rows: StateRows<'_>) -> Query {
    let mut b = Builder {
        dialect,
        params: Vec::new(),
    };
    let mut ctes = vec![units_cte(&mut b, q, Some(rows))];
    ctes.extend(per_unit_ctes(&mut b, q, Some(rows)));
    let key = b.bind(Param::Text(q.experiment.to_owned()));
    let phase = b.bind(phase_param(q.phase));
    let metric = b.bind(Param::Text(rows.metric_key.to_owned()));
    let sql = format!(
        "WITH {} INSERT INTO metric_unit_values \
         (experiment_key, phase, metric_key, unit_id, variant, first_seen, x, d, xp, dp) \
         SELECT {key}, {phase}, {metric}, unit_id, variant, first_seen, x, d, xp, dp FROM pu",
        ctes.join(", ")
    );
    Query {
        sql,
        params: b.params,
    }
}

/// Deletes the stored values of `rows`' units (all the metric's units when
/// `rows.since` is `None`).
pub fn delete_state_rows(dialect: Dialect, q: &MetricQuery<'_>, rows: StateRows<'_>) -> Query {
    let mut b = Builder {
        dialect,
        params: Vec::new(),
    };
    let of_metric = b.stored_metric(q, rows.metric_key);
    let mut sql = format!("DELETE FROM metric_unit_values WHERE {of_metric}");
    if let Some(since) = rows.since {
        let affected = affected_units(&mut b, q, since);
        sql.push_str(&format!(" AND unit_id IN ({affected})"));
    }
    Query {
        sql,
        params: b.params,
    }
}

/// Per-arm sums of `q`'s metric from its stored per-unit values (which must be
/// as of `q.as_of`): the kept sums of an additive metric, else a scan.
pub fn state_sums_query(dialect: Dialect, q: &MetricQuery<'_>, metric_key: &str) -> Query {
    let mut b = Builder {
        dialect,
        params: Vec::new(),
    };
    let mut filter = b.stored_metric(q, metric_key);
    if sums_are_additive(q.metric) {
        let columns: Vec<&str> = SUMS.iter().map(|(name, _)| *name).collect();
        let sql = format!(
            "SELECT variant, n, {} FROM metric_arm_sums WHERE {filter} AND n > 0 ORDER BY variant",
            columns.join(", ")
        );
        return Query {
            sql,
            params: b.params,
        };
    }
    if let MetricDefinition::Retention { to_day, .. } = q.metric {
        let ended = b.window_ended(f64::from(*to_day) * DAY, q.as_of);
        filter.push_str(&format!(" AND {ended}"));
    }
    let (missing, cap) = shape(q.metric);
    let cap = cap.map(|percentile| percentile_of_stored(&mut b, percentile, &filter));
    let pu = format!("pu AS (SELECT variant, x, d, xp, dp FROM metric_unit_values WHERE {filter})");
    let sql = arm_sums_select(vec![pu], missing, cap);
    Query {
        sql,
        params: b.params,
    }
}

/// Whether a metric's per-arm sums are plain sums of its stored per-unit
/// values (so they can be kept in `metric_arm_sums` and adjusted by the changed
/// units): not when a percentile cap, which moves with every unit, applies, nor
/// for retention, whose units count only once their window has ended.
pub fn sums_are_additive(metric: &MetricDefinition) -> bool {
    shape(metric).1.is_none() && !matches!(metric, MetricDefinition::Retention { .. })
}

/// Which way [`arm_sums_delta`] adjusts the stored per-arm sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adjust {
    /// Take the units' current stored values out (before they are replaced).
    Remove,
    /// Put the units' stored values in.
    Add,
}

/// Adjusts `metric_arm_sums` of an additive metric by the stored values of
/// `rows`' units (all units when `rows.since` is `None`), creating missing arm
/// rows. Sums of no values count as 0, as the analysis reads them.
pub fn arm_sums_delta(
    dialect: Dialect,
    q: &MetricQuery<'_>,
    rows: StateRows<'_>,
    adjust: Adjust,
) -> Query {
    let mut b = Builder {
        dialect,
        params: Vec::new(),
    };
    let key = b.bind(Param::Text(q.experiment.to_owned()));
    let phase = b.bind(phase_param(q.phase));
    let metric = b.bind(Param::Text(rows.metric_key.to_owned()));
    let mut filter = b.stored_metric(q, rows.metric_key);
    if shape(q.metric).0 == Missing::Excluded {
        filter.push_str(" AND x IS NOT NULL");
    }
    if let Some(since) = rows.since {
        let affected = affected_units(&mut b, q, since);
        filter.push_str(&format!(" AND unit_id IN ({affected})"));
    }
    let sign = match adjust {
        Adjust::Remove => "-",
        Adjust::Add => "",
    };
    let sums: Vec<String> = SUMS
        .iter()
        .map(|(_, expr)| format!("{sign}COALESCE(SUM({expr}), 0)"))
        .collect();
    let columns: Vec<&str> = SUMS.iter().map(|(name, _)| *name).collect();
    let updates: Vec<String> = std::iter::once("n")
        .chain(columns.iter().copied())
        .map(|c| format!("{c} = metric_arm_sums.{c} + excluded.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO metric_arm_sums (experiment_key, phase, metric_key, variant, n, {}) \
         SELECT {key}, {phase}, {metric}, variant, {sign}COUNT(*), {} \
         FROM metric_unit_values WHERE {filter} GROUP BY variant \
         ON CONFLICT (experiment_key, phase, metric_key, variant) DO UPDATE SET {}",
        columns.join(", "),
        sums.join(", "),
        updates.join(", ")
    );
    Query {
        sql,
        params: b.params,
    }
}

/// The per-arm sums the stats engine needs: column name and the per-unit
/// expression summed.
const SUMS: [(&str, &str); 14] = [
    ("s_x", "x"),
    ("s_xx", "x * x"),
    ("s_d", "d"),
    ("s_dd", "d * d"),
    ("s_xd", "x * d"),
    ("s_p", "xp"),
    ("s_pp", "xp * xp"),
    ("s_xp", "x * xp"),
    ("s_q", "dp"),
    ("s_qq", "dp * dp"),
    ("s_pq", "xp * dp"),
    ("s_xq", "x * dp"),
    ("s_dp", "d * xp"),
    ("s_dq", "d * dp"),
];

/// A phase number as bound.
pub(crate) fn phase_param(phase: u32) -> Param {
    Param::Int(i32::try_from(phase).unwrap_or(i32::MAX))
}

/// `u`: the phase's units exposed by the cut-off. Directly from events, a
/// retention metric counts only units whose window has ended; stored values
/// keep every unit (the window is checked when they are summed) and count only
/// exposures stamped before the watermark, optionally only affected units.
fn units_cte(b: &mut Builder, q: &MetricQuery<'_>, rows: Option<StateRows<'_>>) -> String {
    let key = b.bind(Param::Text(q.experiment.to_owned()));
    let phase = b.bind(phase_param(q.phase));
    let exposed_by = b.not_after("first_seen", q.as_of);
    let mut filter = format!("experiment_key = {key} AND phase = {phase} AND {exposed_by}");
    match rows {
        None => {
            if let MetricDefinition::Retention { to_day, .. } = q.metric {
                let ended = b.window_ended(f64::from(*to_day) * DAY, q.as_of);
                filter.push_str(&format!(" AND {ended}"));
            }
        }
        Some(rows) => {
            let stamped = b.stamped_before("recorded_at", q.as_of);
            filter.push_str(&format!(" AND {stamped}"));
            if let Some(since) = rows.since {
                let affected = affected_units(b, q, since);
                filter.push_str(&format!(" AND unit_id IN ({affected})"));
            }
        }
    }
    format!("u AS (SELECT unit_id, variant, first_seen FROM exposures WHERE {filter})")
}

/// Units whose stored value may differ between watermarks `since` and
/// `q.as_of`: exposures stamped in between (an exposure is stamped no earlier
/// than its `first_seen`), and units with one of the metric's events that is
/// counted at `q.as_of` but was not at `since` (stamped in between, or stamped
/// before but dated in between).
fn affected_units(b: &mut Builder, q: &MetricQuery<'_>, since: NaiveDateTime) -> String {
    let key = b.bind(Param::Text(q.experiment.to_owned()));
    let phase = b.bind(phase_param(q.phase));
    let from = b.stamped_from("recorded_at", since);
    let to = b.stamped_before("recorded_at", q.as_of);
    let exposed = format!(
        "SELECT unit_id FROM exposures WHERE experiment_key = {key} AND phase = {phase} \
         AND {from} AND {to}"
    );
    let names: Vec<String> = dedup(q.metric.event_names())
        .into_iter()
        .map(|n| b.bind(Param::Text(n.to_owned())))
        .collect();
    let new_from = b.stamped_from("received_at", since);
    let new_to = b.stamped_before("received_at", q.as_of);
    let new_due = b.not_after("ts", q.as_of);
    let old = b.stamped_before("received_at", since);
    let old_not_due = b.not_after("ts", since);
    let old_due = b.not_after("ts", q.as_of);
    format!(
        "{exposed} UNION SELECT unit_id FROM events WHERE name IN ({}) \
         AND (({new_from} AND {new_to} AND {new_due}) OR ({old} AND NOT ({old_not_due}) AND {old_due}))",
        names.join(", ")
    )
}

/// The CTEs after `u` that end in `pu`: one row per unit with its values `x`,
/// `d`, `xp`, `dp` (plus `unit_id` and `first_seen` for stored values, which
/// also count only events stamped before the watermark).
fn per_unit_ctes(b: &mut Builder, q: &MetricQuery<'_>, rows: Option<StateRows<'_>>) -> Vec<String> {
    let stored = rows.is_some();
    if let MetricDefinition::Nps { event } = q.metric {
        return nps_ctes(b, event, q, stored);
    }
    let (ids, group_ids, stamped) = if stored {
        (
            "e.unit_id AS unit_id, e.first_seen AS first_seen, ",
            ", e.first_seen",
            format!(" AND {}", b.stamped_before("ev.received_at", q.as_of)),
        )
    } else {
        ("", "", String::new())
    };

    // Which events to join: the metric's names, from the pre-period start (or
    // exposure) to the cut-off.
    let names: Vec<String> = dedup(q.metric.event_names())
        .into_iter()
        .map(|n| b.bind(Param::Text(n.to_owned())))
        .collect();
    let lower = b.event_vs_exposure("ev", ">=", -q.pre_period_secs.unwrap_or(0.0));
    let upper = b.not_after("ev.ts", q.as_of);
    let joined = format!(
        "SELECT u.unit_id AS unit_id, u.variant AS variant, u.first_seen AS first_seen, \
         ev.name AS name, ev.value AS value, ev.properties AS properties, {} AS dt \
         FROM u LEFT JOIN events ev ON ev.unit_id = u.unit_id \
         AND ev.name IN ({}) AND {lower} AND {upper}{stamped}",
        b.offset_expr(),
        names.join(", ")
    );
    let cols = unit_columns(b, q);
    vec![format!(
        "pu AS (SELECT {ids}e.variant AS variant, {} AS x, {} AS d, {} AS xp, {} AS dp \
         FROM ({joined}) e GROUP BY e.unit_id, e.variant{group_ids})",
        double(&cols.x),
        double(&cols.d),
        double(&cols.xp),
        double(&cols.dp),
    )]
}

/// How a metric's per-unit values are summed: whether units without a value
/// are left out, and the winsorization percentile.
fn shape(metric: &MetricDefinition) -> (Missing, Option<f64>) {
    match metric {
        MetricDefinition::Sum {
            winsorize_percentile,
            ..
        } => (Missing::Zero, *winsorize_percentile),
        MetricDefinition::Mean {
            winsorize_percentile,
            ..
        } => (Missing::Excluded, *winsorize_percentile),
        _ => (Missing::Zero, None),
    }
}

/// `cap`: the `percentile` (0–100) of `pu`'s `x`, as `percentile_disc`.
fn percentile_of_pu(b: &mut Builder, percentile: f64, missing: Missing) -> String {
    let present = present(missing);
    let p = b.bind(Param::Double(percentile / 100.0));
    match b.dialect {
        // Materialized: computed once, never re-run per joined row.
        Dialect::Postgres => format!(
            "cap AS MATERIALIZED (SELECT percentile_disc({p}) WITHIN GROUP (ORDER BY x) AS c \
             FROM pu{present})"
        ),
        // percentile_disc: the smallest value whose cumulative share reaches p.
        Dialect::Sqlite => format!(
            "cap AS (SELECT x AS c FROM pu{present} ORDER BY x LIMIT 1 OFFSET \
             (SELECT MAX(CAST(k AS INTEGER) + (k > CAST(k AS INTEGER)) - 1, 0) \
              FROM (SELECT {p} * COUNT(*) AS k FROM pu{present})))"
        ),
    }
}

/// `cap`: the `percentile` (0–100) of the stored values matching `filter`, as
/// `percentile_disc` (the value at ascending position i = ⌈p·n⌉, at least 1),
/// read from the top through the `x` index: position n − i from the largest,
/// so a high percentile costs a walk over the tail only.
fn percentile_of_stored(b: &mut Builder, percentile: f64, filter: &str) -> String {
    let p = b.bind(Param::Double(percentile / 100.0));
    let (materialized, greatest, ceil_k) = match b.dialect {
        Dialect::Postgres => ("MATERIALIZED ", "GREATEST", "CAST(CEIL(k) AS BIGINT)"),
        Dialect::Sqlite => ("", "MAX", "(CAST(k AS INTEGER) + (k > CAST(k AS INTEGER)))"),
    };
    format!(
        "cap AS {materialized}(SELECT x AS c FROM metric_unit_values \
         WHERE {filter} AND x IS NOT NULL ORDER BY x DESC LIMIT 1 OFFSET \
         (SELECT {greatest}(n - {greatest}({ceil_k}, 1), 0) \
          FROM (SELECT COUNT(*) AS n, {p} * COUNT(*) AS k FROM metric_unit_values \
                WHERE {filter} AND x IS NOT NULL) AS counted))"
    )
}

fn present(missing: Missing) -> &'static str {
    if missing == Missing::Excluded {
        " WHERE x IS NOT NULL"
    } else {
        ""
    }
}

/// The final statement over `ctes` (ending in `pu`): optionally caps `x` at
/// `cap`'s `c`, then one row per variant with `n` and the sums, squares and
/// cross products the stats engine needs.
fn arm_sums_select(mut ctes: Vec<String>, missing: Missing, cap: Option<String>) -> String {
    let present = present(missing);
    let source = match cap {
        Some(cap) => {
            ctes.push(cap);
            ctes.push(
                "pw AS (SELECT variant, CASE WHEN x > cap.c THEN cap.c ELSE x END AS x, d, xp, dp \
                 FROM pu CROSS JOIN cap)"
                    .to_owned(),
            );
            "pw"
        }
        None => "pu",
    };
    let sums: Vec<String> = SUMS
        .iter()
        .map(|(name, expr)| format!("SUM({expr}) AS {name}"))
        .collect();
    format!(
        "WITH {} SELECT variant, COUNT(*) AS n, {} \
         FROM {source}{present} GROUP BY variant ORDER BY variant",
        ctes.join(", "),
        sums.join(", ")
    )
}

fn dedup(names: Vec<&str>) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// `CASE WHEN <cond> THEN <then> ELSE <otherwise> END`.
fn when(cond: &str, then: &str, otherwise: &str) -> String {
    format!("CASE WHEN {cond} THEN {then} ELSE {otherwise} END")
}

fn unit_columns(b: &mut Builder, q: &MetricQuery<'_>) -> UnitColumns {
    let post = |b: &mut Builder| b.offset(">=", 0.0);
    let pre = |b: &mut Builder| b.offset("<", 0.0);
    let cuped = q.pre_period_secs.is_some();
    let zero = "0".to_owned();
    match q.metric {
        MetricDefinition::Conversion {
            event,
            filters,
            window_hours,
        } => {
            let sel = b.selector(event, filters);
            let mut post_cond = format!("{sel} AND {}", post(b));
            if let Some(h) = window_hours {
                let w = b.offset("<", f64::from(*h) * 3600.0);
                post_cond.push_str(&format!(" AND {w}"));
            }
            let x = format!("MAX({})", when(&post_cond, "1", "0"));
            let xp = if cuped {
                let sel = b.selector(event, filters);
                format!("MAX({})", when(&format!("{sel} AND {}", pre(b)), "1", "0"))
            } else {
                zero.clone()
            };
            UnitColumns {
                x,
                d: zero.clone(),
                xp,
                dp: zero,
            }
        }
        MetricDefinition::Count { event, filters } => {
            let sel = b.selector(event, filters);
            let x = format!("SUM({})", when(&format!("{sel} AND {}", post(b)), "1", "0"));
            let xp = if cuped {
                let sel = b.selector(event, filters);
                format!("SUM({})", when(&format!("{sel} AND {}", pre(b)), "1", "0"))
            } else {
                zero.clone()
            };
            UnitColumns {
                x,
                d: zero.clone(),
                xp,
                dp: zero,
            }
        }
        MetricDefinition::Sum { event, filters, .. } => {
            let sel = b.selector(event, filters);
            let value = "COALESCE(e.value, 0)";
            let x = format!(
                "SUM({})",
                when(&format!("{sel} AND {}", post(b)), value, "0")
            );
            let xp = if cuped {
                let sel = b.selector(event, filters);
                format!(
                    "SUM({})",
                    when(&format!("{sel} AND {}", pre(b)), value, "0")
                )
            } else {
                zero.clone()
            };
            UnitColumns {
                x,
                d: zero.clone(),
                xp,
                dp: zero,
            }
        }
        MetricDefinition::Mean { event, filters, .. } => {
            let sel = b.selector(event, filters);
            let x = format!(
                "AVG({})",
                when(&format!("{sel} AND {}", post(b)), "e.value", "NULL")
            );
            let xp = if cuped {
                let sel = b.selector(event, filters);
                format!(
                    "COALESCE(AVG({}), 0)",
                    when(&format!("{sel} AND {}", pre(b)), "e.value", "NULL")
                )
            } else {
                zero.clone()
            };
            UnitColumns {
                x,
                d: zero.clone(),
                xp,
                dp: zero,
            }
        }
        MetricDefinition::Ratio {
            numerator,
            denominator,
        } => {
            let value = "COALESCE(e.value, 1)";
            let mut part = |sel: &crate::metrics_catalog::EventSelector, pre_period: bool| {
                let s = b.selector(&sel.event, &sel.filters);
                let t = if pre_period { pre(b) } else { post(b) };
                format!("SUM({})", when(&format!("{s} AND {t}"), value, "0"))
            };
            let x = part(numerator, false);
            let d = part(denominator, false);
            let (xp, dp) = if cuped {
                (part(numerator, true), part(denominator, true))
            } else {
                (zero.clone(), zero)
            };
            UnitColumns { x, d, xp, dp }
        }
        MetricDefinition::Retention {
            events,
            from_day,
            to_day,
        } => {
            let any_of = |b: &mut Builder| {
                let names: Vec<String> = events
                    .iter()
                    .map(|n| b.bind(Param::Text(n.clone())))
                    .collect();
                format!("e.name IN ({})", names.join(", "))
            };
            let names = any_of(b);
            let from = b.offset(">=", f64::from(*from_day) * DAY);
            let to = b.offset("<", f64::from(*to_day) * DAY);
            let x = format!(
                "MAX({})",
                when(&format!("{names} AND {from} AND {to}"), "1", "0")
            );
            let xp = if cuped {
                let names = any_of(b);
                format!(
                    "MAX({})",
                    when(&format!("{names} AND {}", pre(b)), "1", "0")
                )
            } else {
                zero.clone()
            };
            UnitColumns {
                x,
                d: zero.clone(),
                xp,
                dp: zero,
            }
        }
        MetricDefinition::Nps { .. } => unreachable!("NPS has its own query"),
    }
}

/// NPS: each responding unit's latest answer after exposure, scored +100 / 0 / −100.
fn nps_ctes(b: &mut Builder, event: &str, q: &MetricQuery<'_>, stored: bool) -> Vec<String> {
    let name = b.name_is(event);
    let post = b.event_vs_exposure("e", ">=", 0.0);
    let upper = b.not_after("e.ts", q.as_of);
    let (ids, stamped) = if stored {
        (
            "unit_id, first_seen, ",
            format!(" AND {}", b.stamped_before("e.received_at", q.as_of)),
        )
    } else {
        ("", String::new())
    };
    let none = double("NULL");
    vec![
        format!(
            "answers AS (SELECT u.unit_id AS unit_id, u.variant AS variant, \
             u.first_seen AS first_seen, e.value AS score, ROW_NUMBER() OVER \
             (PARTITION BY u.unit_id ORDER BY e.ts DESC, e.event_id DESC) AS rn \
             FROM u JOIN events e ON e.unit_id = u.unit_id AND {name} AND {post} AND {upper}{stamped} \
             WHERE e.value IS NOT NULL)"
        ),
        format!(
            "pu AS (SELECT {ids}variant, CAST(CASE WHEN score >= 9 THEN 100 WHEN score >= 7 THEN 0 \
             ELSE -100 END AS DOUBLE PRECISION) AS x, {none} AS d, {none} AS xp, {none} AS dp \
             FROM answers WHERE rn = 1)"
        ),
    ]
}
