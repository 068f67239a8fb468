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

use crate::metrics_catalog::semantics::{Fold, Matcher, Period, Recipe, Semantics, Term};
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
    /// Only the units of this slice of a dimension (`None`: every unit).
    pub slice: Option<Slice<'a>>,
    /// Count only exposures and events ingested before `as_of` too (results
    /// as of a past instant: what was known then). Stored values always do.
    pub ingested_by_as_of: bool,
}

/// The units of one value of a dimension recorded with their first exposure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slice<'a> {
    /// The dimension (a context attribute).
    pub dimension: &'a str,
    /// Which units.
    pub value: SliceValue<'a>,
}

/// Which value of a dimension.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SliceValue<'a> {
    /// Units recorded with this value.
    Is(&'a str),
    /// Units recorded without the dimension.
    Missing,
    /// Units recorded with any value but these.
    Other(&'a [String]),
}

impl MetricQuery<'_> {
    /// The metric's per-unit semantics with this query's CUPED window.
    fn semantics(&self) -> Semantics<'_> {
        self.metric.semantics(self.pre_period_secs)
    }
}

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

    /// The dimension's value of an exposure row (`dimensions` column in scope).
    fn dimension_value(&mut self, dimension: &str) -> String {
        match self.dialect {
            Dialect::Postgres => {
                let k = self.bind(Param::Text(dimension.to_owned()));
                format!("(CAST(dimensions AS jsonb) ->> {k})")
            }
            Dialect::Sqlite => {
                let p = self.bind(Param::Text(sqlite_path(dimension)));
                format!("json_extract(dimensions, {p})")
            }
        }
    }

    /// ` AND <the exposure row is in slice>` (nothing without a slice).
    fn in_slice(&mut self, slice: Option<Slice<'_>>) -> String {
        let Some(slice) = slice else {
            return String::new();
        };
        let value = self.dimension_value(slice.dimension);
        match slice.value {
            SliceValue::Is(v) => format!(" AND {value} = {}", self.bind(Param::Text(v.to_owned()))),
            SliceValue::Missing => format!(" AND {value} IS NULL"),
            SliceValue::Other(known) => {
                let known: Vec<String> = known
                    .iter()
                    .map(|v| self.bind(Param::Text(v.clone())))
                    .collect();
                let not_known = if known.is_empty() {
                    String::new()
                } else {
                    format!(" AND {value} NOT IN ({})", known.join(", "))
                };
                format!(" AND {value} IS NOT NULL{not_known}")
            }
        }
    }

    /// ` AND unit_id IN (<the phase's units in slice>)` for stored rows.
    fn stored_in_slice(&mut self, q: &MetricQuery<'_>) -> String {
        if q.slice.is_none() {
            return String::new();
        }
        let key = self.bind(Param::Text(q.experiment.to_owned()));
        let phase = self.bind(phase_param(q.phase));
        let slice = self.in_slice(q.slice);
        format!(
            " AND unit_id IN (SELECT unit_id FROM exposures WHERE experiment_key = {key} \
             AND phase = {phase}{slice})"
        )
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
    // The kept arm sums cover every unit: a slice is summed from its units.
    if sums_are_additive(q.metric) && q.slice.is_none() {
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
    if let Some(secs) = q.metric.semantics(None).matures_after {
        let ended = b.window_ended(secs, q.as_of);
        filter.push_str(&format!(" AND {ended}"));
    }
    filter.push_str(&b.stored_in_slice(q));
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
    let semantics = metric.semantics(None);
    semantics.winsorize_percentile.is_none()
        && semantics.matures_after.is_none()
        // A funnel is read per number of steps reached, never from arm sums.
        && !matches!(semantics.recipe, Recipe::Sequence { .. })
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
    let slice = b.in_slice(q.slice);
    let mut filter = format!("experiment_key = {key} AND phase = {phase} AND {exposed_by}{slice}");
    match rows {
        None => {
            if let Some(secs) = q.metric.semantics(None).matures_after {
                let ended = b.window_ended(secs, q.as_of);
                filter.push_str(&format!(" AND {ended}"));
            }
            if q.ingested_by_as_of {
                let stamped = b.stamped_before("recorded_at", q.as_of);
                filter.push_str(&format!(" AND {stamped}"));
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
    let semantics = q.semantics();
    let (value, denominator, pre_value, pre_denominator) = match &semantics.recipe {
        Recipe::LatestScore { event } => return nps_ctes(b, event, q, stored),
        Recipe::Sequence { steps, window } => return funnel_ctes(b, steps, *window, q, stored),
        Recipe::Terms {
            value,
            denominator,
            pre_value,
            pre_denominator,
        } => (value, denominator, pre_value, pre_denominator),
    };
    let (ids, group_ids) = if stored {
        (
            "e.unit_id AS unit_id, e.first_seen AS first_seen, ",
            ", e.first_seen",
        )
    } else {
        ("", "")
    };
    let stamped = ingested_before(b, "ev", q, stored);

    // Which events to join: the metric's names, from the earliest offset any
    // term reads (the pre-period start, or exposure) to the cut-off.
    let names: Vec<String> = dedup(q.metric.event_names())
        .into_iter()
        .map(|n| b.bind(Param::Text(n.to_owned())))
        .collect();
    let lower = b.event_vs_exposure("ev", ">=", semantics.earliest_offset());
    let upper = b.not_after("ev.ts", q.as_of);
    let joined = format!(
        "SELECT u.unit_id AS unit_id, u.variant AS variant, u.first_seen AS first_seen, \
         ev.name AS name, ev.value AS value, ev.properties AS properties, {} AS dt \
         FROM u LEFT JOIN events ev ON ev.unit_id = u.unit_id \
         AND ev.name IN ({}) AND {lower} AND {upper}{stamped}",
        b.offset_expr(),
        names.join(", ")
    );
    let x = terms_sql(b, value, false);
    let d = denominator
        .as_ref()
        .map_or_else(|| "0".to_owned(), |t| terms_sql(b, t, false));
    let xp = pre_value
        .as_ref()
        .map_or_else(|| "0".to_owned(), |t| terms_sql(b, t, true));
    let dp = pre_denominator
        .as_ref()
        .map_or_else(|| "0".to_owned(), |t| terms_sql(b, t, true));
    vec![format!(
        "pu AS (SELECT {ids}e.variant AS variant, {} AS x, {} AS d, {} AS xp, {} AS dp \
         FROM ({joined}) e GROUP BY e.unit_id, e.variant{group_ids})",
        double(&x),
        double(&d),
        double(&xp),
        double(&dp),
    )]
}

/// A value made of folded terms, as an aggregate over the unit's joined event
/// rows `e`. A pre-period value without events is 0.
fn terms_sql(b: &mut Builder, terms: &[Term<'_>], pre: bool) -> String {
    let parts: Vec<String> = terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let folded = term_sql(b, t);
            let folded = if pre {
                format!("COALESCE({folded}, 0)")
            } else {
                folded
            };
            match (i, t.sign < 0.0) {
                (0, false) => folded,
                (0, true) => format!("-{folded}"),
                (_, false) => format!(" + {folded}"),
                (_, true) => format!(" - {folded}"),
            }
        })
        .collect();
    parts.concat()
}

/// One folded term: `AGG(CASE WHEN <event matches> AND <in period> THEN … END)`.
fn term_sql(b: &mut Builder, t: &Term<'_>) -> String {
    let matches = if t.events.iter().all(|m| m.filters.is_empty()) {
        let names: Vec<String> = t
            .events
            .iter()
            .map(|m| b.bind(Param::Text(m.event.to_owned())))
            .collect();
        match names.as_slice() {
            [one] => format!("e.name = {one}"),
            _ => format!("e.name IN ({})", names.join(", ")),
        }
    } else {
        let each: Vec<String> = t
            .events
            .iter()
            .map(|m| format!("({})", b.selector(m.event, m.filters)))
            .collect();
        format!("({})", each.join(" OR "))
    };
    let period = match t.period {
        Period::Post { within } => {
            let from = b.offset(">=", 0.0);
            match within {
                Some(w) => format!("{from} AND {}", b.offset("<", w)),
                None => from,
            }
        }
        Period::Pre { secs } => format!("{} AND {}", b.offset(">=", -secs), b.offset("<", 0.0)),
        Period::Between { from, to } => {
            format!("{} AND {}", b.offset(">=", from), b.offset("<", to))
        }
    };
    let cond = format!("{matches} AND {period}");
    match t.fold {
        Fold::Any => format!("MAX({})", when(&cond, "1", "0")),
        Fold::Count => format!("SUM({})", when(&cond, "1", "0")),
        Fold::Sum { missing } => {
            let m = b.bind(Param::Double(missing));
            format!(
                "SUM({})",
                when(&cond, &format!("COALESCE(e.value, {m})"), "0")
            )
        }
        Fold::Mean => format!("AVG({})", when(&cond, "e.value", "NULL")),
    }
}

/// How a metric's per-unit values are summed: whether units without a value
/// are left out, and the winsorization percentile.
fn shape(metric: &MetricDefinition) -> (Missing, Option<f64>) {
    let semantics = metric.semantics(None);
    let missing = if semantics.excludes_missing {
        Missing::Excluded
    } else {
        Missing::Zero
    };
    (missing, semantics.winsorize_percentile)
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

/// A funnel: `f<j>` holds each unit's time of reaching step j (the earliest
/// step-j event at or after step j − 1, within the window), built from the
/// units that reached step j − 1; `pu` has `x` = reached the last step and
/// `d` = the number of steps reached.
fn funnel_ctes(
    b: &mut Builder,
    steps: &[Matcher<'_>],
    window: f64,
    q: &MetricQuery<'_>,
    stored: bool,
) -> Vec<String> {
    let mut ctes = Vec::with_capacity(steps.len() + 1);
    for (j, step) in steps.iter().enumerate() {
        let matches = b.selector(step.event, step.filters);
        let (from, after) = if j == 0 {
            ("u".to_owned(), b.event_vs_exposure("e", ">=", 0.0))
        } else {
            let prev = format!("f{j}");
            let after = match b.dialect {
                Dialect::Postgres => format!("e.ts >= {prev}.t"),
                Dialect::Sqlite => format!("{} >= 0", sqlite_ms("e.ts", &format!("{prev}.t"))),
            };
            (
                format!("{prev} JOIN u ON u.unit_id = {prev}.unit_id"),
                after,
            )
        };
        let within = b.event_vs_exposure("e", "<=", window);
        let upper = b.not_after("e.ts", q.as_of);
        let stamped = ingested_before(b, "e", q, stored);
        ctes.push(format!(
            "f{} AS (SELECT u.unit_id AS unit_id, MIN(e.ts) AS t FROM {from} \
             JOIN events e ON e.unit_id = u.unit_id AND {matches} AND {after} AND {within} \
             AND {upper}{stamped} GROUP BY u.unit_id)",
            j + 1
        ));
    }
    let reached = |j: usize| format!("CASE WHEN f{j}.t IS NOT NULL THEN 1 ELSE 0 END");
    let joins: String = (1..=steps.len())
        .map(|j| format!(" LEFT JOIN f{j} ON f{j}.unit_id = u.unit_id"))
        .collect();
    let count: Vec<String> = (1..=steps.len()).map(reached).collect();
    let ids = if stored {
        "u.unit_id AS unit_id, u.first_seen AS first_seen, "
    } else {
        ""
    };
    ctes.push(format!(
        "pu AS (SELECT {ids}u.variant AS variant, {} AS x, {} AS d, {} AS xp, {} AS dp FROM u{joins})",
        double(&reached(steps.len())),
        double(&count.join(" + ")),
        double("0"),
        double("0"),
    ));
    ctes
}

/// Units per arm by the number of funnel steps they reached (`d`), straight
/// from exposures and events: rows `(variant, steps, n)`.
pub fn funnel_steps_query(dialect: Dialect, q: &MetricQuery<'_>) -> Query {
    let mut b = Builder {
        dialect,
        params: Vec::new(),
    };
    let mut ctes = vec![units_cte(&mut b, q, None)];
    ctes.extend(per_unit_ctes(&mut b, q, None));
    let sql = format!(
        "WITH {} SELECT variant, CAST(d AS BIGINT) AS steps, COUNT(*) AS n FROM pu \
         GROUP BY variant, CAST(d AS BIGINT) ORDER BY variant, steps",
        ctes.join(", ")
    );
    Query {
        sql,
        params: b.params,
    }
}

/// The same from the stored per-unit values of `metric_key` (as of `q.as_of`).
pub fn stored_funnel_steps_query(dialect: Dialect, q: &MetricQuery<'_>, metric_key: &str) -> Query {
    let mut b = Builder {
        dialect,
        params: Vec::new(),
    };
    let mut filter = b.stored_metric(q, metric_key);
    filter.push_str(&b.stored_in_slice(q));
    let sql = format!(
        "SELECT variant, CAST(d AS BIGINT) AS steps, COUNT(*) AS n FROM metric_unit_values \
         WHERE {filter} GROUP BY variant, CAST(d AS BIGINT) ORDER BY variant, steps"
    );
    Query {
        sql,
        params: b.params,
    }
}

/// ` AND <events>.received_at < as_of` when only what was ingested by the
/// cut-off counts (stored values, or results as of a past instant).
fn ingested_before(b: &mut Builder, events: &str, q: &MetricQuery<'_>, stored: bool) -> String {
    if stored || q.ingested_by_as_of {
        format!(
            " AND {}",
            b.stamped_before(&format!("{events}.received_at"), q.as_of)
        )
    } else {
        String::new()
    }
}

/// NPS: each responding unit's latest answer after exposure, scored +100 / 0 / −100.
fn nps_ctes(b: &mut Builder, event: &str, q: &MetricQuery<'_>, stored: bool) -> Vec<String> {
    let name = b.name_is(event);
    let post = b.event_vs_exposure("e", ">=", 0.0);
    let upper = b.not_after("e.ts", q.as_of);
    let ids = if stored { "unit_id, first_seen, " } else { "" };
    let stamped = ingested_before(b, "e", q, stored);
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

/// Exposed units of `experiment`'s `phase` up to `as_of` (and stamped before
/// it, for stored values) by arm and by the dimension's value (`NULL`: not
/// recorded): rows `(value, variant, n, first)`.
pub fn dimension_counts(
    dialect: Dialect,
    experiment: &str,
    phase: u32,
    dimension: &str,
    as_of: NaiveDateTime,
    stamped_before: Option<NaiveDateTime>,
) -> Query {
    let mut b = Builder {
        dialect,
        params: Vec::new(),
    };
    let value = b.dimension_value(dimension);
    let key = b.bind(Param::Text(experiment.to_owned()));
    let p = b.bind(phase_param(phase));
    let exposed_by = b.not_after("first_seen", as_of);
    let stamped = match stamped_before {
        Some(w) => format!(" AND {}", b.stamped_before("recorded_at", w)),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {value} AS value, variant, COUNT(*) AS n FROM exposures \
         WHERE experiment_key = {key} AND phase = {p} AND {exposed_by}{stamped} \
         GROUP BY {value}, variant"
    );
    Query {
        sql,
        params: b.params,
    }
}
