//! Per-arm moments from sufficient statistics (binomial, mean, ratio via the delta method).
//!
//! Formulas follow gbstats 0.8.0 (`ProportionStatistic`, `SampleMeanStatistic`,
//! `RatioStatistic`): binomial variance `p(1 − p)`, sample variance and every
//! covariance with `n − 1`.

use crate::error::{Result, StatsError};
use crate::types::{ArmData, ComponentType, MetricSpec, MetricType};
use serde::{Deserialize, Serialize};

/// Summary of one arm that every engine consumes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ArmStatistic {
    /// Number of units.
    pub n: f64,
    /// Point estimate of the arm mean (CUPED-adjusted when applicable).
    pub mean: f64,
    /// Mean without regression adjustment (the relative-lift denominator).
    pub unadjusted_mean: f64,
    /// Per-unit variance of `mean` (multiply by `1/n` for the variance of the mean).
    pub variance: f64,
}

/// One summed quantity (`Σx`, `Σx²`) over `n` units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Component {
    pub n: f64,
    pub sum: f64,
    pub sum_squares: f64,
    pub kind: ComponentType,
}

impl Component {
    /// `Σx / n` (0 when `n = 0`).
    pub fn mean(&self) -> f64 {
        if self.n == 0.0 {
            0.0
        } else {
            self.sum / self.n
        }
    }

    /// Per-unit variance: `p(1 − p)` for binomial, `(Σx² − (Σx)²/n)/(n − 1)` for mean.
    pub fn variance(&self) -> f64 {
        match self.kind {
            ComponentType::Binomial => {
                let p = self.mean();
                p * (1.0 - p)
            }
            ComponentType::Mean => {
                if self.n <= 1.0 {
                    0.0
                } else {
                    (self.sum_squares - self.sum * self.sum / self.n) / (self.n - 1.0)
                }
            }
        }
    }

    /// Pools two arms' components (gbstats' `create_joint_statistic`).
    pub fn join(&self, other: &Component) -> Component {
        Component {
            n: self.n + other.n,
            sum: self.sum + other.sum,
            sum_squares: self.sum_squares + other.sum_squares,
            kind: self.kind,
        }
    }
}

/// Sample covariance `(Σxy − ΣxΣy/n)/(n − 1)` (0 when `n ≤ 1`).
pub(crate) fn covariance(n: f64, sum_x: f64, sum_y: f64, sum_xy: f64) -> f64 {
    if n <= 1.0 {
        0.0
    } else {
        (sum_xy - sum_x * sum_y / n) / (n - 1.0)
    }
}

/// Field names of the statistics the engine reads, as (sum, sum of squares)
/// pairs or cross products. Every lookup below uses these names, and
/// [`required_statistics`] lists them from the same constants, so request
/// validation cannot drift from what the engine reads.
pub(crate) const POST: (&str, &str) = ("sum", "sum_squares");
/// CUPED covariate of a binomial / mean metric.
pub(crate) const PRE: (&str, &str) = ("pre_sum", "pre_sum_squares");
/// Σ x·x_pre.
pub(crate) const POST_PRE: &str = "post_pre_sum_product";
/// Ratio numerator.
pub(crate) const NUMERATOR: (&str, &str) = ("numerator_sum", "numerator_sum_squares");
/// Ratio denominator.
pub(crate) const DENOMINATOR: (&str, &str) = ("denominator_sum", "denominator_sum_squares");
/// Σ m·d.
pub(crate) const NUMERATOR_DENOMINATOR: &str = "numerator_denominator_sum_product";
/// CUPED ratio: pre-period numerator.
pub(crate) const PRE_NUMERATOR: (&str, &str) = ("pre_numerator_sum", "pre_numerator_sum_squares");
/// CUPED ratio: pre-period denominator.
pub(crate) const PRE_DENOMINATOR: (&str, &str) =
    ("pre_denominator_sum", "pre_denominator_sum_squares");
/// CUPED ratio cross products: m·m_pre, d·d_pre, m_pre·d_pre, m·d_pre, d·m_pre.
pub(crate) const RATIO_CROSS: [&str; 5] = [
    "numerator_pre_numerator_sum_product",
    "denominator_pre_denominator_sum_product",
    "pre_numerator_pre_denominator_sum_product",
    "numerator_pre_denominator_sum_product",
    "denominator_pre_numerator_sum_product",
];

/// A statistic a metric needs from every arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A finite value.
    Value(&'static str),
    /// A binomial count: a value in `[0, n]`.
    Count(&'static str),
}

impl Requirement {
    /// The field name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Value(name) | Self::Count(name) => name,
        }
    }
}

fn require(
    out: &mut Vec<Requirement>,
    kind: ComponentType,
    (sum, squares): (&'static str, &'static str),
) {
    match kind {
        ComponentType::Binomial => out.push(Requirement::Count(sum)),
        ComponentType::Mean => out.extend([Requirement::Value(sum), Requirement::Value(squares)]),
    }
}

