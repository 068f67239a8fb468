//! Metric values per exposed unit: the exposure log joined with events.
//!
//! A unit's analysis window starts at its first exposure in the experiment
//! phase (`exposures.first_seen`) and ends at `as_of`; the CUPED pre-period is
//! the `pre_period_days` before that first exposure. Results code reads
//! [`unit_values`] and folds them into the statistics engine's per-arm
//! sufficient statistics with [`arm_data`] and [`metric_spec`].

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use serde_json::{Map, Value};
use verdict_stats::{ArmData, MetricSpec, MetricType};

use super::model::{EventSelector, Metric, MetricDefinition, PropertyFilter};
use crate::db::DbConnection;
use crate::db::schema::{events, exposures};
use crate::domain_error::DomainError;

/// One exposed unit's value of a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitValue {
    /// The unit.
    pub unit_id: String,
    /// The variant it was assigned in the phase.
    pub variant: String,
    /// Its first exposure in the phase (start of its analysis window).
    pub first_seen: NaiveDateTime,
    /// The value (a ratio metric's numerator).
    pub value: f64,
    /// A ratio metric's denominator.
    pub denominator: Option<f64>,
    /// The value over the pre-exposure period (CUPED covariate), when requested.
    pub pre_value: Option<f64>,
    /// A ratio metric's pre-period denominator, when requested.
    pub pre_denominator: Option<f64>,
}

struct Ev {
    name: String,
    ts: NaiveDateTime,
    value: Option<f64>,
    properties: Option<String>,
}

impl Ev {
    fn matches(&self, event: &str, filters: &[PropertyFilter]) -> bool {
        if self.name != event {
            return false;
        }
        if filters.is_empty() {
            return true;
        }
        let props: Map<String, Value> = self
            .properties
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or_default();
        filters.iter().all(|f| f.matches(&props))
    }

    fn selected(&self, s: &EventSelector) -> bool {
        self.matches(&s.event, &s.filters)
    }
}

/// `(value, denominator)` of one unit over `[start, end)`; `None` when the unit
/// has no value (mean without events, NPS without an answer, retention whose
/// window has not closed by `as_of`).
fn aggregate(
    def: &MetricDefinition,
    evs: &[&Ev],
    start: NaiveDateTime,
    end: NaiveDateTime,
    retention_anchor: Option<(NaiveDateTime, NaiveDateTime)>,
) -> Option<(f64, Option<f64>)> {
    let within = |e: &&&Ev, to: NaiveDateTime| e.ts >= start && e.ts < to;
    match def {
        MetricDefinition::Conversion {
            event,
            filters,
            window_hours,
        } => {
            let to = window_hours
                .map(|h| (start + TimeDelta::hours(i64::from(h))).min(end))
                .unwrap_or(end);
            let hit = evs
                .iter()
                .any(|e| within(&e, to) && e.matches(event, filters));
            Some((f64::from(u8::from(hit)), None))
        }
        MetricDefinition::Count { event, filters } => Some((
            evs.iter()
                .filter(|e| within(e, end) && e.matches(event, filters))
                .count() as f64,
            None,
        )),
        MetricDefinition::Sum { event, filters, .. } => Some((
            evs.iter()
                .filter(|e| within(e, end) && e.matches(event, filters))
                .filter_map(|e| e.value)
                .sum(),
            None,
        )),
        MetricDefinition::Mean { event, filters, .. } => {
            let values: Vec<f64> = evs
                .iter()
                .filter(|e| within(e, end) && e.matches(event, filters))
                .filter_map(|e| e.value)
                .collect();
            (!values.is_empty()).then(|| (values.iter().sum::<f64>() / values.len() as f64, None))
        }
        MetricDefinition::Ratio {
            numerator,
            denominator,
        } => {
            let total = |s: &EventSelector| -> f64 {
                evs.iter()
                    .filter(|e| within(e, end) && e.selected(s))
                    .map(|e| e.value.unwrap_or(1.0))
                    .sum()
            };
            Some((total(numerator), Some(total(denominator))))
        }
        MetricDefinition::Retention {
            events,
            from_day,
            to_day,
        } => {
            let (from, to) = match retention_anchor {
                Some((anchor, as_of)) => {
                    let to = anchor + TimeDelta::days(i64::from(*to_day));
                    if to > as_of {
                        return None;
                    }
                    (anchor + TimeDelta::days(i64::from(*from_day)), to)
                }
                None => (start, end),
            };
            let active = evs
                .iter()
                .any(|e| e.ts >= from && e.ts < to && events.contains(&e.name));
            Some((f64::from(u8::from(active)), None))
        }
        MetricDefinition::Nps { event } => evs
            .iter()
            .filter(|e| within(e, end) && e.name == *event)
            .filter_map(|e| {
                e.value
                    .filter(|v| (0.0..=10.0).contains(v))
                    .map(|v| (e.ts, v))
            })
            .max_by_key(|(ts, _)| *ts)
            .map(|(_, score)| {
                let points = if score >= 9.0 {
                    100.0
                } else if score >= 7.0 {
                    0.0
                } else {
                    -100.0
                };
                (points, None)
            }),
    }
}

