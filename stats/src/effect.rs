//! Effect point estimate and variance (absolute, or relative via the delta method).
//!
//! Matches gbstats 0.8.0 `frequentist_diff` / `frequentist_variance`: the
//! relative lift is `(μ_b − μ_a) / ū_a` where `ū_a` is the *unadjusted* control
//! mean, with variance `σ_b²/(ū_a² n_b) + σ_a² ū_b²/(ū_a⁴ n_a)`.

use crate::error::{Result, StatsError, finite};
use crate::moments::ArmStatistic;
use crate::types::DifferenceType;

/// Estimated treatment effect with its sampling variance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effect {
    /// Relative lift or absolute difference.
    pub estimate: f64,
    /// Variance of `estimate`.
    pub variance: f64,
}

/// Checks the preconditions shared by every engine (non-zero control mean for
/// relative lifts, positive arm variances).
pub(crate) fn check_pair(
    control: &ArmStatistic,
    treatment: &ArmStatistic,
    difference: DifferenceType,
) -> Result<()> {
    for (s, which) in [(control, "control"), (treatment, "treatment")] {
        if !(s.n > 1.0 && s.n.is_finite()) {
            return Err(StatsError::TooFewUnits(which.into()));
        }
        if !(s.mean.is_finite() && s.unadjusted_mean.is_finite() && s.variance.is_finite()) {
            return Err(StatsError::InvalidInput(format!(
                "{which} statistic is not finite"
            )));
        }
    }
    if difference == DifferenceType::Relative && control.unadjusted_mean == 0.0 {
        return Err(StatsError::ZeroControlMean);
    }
    if control.variance <= 0.0 {
        return Err(StatsError::ZeroVariance("control".into()));
    }
    if treatment.variance <= 0.0 {
        return Err(StatsError::ZeroVariance("treatment".into()));
    }
    Ok(())
}

/// Point estimate and variance of the effect of `treatment` over `control`.
pub fn effect(
    control: &ArmStatistic,
    treatment: &ArmStatistic,
    difference: DifferenceType,
) -> Result<Effect> {
    check_pair(control, treatment, difference)?;
    let (a, b) = (control, treatment);
    let (estimate, variance) = match difference {
        DifferenceType::Absolute => (b.mean - a.mean, b.variance / b.n + a.variance / a.n),
        DifferenceType::Relative => {
            let ua = a.unadjusted_mean;
            let ub = b.unadjusted_mean;
            (
                (b.mean - a.mean) / ua,
                b.variance / (ua * ua * b.n) + a.variance * ub * ub / (ua.powi(4) * a.n),
            )
        }
    };
    let estimate = finite(estimate, "effect estimate")?;
    let variance = finite(variance, "effect variance")?;
    if variance <= 0.0 {
        return Err(StatsError::ZeroVariance("effect".into()));
    }
    Ok(Effect { estimate, variance })
}

/// Welch–Satterthwaite degrees of freedom from the per-arm variances.
pub fn welch_df(control: &ArmStatistic, treatment: &ArmStatistic) -> Result<f64> {
    let (a, b) = (control, treatment);
    let va = a.variance / a.n;
    let vb = b.variance / b.n;
    let df = (va + vb).powi(2) / (vb * vb / (b.n - 1.0) + va * va / (a.n - 1.0));
    let df = finite(df, "Welch degrees of freedom")?;
    if df > 0.0 {
        Ok(df)
    } else {
        Err(StatsError::NonFinite("Welch degrees of freedom"))
    }
}