/// The statistics the engine reads from every arm for `metric`: exactly the
/// fields [`pair_statistics`] looks up (tested).
pub fn required_statistics(metric: &MetricSpec) -> Vec<Requirement> {
    let mut out = Vec::new();
    match metric.metric_type {
        MetricType::Binomial | MetricType::Mean => {
            require(&mut out, metric.post_type(), POST);
            if metric.cuped {
                require(&mut out, metric.pre_type(), PRE);
                out.push(Requirement::Value(POST_PRE));
            }
        }
        MetricType::Ratio => {
            require(&mut out, metric.numerator_type(), NUMERATOR);
            require(&mut out, metric.denominator_type(), DENOMINATOR);
            out.push(Requirement::Value(NUMERATOR_DENOMINATOR));
            if metric.cuped {
                require(&mut out, metric.pre_type(), PRE_NUMERATOR);
                require(&mut out, metric.denominator_type(), PRE_DENOMINATOR);
                out.extend(RATIO_CROSS.map(Requirement::Value));
            }
        }
    }
    out
}

/// Reads a required, finite statistic by its field name.
pub(crate) fn field(arm: &ArmData, name: &'static str) -> Result<f64> {
    let v = arm
        .statistic(name)
        .ok_or_else(|| StatsError::MissingField {
            arm: arm.name.clone(),
            field: name,
        })?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(StatsError::InvalidInput(format!(
            "field `{name}` of arm '{}' is not finite",
            arm.name
        )))
    }
}

/// Validates `n` (finite, non-negative) and requires at least two units.
pub(crate) fn check_n(arm: &ArmData) -> Result<f64> {
    if !arm.n.is_finite() || arm.n < 0.0 {
        return Err(StatsError::InvalidInput(format!(
            "n of arm '{}' must be a finite non-negative number",
            arm.name
        )));
    }
    if arm.n <= 1.0 {
        return Err(StatsError::TooFewUnits(arm.name.clone()));
    }
    Ok(arm.n)
}

/// Builds a component, checking binomial sums lie in `[0, n]`.
pub(crate) fn component(
    arm: &ArmData,
    kind: ComponentType,
    (sum, sum_squares): (&'static str, &'static str),
) -> Result<Component> {
    let n = arm.n;
    let s = field(arm, sum)?;
    let ss = match kind {
        ComponentType::Binomial => {
            if s < 0.0 || s > n {
                return Err(StatsError::InvalidInput(format!(
                    "binomial `{sum}` of arm '{}' must lie in [0, n]",
                    arm.name
                )));
            }
            s
        }
        ComponentType::Mean => field(arm, sum_squares)?,
    };
    Ok(Component {
        n,
        sum: s,
        sum_squares: ss,
        kind,
    })
}

/// Post-period value of a binomial/mean metric.
pub(crate) fn post_component(metric: &MetricSpec, arm: &ArmData) -> Result<Component> {
    component(arm, metric.post_type(), POST)
}

/// Ratio numerator and denominator plus `Σ m·d`.
pub(crate) fn ratio_components(
    metric: &MetricSpec,
    arm: &ArmData,
) -> Result<(Component, Component, f64)> {
    let m = component(arm, metric.numerator_type(), NUMERATOR)?;
    let d = component(arm, metric.denominator_type(), DENOMINATOR)?;
    let md = field(arm, NUMERATOR_DENOMINATOR)?;
    Ok((m, d, md))
}

/// Delta-method ratio statistic `Σm / Σd` (gbstats `RatioStatistic`).
pub(crate) fn ratio_statistic(
    arm: &ArmData,
    m: &Component,
    d: &Component,
    md: f64,
) -> Result<ArmStatistic> {
    let (mm, dm) = (m.mean(), d.mean());
    if dm == 0.0 {
        return Err(StatsError::ZeroDenominator(arm.name.clone()));
    }
    let cov = covariance(m.n, m.sum, d.sum, md);
    let variance = m.variance() / (dm * dm) - 2.0 * cov * mm / (dm * dm * dm)
        + mm * mm * d.variance() / (dm * dm * dm * dm);
    let mean = m.sum / d.sum;
    Ok(ArmStatistic {
        n: m.n,
        mean,
        unadjusted_mean: mean,
        variance,
    })
}

/// Statistic of one arm without regression adjustment.
pub(crate) fn plain_statistic(metric: &MetricSpec, arm: &ArmData) -> Result<ArmStatistic> {
    check_n(arm)?;
    match metric.metric_type {
        MetricType::Binomial | MetricType::Mean => {
            let c = post_component(metric, arm)?;
            Ok(ArmStatistic {
                n: c.n,
                mean: c.mean(),
                unadjusted_mean: c.mean(),
                variance: c.variance(),
            })
        }
        MetricType::Ratio => {
            let (m, d, md) = ratio_components(metric, arm)?;
            ratio_statistic(arm, &m, &d, md)
        }
    }
}