/// Caps values at the `p`-th percentile (linear interpolation) of `values`.
fn winsorize(values: &mut [f64], p: f64) {
    if values.is_empty() {
        return;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let cap = sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64);
    for v in values.iter_mut() {
        *v = v.min(cap);
    }
}

/// The value of `metric` for every unit exposed to `experiment_key` in `phase`
/// up to `as_of`, from the unit's events in `[first_seen, as_of)`; with
/// `pre_period_days`, also over `[first_seen − days, first_seen)`. Units without
/// a value (see [`MetricDefinition`]) are left out. Winsorization, when the
/// metric asks for it, caps at the percentile over the returned units.
pub fn unit_values(
    conn: &mut DbConnection,
    experiment_key: &str,
    phase: u32,
    metric: &Metric,
    as_of: NaiveDateTime,
    pre_period_days: Option<u32>,
) -> Result<Vec<UnitValue>, DomainError> {
    let phase = i32::try_from(phase)
        .map_err(|_| DomainError::invalid("phase", "phase number out of range"))?;
    let exposed: Vec<(String, String, NaiveDateTime)> = exposures::table
        .filter(exposures::experiment_key.eq(experiment_key))
        .filter(exposures::phase.eq(phase))
        .filter(exposures::first_seen.le(as_of))
        .select((
            exposures::unit_id,
            exposures::variant,
            exposures::first_seen,
        ))
        .load(conn)?;
    let Some(earliest) = exposed.iter().map(|(_, _, t)| *t).min() else {
        return Ok(Vec::new());
    };
    let pre = pre_period_days.map(|d| TimeDelta::days(i64::from(d)));
    let names: Vec<String> = metric
        .definition
        .event_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let join = exposures::table.on(exposures::unit_id
        .eq(events::unit_id)
        .and(exposures::experiment_key.eq(experiment_key))
        .and(exposures::phase.eq(phase)));
    let columns = (
        events::unit_id,
        events::name,
        events::ts,
        events::value,
        events::properties,
    );
    let base = events::table
        .inner_join(join)
        .filter(events::name.eq_any(&names))
        .filter(events::ts.lt(as_of));
    type Row = (String, String, NaiveDateTime, Option<f64>, Option<String>);
    let rows: Vec<Row> = match pre {
        // Pre-period rows start before each unit's exposure: bound by the earliest.
        Some(pre) => base
            .filter(events::ts.ge(earliest - pre))
            .select(columns)
            .load(conn)?,
        None => base
            .filter(events::ts.ge(exposures::first_seen))
            .select(columns)
            .load(conn)?,
    };
    let mut by_unit: HashMap<String, Vec<Ev>> = HashMap::new();
    for (unit, name, ts, value, properties) in rows {
        by_unit.entry(unit).or_default().push(Ev {
            name,
            ts,
            value,
            properties,
        });
    }
    let def = &metric.definition;
    let mut out = Vec::with_capacity(exposed.len());
    for (unit_id, variant, first_seen) in exposed {
        let evs: Vec<&Ev> = by_unit
            .get(&unit_id)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        let Some((value, denominator)) =
            aggregate(def, &evs, first_seen, as_of, Some((first_seen, as_of)))
        else {
            continue;
        };
        let (pre_value, pre_denominator) = match pre {
            Some(pre) => match aggregate(def, &evs, first_seen - pre, first_seen, None) {
                Some((v, d)) => (Some(v), d),
                None => (Some(0.0), denominator.map(|_| 0.0)),
            },
            None => (None, None),
        };
        out.push(UnitValue {
            unit_id,
            variant,
            first_seen,
            value,
            denominator,
            pre_value,
            pre_denominator,
        });
    }
    if let MetricDefinition::Sum {
        winsorize_percentile: Some(p),
        ..
    }
    | MetricDefinition::Mean {
        winsorize_percentile: Some(p),
        ..
    } = def
    {
        let mut values: Vec<f64> = out.iter().map(|u| u.value).collect();
        winsorize(&mut values, *p);
        for (u, v) in out.iter_mut().zip(values) {
            u.value = v;
        }
        let mut pre_values: Vec<f64> = out.iter().filter_map(|u| u.pre_value).collect();
        if pre_values.len() == out.len() {
            winsorize(&mut pre_values, *p);
            for (u, v) in out.iter_mut().zip(pre_values) {
                u.pre_value = Some(v);
            }
        }
    }
    Ok(out)
}

