//! Guardrails: one-sided non-inferiority test against a tolerated degradation.
//!
//! Work on the "improvement" scale `g` (`g = estimate`, or `−estimate` for
//! lower-is-better metrics) with tolerated degradation `M ≥ 0` (in the units of
//! the difference type: absolute units or a relative fraction), and `q` the
//! one-sided `1 − α` quantile (Student-t with the Welch df):
//!
//! * **Pass** — the one-sided bound `g − q·se > −M`: degradation beyond the
//!   margin is rejected (non-inferiority p-value `< α`);
//! * **Fail** — the opposite one-sided bound `g + q·se < −M`: degradation
//!   beyond the margin is itself significant at level `α`;
//! * **Inconclusive** — otherwise.

use crate::distributions::{norm_ppf, norm_sf, t_isf, t_sf};
use crate::error::{Result, StatsError, check_alpha, finite};
use crate::frequentist::welch_test;
use crate::moments::pair_statistics;
use crate::types::{ArmData, DifferenceType, MetricSpec};
use serde::{Deserialize, Serialize};

/// Guardrail verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GuardrailVerdict {
    /// Non-inferiority shown.
    Pass,
    /// Degradation beyond the margin shown.
    Fail,
    /// Neither.
    Inconclusive,
}

/// Guardrail definition.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GuardrailSpec {
    /// Tolerated degradation (≥ 0), absolute units or relative fraction.
    pub margin: f64,
    /// Whether `margin` is absolute or relative to the control mean.
    pub margin_type: DifferenceType,
    /// Lower is better.
    pub inverse: bool,
    /// One-sided level.
    pub alpha: f64,
}

/// Guardrail outcome.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GuardrailResult {
    /// Verdict.
    pub verdict: GuardrailVerdict,
    /// Effect estimate on the margin's scale (original sign).
    pub estimate: f64,
    /// One-sided `1 − alpha` bound in the harmful direction (lower bound for
    /// higher-is-better, upper bound for lower-is-better), original sign.
    pub bound: f64,
    /// Non-inferiority p-value: `P(T ≥ (g + M)/se)`.
    pub p_value: f64,
    /// Margin as a signed threshold on the estimate (`−M`, or `+M` if inverse).
    pub threshold: f64,
}

/// Evaluates a guardrail from an effect estimate and its standard error; `df`
/// selects a Student-t (`Some`) or normal (`None`) reference distribution.
pub fn evaluate_guardrail(
    estimate: f64,
    se: f64,
    df: Option<f64>,
    spec: &GuardrailSpec,
) -> Result<GuardrailResult> {
    check_alpha(spec.alpha)?;
    if !(spec.margin.is_finite() && spec.margin >= 0.0) {
        return Err(StatsError::InvalidInput(
            "margin must be finite and non-negative".into(),
        ));
    }
    if !(estimate.is_finite() && se.is_finite() && se > 0.0) {
        return Err(StatsError::InvalidInput(
            "estimate and a positive se are required".into(),
        ));
    }
    if spec.alpha > 0.5 {
        return Err(StatsError::InvalidInput(
            "guardrail alpha must be at most 0.5".into(),
        ));
    }
    let df = match df {
        Some(d) if !(d.is_finite() && d > 0.0) => {
            return Err(StatsError::InvalidInput("df must be positive".into()));
        }
        other => other,
    };
    let tail = |x: f64| df.map_or_else(|| norm_sf(x), |d| t_sf(x, d));
    let q = df.map_or_else(|| -norm_ppf(spec.alpha), |d| t_isf(spec.alpha, d));
    let q = finite(q, "guardrail quantile")?;
    let sign = if spec.inverse { -1.0 } else { 1.0 };
    let g = sign * estimate;
    let m = spec.margin;
    let lower = g - q * se;
    let upper = g + q * se;
    let verdict = if lower > -m {
        GuardrailVerdict::Pass
    } else if upper < -m {
        GuardrailVerdict::Fail
    } else {
        GuardrailVerdict::Inconclusive
    };
    Ok(GuardrailResult {
        verdict,
        estimate,
        bound: sign * lower,
        p_value: finite(tail((g + m) / se), "guardrail p-value")?,
        threshold: -sign * m,
    })
}

/// Evaluates a guardrail metric from raw arm statistics using the Welch t-test
/// on the margin's difference type (CUPED applied if the metric asks for it).
pub fn guardrail(
    metric: &MetricSpec,
    control: &ArmData,
    treatment: &ArmData,
    spec: &GuardrailSpec,
) -> Result<GuardrailResult> {
    let (a, b) = pair_statistics(metric, control, treatment)?;
    let test = welch_test(&a, &b, spec.margin_type, 0.5)?;
    evaluate_guardrail(test.estimate, test.se, test.df, spec)
}
