//! Results broken down by a dimension recorded with each unit's first
//! exposure (`icp_segment`, `tier`, …): per value, the exposures per arm with
//! their SRM check and every metric's comparisons, each slice analysed exactly
//! as the whole experiment would be on that slice's units alone. Slices are
//! exploratory: their p-values are adjusted together across every slice ×
//! metric × arm test (Benjamini–Hochberg).

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::aggregate::load;
use super::analysis::{
    ArmExposure, MetricResult, ResultsError, RoleMetric, SnapshotSource, Source, SrmCheck,
    Warehouses, assemble, metric_inputs,
};
use super::sql::{Slice, SliceValue, dimension_counts};
use super::state::dialect;
use crate::db::DbConnection;
use crate::experiments::{Experiment, Phase};

/// Most values shown on their own; the rest are pooled as [`OTHER`].
pub const MAX_SLICES: usize = 20;

/// The slice of units recorded without the dimension.
pub const NONE: &str = "(none)";

/// The slice of the values beyond the [`MAX_SLICES`] largest.
pub const OTHER: &str = "(other)";

/// One value of a dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SliceResult {
    /// The value, `(none)` for units recorded without it, or `(other)` for
    /// the values beyond the 20 largest.
    pub value: String,
    /// Exposed units per arm, control first.
    pub arms: Vec<ArmExposure>,
    /// Sample ratio check within the slice.
    pub srm: SrmCheck,
    /// Every metric on the slice's units; `p_value_adjusted` and
    /// `significant` are adjusted across all slices (see [`Breakdown`]).
    pub metrics: Vec<MetricResult>,
}

/// Results by the values of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Breakdown {
    /// The dimension (a context attribute).
    pub dimension: String,
    /// Always true: slices are not what the experiment was powered for, so
    /// they suggest follow-ups rather than decide. Their p-values are
    /// Benjamini–Hochberg adjusted across every slice × metric × arm test.
    pub exploratory: bool,
    /// Largest slice first; `(none)` and `(other)` last.
    pub slices: Vec<SliceResult>,
}

#[derive(QueryableByName)]
struct DimensionCount {
    #[diesel(sql_type = Nullable<Text>)]
    value: Option<String>,
    #[diesel(sql_type = Text)]
    variant: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// What the breakdown is of: the experiment phase and the data the whole
/// results were computed from.
pub(super) struct Scope<'a> {
    pub exp: &'a Experiment,
    pub phase: &'a Phase,
    pub metrics: &'a [RoleMetric],
    pub source: Source,
    pub as_of: chrono::NaiveDateTime,
    pub stamped_before: Option<chrono::NaiveDateTime>,
    pub made_by: SnapshotSource,
}

/// The breakdown of the scope's results by `dimension`.
pub(super) fn compute(
    conn: &mut DbConnection,
    warehouses: &mut Warehouses,
    scope: &Scope<'_>,
    dimension: &str,
) -> Result<Breakdown, ResultsError> {
    let counts: Vec<DimensionCount> = load(
        conn,
        &dimension_counts(
            dialect(conn),
            &scope.exp.key,
            scope.phase.number,
            dimension,
            scope.as_of,
            scope.stamped_before,
        ),
    )?;
    let mut totals: Vec<(String, i64)> = Vec::new();
    for c in counts.iter().filter(|c| c.value.is_some()) {
        let value = c.value.clone().unwrap_or_default();
        match totals.iter_mut().find(|(v, _)| *v == value) {
            Some((_, n)) => *n += c.n,
            None => totals.push((value, c.n)),
        }
    }
    totals.sort_by(|(va, a), (vb, b)| b.cmp(a).then_with(|| va.cmp(vb)));
    let shown: Vec<String> = totals
        .iter()
        .take(MAX_SLICES)
        .map(|(v, _)| v.clone())
        .collect();
    let mut slices: Vec<(String, SliceValue<'_>)> = shown
        .iter()
        .map(|v| (v.clone(), SliceValue::Is(v)))
        .collect();
    if counts.iter().any(|c| c.value.is_none()) {
        slices.push((NONE.to_owned(), SliceValue::Missing));
    }
    if totals.len() > MAX_SLICES {
        slices.push((OTHER.to_owned(), SliceValue::Other(&shown)));
    }
    let mut results = Vec::with_capacity(slices.len());
    for (label, value) in slices {
        let in_slice = |c: &&DimensionCount| match value {
            SliceValue::Is(v) => c.value.as_deref() == Some(v),
            SliceValue::Missing => c.value.is_none(),
            SliceValue::Other(known) => c.value.as_ref().is_some_and(|v| !known.contains(v)),
        };
        let arms: Vec<ArmExposure> = scope
            .phase
            .arms
            .iter()
            .map(|arm| ArmExposure {
                variant: arm.variant.clone(),
                weight: arm.weight,
                units: counts
                    .iter()
                    .filter(in_slice)
                    .filter(|c| c.variant == arm.variant)
                    .map(|c| u64::try_from(c.n).unwrap_or(0))
                    .sum(),
            })
            .collect();
        let slice = Slice { dimension, value };
        let inputs = metric_inputs(
            conn,
            warehouses,
            scope.exp,
            scope.phase,
            scope.metrics,
            scope.source,
            scope.as_of,
            &arms,
            Some(slice),
        )?;
        let r = assemble(
            scope.exp,
            scope.phase.number,
            arms,
            None,
            inputs,
            scope.as_of,
            scope.made_by,
        );
        results.push(SliceResult {
            value: label,
            arms: r.arms,
            srm: r.srm,
            metrics: r.metrics,
        });
    }
    adjust_across_slices(scope.exp, &mut results);
    Ok(Breakdown {
        dimension: dimension.to_owned(),
        exploratory: true,
        slices: results,
    })
}

/// Benjamini–Hochberg over the Holm-adjusted p-values of every comparison of
/// every metric in every slice; significance from the result.
fn adjust_across_slices(exp: &Experiment, slices: &mut [SliceResult]) {
    let settings = &exp.definition.analysis;
    let raw: Vec<f64> = slices
        .iter()
        .flat_map(|s| &s.metrics)
        .flat_map(|m| &m.comparisons)
        .filter_map(|c| c.p_value_holm)
        .collect();
    let adjusted = verdict_stats::benjamini_hochberg(&raw).unwrap_or_default();
    let mut next = adjusted.into_iter();
    for m in slices.iter_mut().flat_map(|s| &mut s.metrics) {
        let inverse = m.direction.inverse();
        for c in &mut m.comparisons {
            if c.p_value_holm.is_some() {
                c.p_value_adjusted = next.next();
            }
            let p = c.p_value_adjusted;
            c.judge(settings.engine.into(), settings.alpha, inverse, p);
        }
    }
}