/// The statistics engine's description of `metric` (CUPED when `cuped`).
pub fn metric_spec(metric: &Metric, cuped: bool) -> MetricSpec {
    let metric_type = match metric.definition {
        MetricDefinition::Conversion { .. } | MetricDefinition::Retention { .. } => {
            MetricType::Binomial
        }
        MetricDefinition::Ratio { .. } => MetricType::Ratio,
        _ => MetricType::Mean,
    };
    MetricSpec {
        metric_type,
        numerator: None,
        denominator: None,
        cuped,
        pre: None,
        inverse: metric.direction.inverse(),
    }
}

/// Per-arm sufficient statistics of `values`, one entry per variant of `arms`
/// in that order (arm 0 is the control). Sums of squares are accumulated in f64.
pub fn arm_data(values: &[UnitValue], arms: &[String]) -> Vec<ArmData> {
    arms.iter()
        .map(|arm| {
            let mut a = ArmData {
                name: arm.clone(),
                ..ArmData::default()
            };
            let add = |slot: &mut Option<f64>, x: f64| *slot = Some(slot.unwrap_or(0.0) + x);
            for u in values.iter().filter(|u| u.variant == *arm) {
                a.n += 1.0;
                let x = u.value;
                match u.denominator {
                    None => {
                        add(&mut a.sum, x);
                        add(&mut a.sum_squares, x * x);
                        if let Some(p) = u.pre_value {
                            add(&mut a.pre_sum, p);
                            add(&mut a.pre_sum_squares, p * p);
                            add(&mut a.post_pre_sum_product, x * p);
                        }
                    }
                    Some(d) => {
                        add(&mut a.numerator_sum, x);
                        add(&mut a.numerator_sum_squares, x * x);
                        add(&mut a.denominator_sum, d);
                        add(&mut a.denominator_sum_squares, d * d);
                        add(&mut a.numerator_denominator_sum_product, x * d);
                        if let (Some(mp), Some(dp)) = (u.pre_value, u.pre_denominator) {
                            add(&mut a.pre_numerator_sum, mp);
                            add(&mut a.pre_numerator_sum_squares, mp * mp);
                            add(&mut a.pre_denominator_sum, dp);
                            add(&mut a.pre_denominator_sum_squares, dp * dp);
                            add(&mut a.numerator_pre_numerator_sum_product, x * mp);
                            add(&mut a.denominator_pre_denominator_sum_product, d * dp);
                            add(&mut a.pre_numerator_pre_denominator_sum_product, mp * dp);
                            add(&mut a.numerator_pre_denominator_sum_product, x * dp);
                            add(&mut a.denominator_pre_numerator_sum_product, d * mp);
                        }
                    }
                }
            }
            a
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winsorize_caps_the_top() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        winsorize(&mut v, 99.0);
        assert!((v[99] - 99.01).abs() < 1e-9, "{}", v[99]);
        assert_eq!(v[0], 1.0);
    }
}
