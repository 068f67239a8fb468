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

/// Reads a required, finite field.
pub(crate) fn field(arm: &ArmData, name: &'static str, value: Option<f64>) -> Result<f64> {
    let v = value.ok_or_else(|| StatsError::MissingField {
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
    sum: (&'static str, Option<f64>),
    sum_squares: (&'static str, Option<f64>),
) -> Result<Component> {
    let n = arm.n;
    let s = field(arm, sum.0, sum.1)?;
    let ss = match kind {
        ComponentType::Binomial => {
            if s < 0.0 || s > n {
                return Err(StatsError::InvalidInput(format!(
                    "binomial `{}` of arm '{}' must lie in [0, n]",
                    sum.0, arm.name
                )));
            }
            s
        }
        ComponentType::Mean => field(arm, sum_squares.0, sum_squares.1)?,
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
    component(
        arm,
        metric.post_type(),
        ("sum", arm.sum),
        ("sum_squares", arm.sum_squares),
    )
}

/// Ratio numerator and denominator plus `Σ m·d`.
pub(crate) fn ratio_components(
    metric: &MetricSpec,
    arm: &ArmData,
) -> Result<(Component, Component, f64)> {
    let m = component(
        arm,
        metric.numerator_type(),
        ("numerator_sum", arm.numerator_sum),
        ("numerator_sum_squares", arm.numerator_sum_squares),
    )?;
    let d = component(
        arm,
        metric.denominator_type(),
        ("denominator_sum", arm.denominator_sum),
        ("denominator_sum_squares", arm.denominator_sum_squares),
    )?;
    let md = field(
        arm,
        "numerator_denominator_sum_product",
        arm.numerator_denominator_sum_product,
    )?;
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
