//! Funnel metrics' results: from the units of each arm by the number of steps
//! they reached, the metric's own sums (reached the last step: a conversion)
//! and, per step, the units reaching it and its conversion from the step
//! before, each tested against control as a ratio (delta method).

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use verdict_stats::{
    AnalysisRequest, ArmData, Comparison, ComponentType, DifferenceType, MetricSpec, MetricType,
};

use super::aggregate::ArmSums;
use crate::experiments::Experiment;
use crate::metrics_catalog::EventSelector;

/// Units of one arm that reached exactly `steps` steps.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct StepCount {
    /// Variant key.
    #[diesel(sql_type = Text)]
    pub variant: String,
    /// Steps reached (0 to the number of steps).
    #[diesel(sql_type = BigInt)]
    pub steps: i64,
    /// Units.
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// One arm on one funnel step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FunnelArm {
    /// Variant key.
    pub variant: String,
    /// Units that reached the step.
    pub units: u64,
    /// Share of the units that reached the step before (step 1: of the
    /// exposed units); `null` when none did.
    #[schema(required = true)]
    pub conversion: Option<f64>,
    /// `1 − conversion`.
    #[schema(required = true)]
    pub drop_off: Option<f64>,
}

/// One step of a funnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FunnelStep {
    /// The step's event.
    pub event: String,
    /// Per arm, control first.
    pub arms: Vec<FunnelArm>,
    /// Each treatment against control on the step's conversion from the step
    /// before (reached this step / reached the previous one, delta method),
    /// with the experiment's engine and Holm across arms. Diagnostic: the
    /// decision rests on the metric's own comparison.
    pub comparisons: Vec<Comparison>,
}

/// Units of `variant` that reached at least `step` steps (`step` 0: all).
fn reached(counts: &[StepCount], variant: &str, step: usize) -> u64 {
    counts
        .iter()
        .filter(|c| c.variant == variant && usize::try_from(c.steps).unwrap_or(0) >= step)
        .map(|c| u64::try_from(c.n).unwrap_or(0))
        .sum()
}

/// The funnel metric's per-arm sums: a unit's value is 1 when it reached
/// all `steps` steps.
pub fn sums(counts: &[StepCount], variants: &[String], steps: usize) -> Vec<ArmSums> {
    variants
        .iter()
        .map(|v| {
            let done = reached(counts, v, steps) as f64;
            let zero = Some(0.0);
            ArmSums {
                variant: v.clone(),
                n: i64::try_from(reached(counts, v, 0)).unwrap_or(i64::MAX),
                s_x: Some(done),
                s_xx: Some(done),
                s_d: zero,
                s_dd: zero,
                s_xd: zero,
                s_p: zero,
                s_pp: zero,
                s_xp: zero,
                s_q: zero,
                s_qq: zero,
                s_pq: zero,
                s_xq: zero,
                s_dp: zero,
                s_dq: zero,
            }
        })
        .collect()
}

/// Each step's units, conversion and comparisons.
pub fn steps(
    exp: &Experiment,
    steps: &[EventSelector],
    variants: &[String],
    counts: &[StepCount],
) -> Vec<FunnelStep> {
    let settings = &exp.definition.analysis;
    let spec = MetricSpec {
        metric_type: MetricType::Ratio,
        numerator: Some(ComponentType::Binomial),
        denominator: Some(ComponentType::Binomial),
        cuped: false,
        pre: None,
        inverse: false,
    };
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let j = i + 1;
            let arms: Vec<FunnelArm> = variants
                .iter()
                .map(|v| {
                    let (now, before) = (reached(counts, v, j), reached(counts, v, j - 1));
                    let conversion = (before > 0).then(|| now as f64 / before as f64);
                    FunnelArm {
                        variant: v.clone(),
                        units: now,
                        conversion,
                        drop_off: conversion.map(|c| 1.0 - c),
                    }
                })
                .collect();
            // Per unit: numerator = reached step j, denominator = reached
            // step j − 1; both 0/1 and the first implies the second, so
            // Σ num·den = Σ num.
            let data: Vec<ArmData> = variants
                .iter()
                .map(|v| {
                    let (now, before) = (
                        reached(counts, v, j) as f64,
                        reached(counts, v, j - 1) as f64,
                    );
                    ArmData {
                        name: v.clone(),
                        n: reached(counts, v, 0) as f64,
                        numerator_sum: Some(now),
                        numerator_sum_squares: Some(now),
                        denominator_sum: Some(before),
                        denominator_sum_squares: Some(before),
                        numerator_denominator_sum_product: Some(now),
                        ..ArmData::default()
                    }
                })
                .collect();
            let analysis = verdict_stats::analyze(&AnalysisRequest {
                metric: spec.clone(),
                engine: settings.engine.into(),
                difference: DifferenceType::Relative,
                alpha: settings.alpha,
                sequential_tuning: verdict_stats::DEFAULT_TUNING,
                prior: verdict_stats::Prior::default(),
                weights: None,
                arms: data,
            });
            FunnelStep {
                event: step.event.clone(),
                arms,
                comparisons: analysis.comparisons,
            }
        })
        .collect()
}
