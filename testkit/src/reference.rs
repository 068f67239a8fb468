//! Metric values per exposed unit computed in plain Rust over the stored rows,
//! following `verdict::metrics_catalog::semantics` term by term: the
//! independent reference the SQL aggregation (both backends, direct and
//! incremental) is checked against.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value};
use verdict::db::DbConnection;
use verdict::db::schema::{events, exposures};
use verdict::metrics_catalog::Metric;
use verdict::metrics_catalog::semantics::{Fold, Matcher, Recipe, Term, filters_match, nps_points};
use verdict_stats::ArmData;

/// One exposed unit's value of a metric.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitValue {
    /// The unit.
    pub unit_id: String,
    /// The variant it was assigned in the phase.
    pub variant: String,
    /// Its first exposure in the phase.
    pub first_seen: NaiveDateTime,
    /// The value (a ratio's numerator).
    pub value: f64,
    /// A ratio's denominator.
    pub denominator: Option<f64>,
    /// The CUPED pre-period value, when requested.
    pub pre_value: Option<f64>,
    /// A ratio's pre-period denominator, when requested.
    pub pre_denominator: Option<f64>,
}

/// A stored event as the reference reads it.
#[derive(Debug, Clone)]
pub struct Event {
    event_id: String,
    name: String,
    ts: NaiveDateTime,
    value: Option<f64>,
    properties: Map<String, Value>,
}

impl Event {
    fn matches(&self, m: &Matcher<'_>) -> bool {
        self.name == m.event && (m.filters.is_empty() || filters_match(m.filters, &self.properties))
    }
}

/// Seconds from `t0` to `t`, to the millisecond (what both backends resolve).
fn offset(t0: NaiveDateTime, t: NaiveDateTime) -> f64 {
    (t - t0).num_milliseconds() as f64 / 1000.0
}

/// A term folded over a unit's events (`None`: a mean without values).
fn fold(term: &Term<'_>, t0: NaiveDateTime, evs: &[Event]) -> Option<f64> {
    let hits: Vec<&Event> = evs
        .iter()
        .filter(|e| term.period.contains(offset(t0, e.ts)))
        .filter(|e| term.events.iter().any(|m| e.matches(m)))
        .collect();
    let v = match term.fold {
        Fold::Any => f64::from(u8::from(!hits.is_empty())),
        Fold::Count => hits.len() as f64,
        Fold::Sum { missing } => hits.iter().map(|e| e.value.unwrap_or(missing)).sum(),
        Fold::Mean => {
            let values: Vec<f64> = hits.iter().filter_map(|e| e.value).collect();
            if values.is_empty() {
                return None;
            }
            values.iter().sum::<f64>() / values.len() as f64
        }
    };
    Some(term.sign * v)
}

