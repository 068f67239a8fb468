//! Experiment results as a page shows them (the experiment page and a
//! decision's frozen copy alike): formatted cells, charts, and the words for
//! verdicts.

use verdict_stats::{Comparison, GuardrailVerdict};

use super::charts::{self, Interval, Series};
use super::format::{self, Cell};
use crate::metrics_catalog::Direction;
use crate::results::{ExperimentResults, MetricCorrection, MetricResult, MetricRole};

/// One arm's exposures.
#[derive(Debug, Clone)]
pub struct ArmRow {
    /// Variant key.
    pub variant: String,
    /// Planned weight.
    pub weight: String,
    /// Exposed units.
    pub units: Cell,
}

/// One treatment against control on one metric.
#[derive(Debug, Clone)]
pub struct ComparisonRow {
    /// Treatment variant.
    pub arm: String,
    /// Control mean.
    pub baseline: Cell,
    /// Treatment mean.
    pub treatment: Cell,
    /// Relative lift.
    pub lift: Cell,
    /// Interval lower bound.
    pub lower: Cell,
    /// Interval upper bound.
    pub upper: Cell,
    /// Raw p-value.
    pub p_value: Cell,
    /// p-value after every correction.
    pub p_adjusted: Cell,
    /// `better`, `worse` or `no significant difference`.
    pub verdict: &'static str,
}

/// A funnel step for one arm.
#[derive(Debug, Clone)]
pub struct StepCell {
    /// Units that reached the step.
    pub units: Cell,
    /// Share of exposed units that reached it.
    pub share: Cell,
    /// Conversion from the step before.
    pub conversion: Cell,
    /// Drop-off from the step before.
    pub drop_off: Cell,
}

/// A funnel step across arms.
#[derive(Debug, Clone)]
pub struct StepRow {
    /// Position (1-based).
    pub number: usize,
    /// The step's event.
    pub event: String,
    /// Per arm, control first.
    pub arms: Vec<StepCell>,
}

/// A funnel metric's steps.
#[derive(Debug, Clone)]
pub struct FunnelView {
    /// Arm names, control first.
    pub arms: Vec<String>,
    /// The steps.
    pub steps: Vec<StepRow>,
    /// Step chart.
    pub svg: String,
}

/// A metric's results.
#[derive(Debug, Clone)]
pub struct MetricView {
    /// Catalogue key.
    pub key: String,
    /// Display name.
    pub name: String,
    /// `primary`, `secondary` or `guardrail`.
    pub role: String,
    /// Kind.
    pub kind: String,
    /// `higher is better` or `lower is better`.
    pub direction: String,
    /// CUPED applied.
    pub cuped: bool,
    /// Why it could not be analysed.
    pub error: Option<String>,
    /// Treatments against control.
    pub comparisons: Vec<ComparisonRow>,
    /// Forest plot of the lifts.
    pub forest: String,
    /// Steps, for a funnel.
    pub funnel: Option<FunnelView>,
}

/// A guardrail verdict for one treatment.
#[derive(Debug, Clone)]
pub struct GuardrailRow {
    /// Metric key.
    pub metric: String,
    /// Treatment.
    pub variant: String,
    /// `pass`, `fail`, `inconclusive` or `not evaluated`.
    pub verdict: String,
    /// The tolerated degradation, in words.
    pub margin: String,
    /// Estimated change.
    pub estimate: Cell,
    /// The bound tested against the margin.
    pub bound: Cell,
    /// p-value of the non-inferiority test.
    pub p_value: Cell,
    /// Why it could not be evaluated.
    pub error: Option<String>,
}

/// One value of a breakdown dimension.
#[derive(Debug, Clone)]
pub struct SliceView {
    /// The dimension's value.
    pub value: String,
    /// Exposures per arm.
    pub arms: Vec<ArmRow>,
    /// SRM within the slice is fine.
    pub trustworthy: bool,
    /// SRM message.
    pub srm: String,
    /// Per metric and treatment: metric key, comparison.
    pub comparisons: Vec<(String, ComparisonRow)>,
}

