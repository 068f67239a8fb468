//! Sample-size planning: two-sided normal approximation with unpooled variances.

use crate::distributions::norm_ppf;
use crate::error::{Result, StatsError, check_alpha, finite};
use serde::{Deserialize, Serialize};
use verdict_core::FieldError;

/// Baseline of the metric being planned for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerBaseline {
    /// Conversion rate `p0 ∈ (0, 1)`; treatment variance uses `p1 = p0(1 + mde)`.
    Rate(f64),
    /// Mean and standard deviation; both arms share `sd`.
    Mean {
        /// Baseline mean (non-zero).
        mean: f64,
        /// Standard deviation (positive).
        sd: f64,
    },
}

/// Units needed per arm:
/// `n = ⌈(z_{1−α/2} + z_{power})² (σ0² + σ1²) / (μ1 − μ0)²⌉`, with `μ1 = μ0(1 + mde)`.
pub fn n_per_arm(
    baseline: PowerBaseline,
    mde_relative: f64,
    alpha: f64,
    power: f64,
) -> Result<u64> {
    check_alpha(alpha)?;
    if !(power > 0.0 && power < 1.0) {
        return Err(StatsError::InvalidInput(format!(
            "power must be in (0, 1), got {power}"
        )));
    }
    if !mde_relative.is_finite() || mde_relative == 0.0 {
        return Err(StatsError::InvalidInput(
            "mde_relative must be finite and non-zero".into(),
        ));
    }
    let (mu0, var0, mu1, var1) = match baseline {
        PowerBaseline::Rate(p0) => {
            let p1 = p0 * (1.0 + mde_relative);
            if !(p0 > 0.0 && p0 < 1.0 && p1 > 0.0 && p1 < 1.0) {
                return Err(StatsError::InvalidInput(
                    "baseline rate and p0·(1 + mde) must lie in (0, 1)".into(),
                ));
            }
            (p0, p0 * (1.0 - p0), p1, p1 * (1.0 - p1))
        }
        PowerBaseline::Mean { mean, sd } => {
            if !(mean.is_finite() && mean != 0.0 && sd.is_finite() && sd > 0.0) {
                return Err(StatsError::InvalidInput(
                    "baseline mean must be non-zero and sd positive".into(),
                ));
            }
            (mean, sd * sd, mean * (1.0 + mde_relative), sd * sd)
        }
    };
    let z = norm_ppf(1.0 - alpha / 2.0) + norm_ppf(power);
    let n = finite(
        z * z * (var0 + var1) / ((mu1 - mu0) * (mu1 - mu0)),
        "sample size",
    )?;
    if n > 1e18 {
        return Err(StatsError::NonFinite("sample size"));
    }
    Ok(n.ceil() as u64)
}

/// Days still needed to reach `planned_units` given `observed_units` so far and
/// the observed rate `units_per_day` (0 if already reached).
pub fn days_to_reach(planned_units: f64, observed_units: f64, units_per_day: f64) -> Result<u64> {
    if !(planned_units.is_finite() && observed_units.is_finite() && observed_units >= 0.0) {
        return Err(StatsError::InvalidInput(
            "unit counts must be finite and non-negative".into(),
        ));
    }
    if observed_units >= planned_units {
        return Ok(0);
    }
    if !(units_per_day.is_finite() && units_per_day > 0.0) {
        return Err(StatsError::InvalidInput(
            "units_per_day must be positive".into(),
        ));
    }
    let days = ((planned_units - observed_units) / units_per_day).ceil();
    if days > 1e15 {
        return Err(StatsError::NonFinite("days to reach"));
    }
    Ok(days as u64)
}

fn default_alpha() -> f64 {
    0.05
}

fn default_power() -> f64 {
    0.8
}

