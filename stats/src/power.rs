//! Sample-size planning: two-sided normal approximation with unpooled variances.

use crate::distributions::norm_ppf;
use crate::error::{Result, StatsError, check_alpha, finite};
use serde::{Deserialize, Serialize};

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