/// Results as shown.
#[derive(Debug, Clone)]
pub struct ResultsView {
    /// Engine name.
    pub engine: String,
    /// Significance level.
    pub alpha: String,
    /// Correction across metrics.
    pub correction: String,
    /// Data up to.
    pub as_of: String,
    /// Computed at.
    pub computed_at: String,
    /// `scheduled`, `manual` or `historical`.
    pub source: String,
    /// Exposures per arm.
    pub arms: Vec<ArmRow>,
    /// Whether the sample ratio matches the plan.
    pub trustworthy: bool,
    /// The SRM explanation.
    pub srm_message: String,
    /// Metrics, primary first.
    pub metrics: Vec<MetricView>,
    /// Guardrail verdicts.
    pub guardrails: Vec<GuardrailRow>,
    /// Sample-size forecast, in words, with its numbers.
    pub forecast: Option<ForecastView>,
    /// `ship`, `roll back`, `keep running` or `inconclusive`.
    pub action: String,
    /// Wire name of the action (for styling and tests).
    pub action_key: String,
    /// The variant singled out.
    pub action_variant: Option<String>,
    /// Why.
    pub reasons: Vec<String>,
    /// Breakdown slices, when a dimension was asked for.
    pub slices: Vec<SliceView>,
}

/// The forecast.
#[derive(Debug, Clone)]
pub struct ForecastView {
    /// Planned MDE.
    pub mde: Cell,
    /// Units needed per arm.
    pub n_per_arm: Cell,
    /// Observed units per day.
    pub units_per_day: Cell,
    /// Days to reach the sample.
    pub days: Cell,
    /// Predicted date.
    pub date: String,
}

fn comparison(c: &Comparison) -> ComparisonRow {
    let verdict = match (c.significant, c.improved) {
        (true, true) => "better",
        (true, false) => "worse",
        _ => "no significant difference",
    };
    ComparisonRow {
        arm: c.arm.clone(),
        baseline: Cell::of(c.baseline, format::measure),
        treatment: Cell::of(c.treatment_mean, format::measure),
        lift: Cell::of(c.estimate, format::signed_percent),
        lower: Cell::of(c.ci_lower, format::signed_percent),
        upper: Cell::of(c.ci_upper, format::signed_percent),
        p_value: Cell::of(c.p_value, format::p_value),
        p_adjusted: Cell::of(c.p_value_adjusted, format::p_value),
        verdict,
    }
}

fn good(c: &Comparison, direction: Direction) -> Option<bool> {
    let (lo, hi) = (c.ci_lower?, c.ci_upper?);
    let better = match direction {
        Direction::HigherIsBetter => lo > 0.0,
        Direction::LowerIsBetter => hi < 0.0,
    };
    let worse = match direction {
        Direction::HigherIsBetter => hi < 0.0,
        Direction::LowerIsBetter => lo > 0.0,
    };
    if better {
        Some(true)
    } else if worse {
        Some(false)
    } else {
        None
    }
}

fn funnel(m: &MetricResult, exposed: &[(String, u64)]) -> Option<FunnelView> {
    let steps = m.steps.as_ref()?;
    let arms: Vec<String> = exposed.iter().map(|(v, _)| v.clone()).collect();
    let rows: Vec<StepRow> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| StepRow {
            number: i + 1,
            event: s.event.clone(),
            arms: arms
                .iter()
                .map(|variant| {
                    let arm = s.arms.iter().find(|a| &a.variant == variant);
                    let n = exposed
                        .iter()
                        .find(|(v, _)| v == variant)
                        .map_or(0, |(_, n)| *n);
                    let units = arm.map_or(0, |a| a.units);
                    StepCell {
                        units: Cell::count(units),
                        share: Cell::of((n > 0).then(|| units as f64 / n as f64), format::percent),
                        conversion: Cell::of(arm.and_then(|a| a.conversion), format::percent),
                        drop_off: Cell::of(arm.and_then(|a| a.drop_off), format::percent),
                    }
                })
                .collect(),
        })
        .collect();
    let series: Vec<Series> = arms
        .iter()
        .enumerate()
        .map(|(a, variant)| Series {
            label: variant.clone(),
            points: rows
                .iter()
                .enumerate()
                .map(|(i, r)| (i as f64, r.arms[a].share.value.parse().unwrap_or(0.0)))
                .collect(),
        })
        .collect();
    let events: Vec<String> = rows.iter().map(|r| r.event.clone()).collect();
    let svg = charts::funnel(
        &events,
        &series,
        &format!(
            "Funnel of {}: share of exposed units reaching each step, per arm",
            m.name
        ),
    );
    Some(FunnelView {
        arms,
        steps: rows,
        svg,
    })
}