/// Sample-size planning input: either `baseline_rate`, or `baseline_mean` with
/// `baseline_sd`. (The wire shape of [`PowerBaseline`] plus the levels.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({"baseline_rate": 0.1, "mde_relative": 0.05, "alpha": 0.05, "power": 0.8})))]
pub struct PowerRequest {
    /// Baseline conversion rate in (0, 1), for a binomial metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(exclusive_minimum = 0, exclusive_maximum = 1)
    )]
    pub baseline_rate: Option<f64>,
    /// Baseline mean (non-zero), for a mean metric; needs `baseline_sd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_mean: Option<f64>,
    /// Baseline standard deviation (positive), shared by both arms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0))]
    pub baseline_sd: Option<f64>,
    /// Minimum detectable effect relative to the baseline (non-zero; e.g. 0.05 = +5 %).
    pub mde_relative: f64,
    /// Two-sided significance level in (0, 1).
    #[serde(default = "default_alpha")]
    #[cfg_attr(
        feature = "openapi",
        schema(default = 0.05, exclusive_minimum = 0, exclusive_maximum = 1)
    )]
    pub alpha: f64,
    /// Probability of detecting the effect when it is real, in (0, 1).
    #[serde(default = "default_power")]
    #[cfg_attr(
        feature = "openapi",
        schema(default = 0.8, exclusive_minimum = 0, exclusive_maximum = 1)
    )]
    pub power: f64,
}

/// A validated [`PowerRequest`], ready for [`n_per_arm`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerPlan {
    /// The baseline.
    pub baseline: PowerBaseline,
    /// Relative minimum detectable effect.
    pub mde_relative: f64,
    /// Significance level.
    pub alpha: f64,
    /// Power.
    pub power: f64,
}

fn in_unit_interval(x: f64) -> bool {
    x > 0.0 && x < 1.0
}

impl PowerRequest {
    /// Validates the request against what [`n_per_arm`] accepts; every
    /// offending field is reported.
    pub fn validate(&self) -> std::result::Result<PowerPlan, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail = |field: &str, message: String| errors.push(FieldError::new(field, message));
        if !in_unit_interval(self.alpha) {
            fail("alpha", format!("must be in (0, 1), got {}", self.alpha));
        }
        if !in_unit_interval(self.power) {
            fail("power", format!("must be in (0, 1), got {}", self.power));
        }
        let mde = self.mde_relative;
        if !(mde.is_finite() && mde != 0.0) {
            fail("mde_relative", format!("must be non-zero, got {mde}"));
        }
        let baseline = match (self.baseline_rate, self.baseline_mean, self.baseline_sd) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                let field = if self.baseline_mean.is_some() {
                    "baseline_mean"
                } else {
                    "baseline_sd"
                };
                fail(
                    field,
                    "give either baseline_rate, or baseline_mean with baseline_sd, not both".into(),
                );
                None
            }
            (None, None, None) => {
                fail(
                    "baseline_rate",
                    "required unless baseline_mean and baseline_sd are given".into(),
                );
                None
            }
            (Some(rate), None, None) => {
                if !in_unit_interval(rate) {
                    fail("baseline_rate", format!("must be in (0, 1), got {rate}"));
                } else if mde.is_finite() && !in_unit_interval(rate * (1.0 + mde)) {
                    fail(
                        "mde_relative",
                        format!(
                            "the treatment rate baseline_rate × (1 + mde_relative) = {} must lie in (0, 1)",
                            rate * (1.0 + mde)
                        ),
                    );
                }
                Some(PowerBaseline::Rate(rate))
            }
            (None, mean, sd) => {
                match mean {
                    None => fail("baseline_mean", "required with baseline_sd".into()),
                    Some(m) if !(m.is_finite() && m != 0.0) => {
                        fail("baseline_mean", format!("must be non-zero, got {m}"))
                    }
                    Some(_) => {}
                }
                match sd {
                    None => fail("baseline_sd", "required with baseline_mean".into()),
                    Some(s) if !(s.is_finite() && s > 0.0) => {
                        fail("baseline_sd", format!("must be positive, got {s}"))
                    }
                    Some(_) => {}
                }
                mean.zip(sd)
                    .map(|(mean, sd)| PowerBaseline::Mean { mean, sd })
            }
        };
        match baseline {
            Some(baseline) if errors.is_empty() => Ok(PowerPlan {
                baseline,
                mde_relative: mde,
                alpha: self.alpha,
                power: self.power,
            }),
            _ => Err(errors),
        }
    }
}