/// Terms summed; `None` when a term has no value.
fn sum(terms: &[Term<'_>], t0: NaiveDateTime, evs: &[Event]) -> Option<f64> {
    terms.iter().map(|t| fold(t, t0, evs)).sum()
}

/// How many funnel steps a unit reached: step 1 at the earliest matching
/// event with `0 ≤ dt ≤ window`, step j at the earliest one at or after
/// step j − 1 with `dt ≤ window`.
pub fn steps_reached(
    steps: &[Matcher<'_>],
    window: f64,
    t0: NaiveDateTime,
    evs: &[impl AsEvent],
) -> usize {
    let mut since = t0;
    for (j, step) in steps.iter().enumerate() {
        let reached = evs
            .iter()
            .map(AsEvent::event)
            .filter(|e| e.ts >= since && offset(t0, e.ts) <= window && e.matches(step))
            .map(|e| e.ts)
            .min();
        match reached {
            Some(t) => since = t,
            None => return j,
        }
    }
    steps.len()
}

/// Access to a stored event for [`steps_reached`].
pub trait AsEvent {
    /// The event.
    fn event(&self) -> &Event;
}

impl AsEvent for Event {
    fn event(&self) -> &Event {
        self
    }
}

/// `percentile_disc`: the smallest value whose cumulative share reaches `p` %.
fn percentile_disc(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let k = (p / 100.0 * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(k - 1).copied()
}

/// Exposed units of the phase (first exposure up to `as_of`) and, by unit,
/// their events of the metric's names dated up to `as_of`.
#[allow(clippy::type_complexity)]
fn load(
    conn: &mut DbConnection,
    experiment_key: &str,
    phase: u32,
    metric: &Metric,
    as_of: NaiveDateTime,
) -> (
    Vec<(String, String, NaiveDateTime)>,
    HashMap<String, Vec<Event>>,
) {
    let phase = i32::try_from(phase).expect("phase");
    let exposed: Vec<(String, String, NaiveDateTime)> = exposures::table
        .filter(exposures::experiment_key.eq(experiment_key))
        .filter(exposures::phase.eq(phase))
        .filter(exposures::first_seen.le(as_of))
        .select((
            exposures::unit_id,
            exposures::variant,
            exposures::first_seen,
        ))
        .load(conn)
        .expect("exposures");
    let names: Vec<String> = metric
        .definition
        .event_names()
        .into_iter()
        .map(str::to_owned)
        .collect();
    type Row = (
        String,
        String,
        String,
        NaiveDateTime,
        Option<f64>,
        Option<String>,
    );
    let rows: Vec<Row> = events::table
        .filter(events::name.eq_any(&names))
        .filter(events::ts.le(as_of))
        .select((
            events::event_id,
            events::unit_id,
            events::name,
            events::ts,
            events::value,
            events::properties,
        ))
        .load(conn)
        .expect("events");
    let mut by_unit: HashMap<String, Vec<Event>> = HashMap::new();
    for (event_id, unit, name, ts, value, properties) in rows {
        let properties = properties
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or_default();
        by_unit.entry(unit).or_default().push(Event {
            event_id,
            name,
            ts,
            value,
            properties,
        });
    }
    (exposed, by_unit)
}

/// The value of `metric` for every unit exposed to `experiment_key` in `phase`
/// up to `as_of`, from its events dated up to `as_of`; with
/// `pre_period_days`, also the CUPED pre-period values. Units the semantics
/// leave out (no value, window not ended) are absent.
pub fn unit_values(
    conn: &mut DbConnection,
    experiment_key: &str,
    phase: u32,
    metric: &Metric,
    as_of: NaiveDateTime,
    pre_period_days: Option<u32>,
) -> Vec<UnitValue> {
    unit_values_of(
        conn,
        experiment_key,
        phase,
        metric,
        as_of,
        pre_period_days,
        |_| true,
    )
}

/// [`unit_values`] over only the exposed units `keep` accepts (by unit id), as
/// if they were the experiment's only units (winsorization included).
pub fn unit_values_of(
    conn: &mut DbConnection,
    experiment_key: &str,
    phase: u32,
    metric: &Metric,
    as_of: NaiveDateTime,
    pre_period_days: Option<u32>,
    keep: impl Fn(&str) -> bool,
) -> Vec<UnitValue> {
    let (mut exposed, by_unit) = load(conn, experiment_key, phase, metric, as_of);
    exposed.retain(|(unit, _, _)| keep(unit));
    let semantics = metric
        .definition
        .semantics(pre_period_days.map(|d| f64::from(d) * 86_400.0));
    let mut out = Vec::new();
    for (unit_id, variant, t0) in exposed {
        if let Some(secs) = semantics.matures_after
            && offset(t0, as_of) < secs
        {
            continue;
        }
        let evs = by_unit.get(&unit_id).map(Vec::as_slice).unwrap_or_default();
        let (value, denominator, pre_value, pre_denominator) = match &semantics.recipe {
            Recipe::Terms {
                value,
                denominator,
                pre_value,
                pre_denominator,
            } => {
                let Some(v) = sum(value, t0, evs) else {
                    continue;
                };
                let pre = |terms: &Option<Vec<Term<'_>>>| {
                    terms.as_ref().map(|t| sum(t, t0, evs).unwrap_or(0.0))
                };
                (
                    v,
                    denominator.as_ref().map(|d| sum(d, t0, evs).unwrap_or(0.0)),
                    pre(pre_value),
                    pre(pre_denominator),
                )
            }
            Recipe::Sequence { steps, window } => {
                let reached = steps_reached(steps, *window, t0, evs);
                (
                    f64::from(u8::from(reached == steps.len())),
                    None,
                    None,
                    None,
                )
            }
            Recipe::LatestScore { event } => {
                let latest = evs
                    .iter()
                    .filter(|e| e.name == *event && e.value.is_some() && offset(t0, e.ts) >= 0.0)
                    .max_by(|a, b| (a.ts, &a.event_id).cmp(&(b.ts, &b.event_id)));
                let Some(score) = latest.and_then(|e| e.value) else {
                    continue;
                };
                (nps_points(score), None, None, None)
            }
        };
        out.push(UnitValue {
            unit_id,
            variant,
            first_seen: t0,
            value,
            denominator,
            pre_value,
            pre_denominator,
        });
    }
    if let Some(p) = semantics.winsorize_percentile {
        let values: Vec<f64> = out.iter().map(|u| u.value).collect();
        if let Some(cap) = percentile_disc(&values, p) {
            for u in &mut out {
                u.value = u.value.min(cap);
            }
        }
    }
    out
}

/// Per exposed unit of `experiment_key`'s `phase` up to `as_of`: its variant
/// and how many steps of funnel `metric` it reached.
pub fn funnel_units(
    conn: &mut DbConnection,
    experiment_key: &str,
    phase: u32,
    metric: &Metric,
    as_of: NaiveDateTime,
) -> Vec<(String, String, usize)> {
    let semantics = metric.definition.semantics(None);
    let Recipe::Sequence { steps, window } = &semantics.recipe else {
        panic!("not a funnel: {:?}", metric.definition);
    };
    let (exposed, by_unit) = load(conn, experiment_key, phase, metric, as_of);
    exposed
        .into_iter()
        .map(|(unit, variant, t0)| {
            let evs = by_unit.get(&unit).map(Vec::as_slice).unwrap_or_default();
            let reached = steps_reached(steps, *window, t0, evs);
            (unit, variant, reached)
        })
        .collect()
}

/// Per-arm sufficient statistics of `values`, one entry per variant of `arms`
/// in that order (arm 0 is the control).
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
    fn percentile_disc_takes_the_value_at_the_ceiling_position() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile_disc(&v, 99.0), Some(99.0));
        assert_eq!(percentile_disc(&v, 99.5), Some(100.0));
        assert_eq!(percentile_disc(&[5.0], 1.0), Some(5.0));
        assert_eq!(percentile_disc(&[], 50.0), None);
    }
}
