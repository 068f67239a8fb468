//! Per-backend SQL that turns exposures and events into per-arm sufficient
//! statistics of one metric, entirely in the database.
//!
//! Placeholders are numbered (`$n`, `?n`), so text order need not follow bind
//! order. Shape of every query: `u` = the phase's exposed units (first exposure
//! up to the cut-off), `e` = those units left-joined with their events (each
//! row's offset `dt` from first exposure computed once), `pu` = one row per unit
//! with its post-exposure value `x` (and ratio denominator `d`, CUPED pre-period values `xp`/`dp`), optionally
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

/// The SQL for `q` on `dialect`.
pub fn metric_query(dialect: Dialect, q: &MetricQuery<'_>) -> Query {
    let mut b = Builder {
        dialect,
        params: Vec::new(),
    };
    let key = b.bind(Param::Text(q.experiment.to_owned()));
    let phase = b.bind(Param::Int(i32::try_from(q.phase).unwrap_or(i32::MAX)));
    let exposed_by = b.not_after("first_seen", q.as_of);
    let mut unit_filter = format!("experiment_key = {key} AND phase = {phase} AND {exposed_by}");
    if let MetricDefinition::Retention { to_day, .. } = q.metric {
        let ended = b.window_ended(f64::from(*to_day) * DAY, q.as_of);
        unit_filter.push_str(&format!(" AND {ended}"));
    }
    let units =
        format!("u AS (SELECT unit_id, variant, first_seen FROM exposures WHERE {unit_filter})");
    if let MetricDefinition::Nps { event } = q.metric {
        return nps_query(b, units, event, q);
    }

    // Which events to join: the metric's names, from the pre-period start (or
    // exposure) to the cut-off.
    let names: Vec<String> = dedup(q.metric.event_names())
        .into_iter()
        .map(|n| b.bind(Param::Text(n.to_owned())))
        .collect();
    let lower = b.event_vs_exposure("ev", ">=", -q.pre_period_secs.unwrap_or(0.0));
    let upper = b.not_after("ev.ts", q.as_of);
    let joined = format!(
        "SELECT u.unit_id AS unit_id, u.variant AS variant, ev.name AS name, ev.value AS value, \
         ev.properties AS properties, {} AS dt FROM u LEFT JOIN events ev ON ev.unit_id = u.unit_id \
         AND ev.name IN ({}) AND {lower} AND {upper}",
        b.offset_expr(),
        names.join(", ")
    );

    let (cols, missing, cap) = unit_columns(&mut b, q);
    let per_unit = format!(
        "pu AS (SELECT e.variant AS variant, {} AS x, {} AS d, {} AS xp, {} AS dp \
         FROM ({joined}) e GROUP BY e.unit_id, e.variant)",
        double(&cols.x),
        double(&cols.d),
        double(&cols.xp),
        double(&cols.dp),
    );
    let present = if missing == Missing::Excluded {
        " WHERE x IS NOT NULL"
    } else {
        ""
    };
    let mut ctes = vec![units, per_unit];
    let source = match cap {
        Some(percentile) => {
            let cap_cte = match dialect {
                Dialect::Postgres => {
                    let p = b.bind(Param::Double(percentile / 100.0));
                    format!(
                        "cap AS (SELECT percentile_disc({p}) WITHIN GROUP (ORDER BY x) AS c \
                         FROM pu{present})"
                    )
                }
                Dialect::Sqlite => {
                    // percentile_disc: the smallest value whose cumulative share reaches p.
                    let p = b.bind(Param::Double(percentile / 100.0));
                    format!(
                        "cap AS (SELECT x AS c FROM pu{present} ORDER BY x LIMIT 1 OFFSET \
                         (SELECT MAX(CAST(k AS INTEGER) + (k > CAST(k AS INTEGER)) - 1, 0) \
                          FROM (SELECT {p} * COUNT(*) AS k FROM pu{present})))"
                    )
                }
            };
            ctes.push(cap_cte);
            ctes.push(
                "pw AS (SELECT variant, CASE WHEN x > cap.c THEN cap.c ELSE x END AS x, d, xp, dp \
                 FROM pu CROSS JOIN cap)"
                    .to_owned(),
            );
            "pw"
        }
        None => "pu",
    };
    let sql = format!(
        "WITH {} SELECT variant, COUNT(*) AS n, \
         SUM(x) AS s_x, SUM(x * x) AS s_xx, SUM(d) AS s_d, SUM(d * d) AS s_dd, SUM(x * d) AS s_xd, \
         SUM(xp) AS s_p, SUM(xp * xp) AS s_pp, SUM(x * xp) AS s_xp, \
         SUM(dp) AS s_q, SUM(dp * dp) AS s_qq, SUM(xp * dp) AS s_pq, \
         SUM(x * dp) AS s_xq, SUM(d * xp) AS s_dp, SUM(d * dp) AS s_dq \
         FROM {source}{present} GROUP BY variant ORDER BY variant",
        ctes.join(", ")
    );
    Query {
        sql,
        params: b.params,
    }
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

fn unit_columns(b: &mut Builder, q: &MetricQuery<'_>) -> (UnitColumns, Missing, Option<f64>) {
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
            let cols = UnitColumns {
                x,
                d: zero.clone(),
                xp,
                dp: zero,
            };
            (cols, Missing::Zero, None)
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
            let cols = UnitColumns {
                x,
                d: zero.clone(),
                xp,
                dp: zero,
            };
            (cols, Missing::Zero, None)
        }
        MetricDefinition::Sum {
            event,
            filters,
            winsorize_percentile,
        } => {
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
            let cols = UnitColumns {
                x,
                d: zero.clone(),
                xp,
                dp: zero,
            };
            (cols, Missing::Zero, *winsorize_percentile)
        }
        MetricDefinition::Mean {
            event,
            filters,
            winsorize_percentile,
        } => {
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
            let cols = UnitColumns {
                x,
                d: zero.clone(),
                xp,
                dp: zero,
            };
            (cols, Missing::Excluded, *winsorize_percentile)
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
            (UnitColumns { x, d, xp, dp }, Missing::Zero, None)
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
            let cols = UnitColumns {
                x,
                d: zero.clone(),
                xp,
                dp: zero,
            };
            (cols, Missing::Zero, None)
        }
        MetricDefinition::Nps { .. } => unreachable!("NPS has its own query"),
    }
}