fn metric(m: &MetricResult, exposed: &[(String, u64)], alpha: f64, engine: &str) -> MetricView {
    let intervals: Vec<Interval> = m
        .comparisons
        .iter()
        .filter_map(|c| {
            Some(Interval {
                label: c.arm.clone(),
                estimate: c.estimate?,
                lower: c.ci_lower?,
                upper: c.ci_upper?,
                good: good(c, m.direction),
            })
        })
        .collect();
    let forest = if intervals.is_empty() {
        String::new()
    } else {
        charts::forest(
            &intervals,
            &format!(
                "Lift of {} per treatment with its {}% interval ({engine})",
                m.name,
                format::measure((1.0 - alpha) * 100.0)
            ),
        )
    };
    MetricView {
        key: m.metric.clone(),
        name: m.name.clone(),
        role: format::label(&m.role),
        kind: m.kind.clone(),
        direction: format::label(&m.direction),
        cuped: m.cuped,
        error: m.error.clone(),
        comparisons: m.comparisons.iter().map(comparison).collect(),
        forest,
        funnel: funnel(m, exposed),
    }
}

fn arm_rows(arms: &[crate::results::ArmExposure]) -> Vec<ArmRow> {
    arms.iter()
        .map(|a| ArmRow {
            variant: a.variant.clone(),
            weight: format!("{}%", format::measure(a.weight)),
            units: Cell::count(a.units),
        })
        .collect()
}

fn role_order(role: MetricRole) -> u8 {
    match role {
        MetricRole::Primary => 0,
        MetricRole::Guardrail => 1,
        _ => 2,
    }
}

/// The page's view of `r`.
pub fn view(r: &ExperimentResults) -> ResultsView {
    let engine = format::label(&r.engine);
    let exposed: Vec<(String, u64)> = r
        .arms
        .iter()
        .map(|a| (a.variant.clone(), a.units))
        .collect();
    let mut metrics: Vec<&MetricResult> = r.metrics.iter().collect();
    metrics.sort_by_key(|m| role_order(m.role));
    let slices = r
        .breakdowns
        .iter()
        .flat_map(|b| &b.slices)
        .map(|s| SliceView {
            value: s.value.clone(),
            arms: arm_rows(&s.arms),
            trustworthy: s.srm.trustworthy,
            srm: s.srm.message.clone(),
            comparisons: s
                .metrics
                .iter()
                .flat_map(|m| {
                    m.comparisons
                        .iter()
                        .map(|c| (m.metric.clone(), comparison(c)))
                })
                .collect(),
        })
        .collect();
    ResultsView {
        engine: engine.clone(),
        alpha: format::measure(r.alpha),
        correction: match r.metric_correction {
            MetricCorrection::BenjaminiHochberg => "Benjamini–Hochberg",
            MetricCorrection::None => "no correction",
        }
        .to_owned(),
        as_of: r.as_of.format("%Y-%m-%d %H:%M UTC").to_string(),
        computed_at: r.computed_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        source: format::label(&r.source),
        arms: arm_rows(&r.arms),
        trustworthy: r.srm.trustworthy,
        srm_message: r.srm.message.clone(),
        metrics: metrics
            .into_iter()
            .map(|m| metric(m, &exposed, r.alpha, &engine))
            .collect(),
        guardrails: r
            .guardrails
            .iter()
            .map(|g| GuardrailRow {
                metric: g.metric.clone(),
                variant: g.variant.clone(),
                verdict: g.verdict.map_or_else(
                    || "not evaluated".to_owned(),
                    |v: GuardrailVerdict| format::label(&v),
                ),
                margin: match g.margin_type {
                    crate::experiments::MarginType::Absolute => {
                        format!(
                            "at most {} worse (absolute)",
                            format::measure(g.max_degradation)
                        )
                    }
                    crate::experiments::MarginType::Relative => {
                        format!(
                            "at most {} worse (relative)",
                            format::percent(g.max_degradation)
                        )
                    }
                },
                estimate: Cell::of(g.estimate, format::measure),
                bound: Cell::of(g.bound, format::measure),
                p_value: Cell::of(g.p_value, format::p_value),
                error: g.error.clone(),
            })
            .collect(),
        forecast: r.forecast.as_ref().map(|f| ForecastView {
            mde: Cell::of(Some(f.minimum_detectable_effect), format::percent),
            n_per_arm: Cell::count(f.n_per_arm),
            units_per_day: Cell::of(Some(f.units_per_day), format::measure),
            days: Cell::count(f.days_to_reach),
            date: f.predicted_date.format("%Y-%m-%d").to_string(),
        }),
        action: format::label(&r.recommendation.action),
        action_key: format::wire_name(&r.recommendation.action),
        action_variant: r.recommendation.variant.clone(),
        reasons: r.recommendation.reasons.clone(),
        slices,
    }
}
