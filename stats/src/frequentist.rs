//! Fixed-horizon two-sided Welch t-test (gbstats `TwoSidedTTest`).

use crate::distributions::{t_isf, t_sf};
use crate::effect::{effect, welch_df};
use crate::error::{Result, check_alpha, finite};
use crate::moments::ArmStatistic;
use crate::types::DifferenceType;
use serde::{Deserialize, Serialize};

/// Result of a frequentist or sequential test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// Relative lift or absolute difference.
    pub estimate: f64,
    /// Standard error of `estimate`.
    pub se: f64,
    /// Lower end of the two-sided `1 − alpha` interval.
    pub ci_lower: f64,
    /// Upper end of the two-sided `1 − alpha` interval.
    pub ci_upper: f64,
    /// Two-sided p-value for "no effect".
    pub p_value: f64,
    /// Welch degrees of freedom (`None` for the sequential engine).
    pub df: Option<f64>,
}

/// Welch t-test of treatment vs control; CI `estimate ± t_{1−α/2, df} · se`.
pub fn welch_test(
    control: &ArmStatistic,
    treatment: &ArmStatistic,
    difference: DifferenceType,
    alpha: f64,
) -> Result<TestResult> {
    check_alpha(alpha)?;
    let e = effect(control, treatment, difference)?;
    let df = welch_df(control, treatment)?;
    let se = e.variance.sqrt();
    let t = e.estimate / se;
    let p_value = finite((2.0 * t_sf(t.abs(), df)).min(1.0), "p-value")?;
    let half = finite(t_isf(alpha / 2.0, df) * se, "confidence interval")?;
    Ok(TestResult {
        estimate: e.estimate,
        se,
        ci_lower: e.estimate - half,
        ci_upper: e.estimate + half,
        p_value,
        df: Some(df),
    })
}
