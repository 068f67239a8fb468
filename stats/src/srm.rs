//! Sample-ratio mismatch: Pearson chi-square of exposures against planned weights.

use crate::distributions::chi2_sf;
use crate::error::{Result, StatsError, finite};
use serde::{Deserialize, Serialize};

/// p-value below which the traffic split is flagged as mismatched.
pub const SRM_THRESHOLD: f64 = 0.001;

/// Outcome of the SRM check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"chi_square": 0.990099, "p_value": 0.319718, "mismatch": false})))]
pub struct SrmResult {
    /// Pearson statistic `Σ (o − e)² / e`.
    pub chi_square: f64,
    /// Upper-tail chi-square p-value with `arms − 1` degrees of freedom.
    pub p_value: f64,
    /// `p_value < 0.001`: the traffic split is suspect and results should not be trusted.
    pub mismatch: bool,
}

/// Tests observed counts against planned weights (any positive scale; `None`
/// means equal weights). Requires ≥ 2 arms, finite non-negative counts with a
/// positive total and finite positive weights.
pub fn srm_test(observed: &[f64], weights: Option<&[f64]>) -> Result<SrmResult> {
    let k = observed.len();
    if k < 2 {
        return Err(StatsError::InvalidInput(
            "SRM needs at least two arms".into(),
        ));
    }
    let equal = vec![1.0; k];
    let weights = weights.unwrap_or(&equal);
    if weights.len() != k {
        return Err(StatsError::InvalidInput(format!(
            "{} weights given for {k} arms",
            weights.len()
        )));
    }
    if observed.iter().any(|o| !o.is_finite() || *o < 0.0) {
        return Err(StatsError::InvalidInput(
            "exposure counts must be finite and non-negative".into(),
        ));
    }
    if weights.iter().any(|w| !w.is_finite() || *w <= 0.0) {
        return Err(StatsError::InvalidInput(
            "weights must be finite and positive".into(),
        ));
    }
    let total: f64 = observed.iter().sum();
    if total <= 0.0 {
        return Err(StatsError::InvalidInput("no exposures observed".into()));
    }
    let weight_total: f64 = weights.iter().sum();
    let chi_square: f64 = observed
        .iter()
        .zip(weights)
        .map(|(o, w)| {
            let e = w / weight_total * total;
            (o - e) * (o - e) / e
        })
        .sum();
    let chi_square = finite(chi_square, "chi-square statistic")?;
    let p_value = finite(chi2_sf(chi_square, (k - 1) as f64), "SRM p-value")?;
    Ok(SrmResult {
        chi_square,
        p_value,
        mismatch: p_value < SRM_THRESHOLD,
    })
}