/// Control and treatment statistics for one comparison, CUPED-adjusted when requested.
pub fn pair_statistics(
    metric: &MetricSpec,
    control: &ArmData,
    treatment: &ArmData,
) -> Result<(ArmStatistic, ArmStatistic)> {
    if metric.cuped {
        crate::cuped::cuped_pair(metric, control, treatment)
    } else {
        Ok((
            plain_statistic(metric, control)?,
            plain_statistic(metric, treatment)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::MetricType;

    /// Every metric shape: type × CUPED × each component type.
    fn specs() -> Vec<MetricSpec> {
        let kinds = [
            None,
            Some(ComponentType::Binomial),
            Some(ComponentType::Mean),
        ];
        let mut out = Vec::new();
        for metric_type in [MetricType::Binomial, MetricType::Mean, MetricType::Ratio] {
            for cuped in [false, true] {
                for numerator in kinds {
                    for denominator in kinds {
                        for pre in kinds {
                            out.push(MetricSpec {
                                metric_type,
                                numerator,
                                denominator,
                                cuped,
                                pre,
                                inverse: false,
                            });
                        }
                    }
                }
            }
        }
        out
    }

    /// An arm with exactly `required` set: counts at 30 of 100, values with
    /// enough spread that no variance is zero.
    fn arm(name: &str, required: &[Requirement], shift: f64) -> ArmData {
        let mut a = ArmData {
            name: name.into(),
            n: 100.0,
            ..ArmData::default()
        };
        for (i, need) in required.iter().enumerate() {
            let v = match need {
                Requirement::Count(_) => 30.0 + shift,
                Requirement::Value(n) if n.ends_with("squares") => 5000.0 + 100.0 * i as f64,
                Requirement::Value(n) if n.contains("product") => 1500.0 + 10.0 * i as f64,
                Requirement::Value(_) => 300.0 + 7.0 * i as f64 + shift,
            };
            set(&mut a, need.name(), Some(v));
        }
        a
    }

    fn set(a: &mut ArmData, name: &str, v: Option<f64>) {
        let slot = match name {
            "sum" => &mut a.sum,
            "sum_squares" => &mut a.sum_squares,
            "numerator_sum" => &mut a.numerator_sum,
            "numerator_sum_squares" => &mut a.numerator_sum_squares,
            "denominator_sum" => &mut a.denominator_sum,
            "denominator_sum_squares" => &mut a.denominator_sum_squares,
            "numerator_denominator_sum_product" => &mut a.numerator_denominator_sum_product,
            "pre_sum" => &mut a.pre_sum,
            "pre_sum_squares" => &mut a.pre_sum_squares,
            "post_pre_sum_product" => &mut a.post_pre_sum_product,
            "pre_numerator_sum" => &mut a.pre_numerator_sum,
            "pre_numerator_sum_squares" => &mut a.pre_numerator_sum_squares,
            "pre_denominator_sum" => &mut a.pre_denominator_sum,
            "pre_denominator_sum_squares" => &mut a.pre_denominator_sum_squares,
            "numerator_pre_numerator_sum_product" => &mut a.numerator_pre_numerator_sum_product,
            "denominator_pre_denominator_sum_product" => {
                &mut a.denominator_pre_denominator_sum_product
            }
            "pre_numerator_pre_denominator_sum_product" => {
                &mut a.pre_numerator_pre_denominator_sum_product
            }
            "numerator_pre_denominator_sum_product" => &mut a.numerator_pre_denominator_sum_product,
            "denominator_pre_numerator_sum_product" => &mut a.denominator_pre_numerator_sum_product,
            other => panic!("unknown statistic {other}"),
        };
        *slot = v;
    }

    /// The engine reads exactly the required statistics: with only those it
    /// never reports a missing field, and without any one of them it reports
    /// that one.
    #[test]
    fn required_statistics_are_what_the_engine_reads() {
        for spec in specs() {
            let required = required_statistics(&spec);
            let (a, b) = (arm("a", &required, 0.0), arm("b", &required, 3.0));
            let names: Vec<&str> = a.statistics().iter().map(|(n, _)| *n).collect();
            assert!(
                required.iter().all(|r| names.contains(&r.name())),
                "{spec:?}"
            );
            if let Err(StatsError::MissingField { field, .. }) = pair_statistics(&spec, &a, &b) {
                panic!("{spec:?}: engine read `{field}`, which is not required");
            }
            for need in &required {
                let mut b = b.clone();
                set(&mut b, need.name(), None);
                match pair_statistics(&spec, &a, &b) {
                    Err(StatsError::MissingField { field, .. }) => {
                        assert_eq!(field, need.name(), "{spec:?}")
                    }
                    other => panic!("{spec:?} without {}: {other:?}", need.name()),
                }
            }
        }
    }
}