/// NPS: each responding unit's latest answer after exposure, scored +100 / 0 / −100.
fn nps_query(mut b: Builder, units: String, event: &str, q: &MetricQuery<'_>) -> Query {
    let name = b.name_is(event);
    let post = b.event_vs_exposure("e", ">=", 0.0);
    let upper = b.not_after("e.ts", q.as_of);
    let sql = format!(
        "WITH {units}, \
         answers AS (SELECT u.variant AS variant, e.value AS score, ROW_NUMBER() OVER \
           (PARTITION BY u.unit_id ORDER BY e.ts DESC, e.event_id DESC) AS rn \
           FROM u JOIN events e ON e.unit_id = u.unit_id AND {name} AND {post} AND {upper} \
           WHERE e.value IS NOT NULL), \
         pu AS (SELECT variant, CAST(CASE WHEN score >= 9 THEN 100 WHEN score >= 7 THEN 0 ELSE -100 END \
           AS DOUBLE PRECISION) AS x FROM answers WHERE rn = 1) \
         SELECT variant, COUNT(*) AS n, SUM(x) AS s_x, SUM(x * x) AS s_xx, \
         {none} AS s_d, {none} AS s_dd, {none} AS s_xd, {none} AS s_p, {none} AS s_pp, \
         {none} AS s_xp, {none} AS s_q, {none} AS s_qq, {none} AS s_pq, {none} AS s_xq, \
         {none} AS s_dp, {none} AS s_dq \
         FROM pu GROUP BY variant ORDER BY variant",
        none = double("NULL"),
    );
    Query {
        sql,
        params: b.params,
    }
}
