//! Bayesian engine: Gaussian approximation of the effect with an optional
//! proper normal prior (gbstats `EffectBayesianABTest`).
//!
//! Posterior precision `1/v + [proper]/s²`, posterior mean
//! `(Δ/v + m/s²)/precision` (or `Δ` for a flat prior). Chance to win is
//! `P(effect > 0)` (`P(effect < 0)` for inverse metrics). Risk of choosing
//! control is `E[max(effect, 0)]`, of choosing treatment `E[max(−effect, 0)]`
//! (swapped for inverse metrics).

use crate::distributions::{norm_cdf, norm_pdf, norm_ppf};
use crate::effect::effect;
use crate::error::{Result, StatsError, check_alpha, finite};
use crate::moments::ArmStatistic;
use crate::types::{DifferenceType, Prior};
use serde::{Deserialize, Serialize};

/// Posterior summary of the effect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BayesianResult {
    /// Posterior mean of the effect.
    pub estimate: f64,
    /// Posterior standard deviation.
    pub se: f64,
    /// Lower end of the equal-tailed `1 − alpha` credible interval.
    pub ci_lower: f64,
    /// Upper end of the credible interval.
    pub ci_upper: f64,
    /// Probability that treatment beats control (direction-aware).
    pub chance_to_win: f64,
    /// Expected loss of keeping control.
    pub risk_control: f64,
    /// Expected loss of shipping treatment.
    pub risk_treatment: f64,
}

/// Bayesian comparison of treatment vs control. The prior is on the relative
/// scale and is rescaled by `|control mean|` for absolute differences.
pub fn bayesian_test(
    control: &ArmStatistic,
    treatment: &ArmStatistic,
    difference: DifferenceType,
    alpha: f64,
    prior: &Prior,
    inverse: bool,
) -> Result<BayesianResult> {
    check_alpha(alpha)?;
    let e = effect(control, treatment, difference)?;
    let (mean, sd) = if prior.proper {
        if !(prior.stddev.is_finite() && prior.stddev > 0.0 && prior.mean.is_finite()) {
            return Err(StatsError::InvalidInput(
                "a proper prior needs a finite mean and a positive stddev".into(),
            ));
        }
        let (pm, pv) = match difference {
            DifferenceType::Relative => (prior.mean, prior.stddev * prior.stddev),
            DifferenceType::Absolute => {
                let u = control.unadjusted_mean;
                if u == 0.0 {
                    return Err(StatsError::ZeroControlMean);
                }
                (prior.mean * u.abs(), prior.stddev * prior.stddev * u * u)
            }
        };
        let precision = 1.0 / e.variance + 1.0 / pv;
        (
            (e.estimate / e.variance + pm / pv) / precision,
            (1.0 / precision).sqrt(),
        )
    } else {
        (e.estimate, e.variance.sqrt())
    };
    let mean = finite(mean, "posterior mean")?;
    let sd = finite(sd, "posterior stddev")?;
    let z = mean / sd;
    let p_positive = norm_cdf(z);
    let chance_to_win = if inverse { norm_cdf(-z) } else { p_positive };
    let density = sd * norm_pdf(z);
    let loss_if_control = (mean * p_positive + density).max(0.0);
    let loss_if_treatment = (density - mean * norm_cdf(-z)).max(0.0);
    let (risk_control, risk_treatment) = if inverse {
        (loss_if_treatment, loss_if_control)
    } else {
        (loss_if_control, loss_if_treatment)
    };
    Ok(BayesianResult {
        estimate: mean,
        se: sd,
        ci_lower: finite(mean + sd * norm_ppf(alpha / 2.0), "credible interval")?,
        ci_upper: finite(mean + sd * norm_ppf(1.0 - alpha / 2.0), "credible interval")?,
        chance_to_win,
        risk_control,
        risk_treatment,
    })
}
