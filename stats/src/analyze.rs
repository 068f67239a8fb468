//! Top-level entry point: every treatment arm against control (arm 0), SRM and
//! Holm-adjusted p-values across arms.

use crate::bayesian::bayesian_test;
use crate::error::{StatsError, check_alpha};
use crate::frequentist::welch_test;
use crate::moments::pair_statistics;
use crate::multiple_testing::holm;
use crate::sequential::{DEFAULT_TUNING, sequential_test};
use crate::srm::{SrmResult, srm_test};
use crate::types::{ArmData, DifferenceType, Engine, MetricSpec, Prior};
use serde::{Deserialize, Serialize};

fn default_alpha() -> f64 {
    0.05
}

fn default_tuning() -> f64 {
    DEFAULT_TUNING
}

/// A complete analysis request for one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisRequest {
    /// Metric definition.
    pub metric: MetricSpec,
    /// Inference engine (default frequentist).
    #[serde(default)]
    pub engine: Engine,
    /// Relative lift or absolute difference (default relative).
    #[serde(default)]
    pub difference: DifferenceType,
    /// Two-sided level (default 0.05).
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Sequential tuning parameter (default 5000).
    #[serde(default = "default_tuning")]
    pub sequential_tuning: f64,
    /// Prior for the Bayesian engine (default flat).
    #[serde(default)]
    pub prior: Prior,
    /// Planned traffic weights per arm (default equal).
    #[serde(default)]
    pub weights: Option<Vec<f64>>,
    /// Arms; arm 0 is the control.
    pub arms: Vec<ArmData>,
}

/// One treatment-vs-control comparison; `None` where the engine does not
/// produce a value or the comparison failed (see `error`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Treatment arm name.
    pub arm: String,
    /// Control mean (unadjusted).
    pub baseline: Option<f64>,
    /// Treatment mean (unadjusted).
    pub treatment_mean: Option<f64>,
    /// Relative lift or absolute difference (posterior mean for Bayesian).
    pub estimate: Option<f64>,
    /// Standard error (posterior stddev for Bayesian).
    pub se: Option<f64>,
    /// Lower interval bound (confidence, confidence-sequence or credible).
    pub ci_lower: Option<f64>,
    /// Upper interval bound.
    pub ci_upper: Option<f64>,
    /// Two-sided p-value (frequentist/sequential).
    pub p_value: Option<f64>,
    /// Holm–Bonferroni adjusted p-value across treatment arms.
    pub p_value_adjusted: Option<f64>,
    /// Welch degrees of freedom (frequentist).
    pub df: Option<f64>,
    /// Probability treatment is better (Bayesian).
    pub chance_to_win: Option<f64>,
    /// Expected loss of choosing control (Bayesian).
    pub risk_control: Option<f64>,
    /// Expected loss of choosing treatment (Bayesian).
    pub risk_treatment: Option<f64>,
    /// Why this comparison could not be computed.
    pub error: Option<String>,
}

/// Result of [`analyze`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnalysisResult {
    /// SRM check over all arms (`None` if it could not be computed).
    pub srm: Option<SrmResult>,
    /// Why the SRM check could not be computed.
    pub srm_error: Option<String>,
    /// One entry per treatment arm, in request order.
    pub comparisons: Vec<Comparison>,
    /// Request-level problem (e.g. fewer than two arms); comparisons then carry it too.
    pub error: Option<String>,
}

fn request_error(req: &AnalysisRequest) -> Option<StatsError> {
    if req.arms.len() < 2 {
        return Some(StatsError::InvalidInput(
            "at least two arms (control + treatment) are required".into(),
        ));
    }
    if let Err(e) = check_alpha(req.alpha) {
        return Some(e);
    }
    if req.engine == Engine::Sequential
        && !(req.sequential_tuning.is_finite() && req.sequential_tuning > 0.0)
    {
        return Some(StatsError::InvalidInput(
            "sequential_tuning must be positive".into(),
        ));
    }
    None
}

fn compare(req: &AnalysisRequest, control: &ArmData, treatment: &ArmData) -> Comparison {
    let mut out = Comparison {
        arm: treatment.name.clone(),
        ..Comparison::default()
    };
    let result = pair_statistics(&req.metric, control, treatment).and_then(|(a, b)| {
        out.baseline = Some(a.unadjusted_mean);
        out.treatment_mean = Some(b.unadjusted_mean);
        match req.engine {
            Engine::Frequentist | Engine::Sequential => {
                let r = if req.engine == Engine::Frequentist {
                    welch_test(&a, &b, req.difference, req.alpha)?
                } else {
                    sequential_test(&a, &b, req.difference, req.alpha, req.sequential_tuning)?
                };
                out.estimate = Some(r.estimate);
                out.se = Some(r.se);
                out.ci_lower = Some(r.ci_lower);
                out.ci_upper = Some(r.ci_upper);
                out.p_value = Some(r.p_value);
                out.df = r.df;
            }
            Engine::Bayesian => {
                let r = bayesian_test(
                    &a,
                    &b,
                    req.difference,
                    req.alpha,
                    &req.prior,
                    req.metric.inverse,
                )?;
                out.estimate = Some(r.estimate);
                out.se = Some(r.se);
                out.ci_lower = Some(r.ci_lower);
                out.ci_upper = Some(r.ci_upper);
                out.chance_to_win = Some(r.chance_to_win);
                out.risk_control = Some(r.risk_control);
                out.risk_treatment = Some(r.risk_treatment);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        // Keep only the descriptive means on failure, never partial inference.
        out = Comparison {
            arm: out.arm,
            baseline: out.baseline.filter(|v| v.is_finite()),
            treatment_mean: out.treatment_mean.filter(|v| v.is_finite()),
            error: Some(e.to_string()),
            ..Comparison::default()
        };
    }
    out
}

/// Analyses one metric: SRM over all arms, then each treatment arm against arm 0
/// with the requested engine; frequentist/sequential p-values are Holm-adjusted
/// across the arms that produced one.
pub fn analyze(req: &AnalysisRequest) -> AnalysisResult {
    let mut result = AnalysisResult::default();
    let counts: Vec<f64> = req.arms.iter().map(|a| a.n).collect();
    match srm_test(&counts, req.weights.as_deref()) {
        Ok(s) => result.srm = Some(s),
        Err(e) => result.srm_error = Some(e.to_string()),
    }
    if let Some(e) = request_error(req) {
        let msg = e.to_string();
        result.comparisons = req
            .arms
            .iter()
            .skip(1)
            .map(|arm| Comparison {
                arm: arm.name.clone(),
                error: Some(msg.clone()),
                ..Comparison::default()
            })
            .collect();
        result.error = Some(msg);
        return result;
    }
    let control = &req.arms[0];
    result.comparisons = req.arms[1..]
        .iter()
        .map(|t| compare(req, control, t))
        .collect();
    let raw: Vec<f64> = result
        .comparisons
        .iter()
        .filter_map(|c| c.p_value)
        .collect();
    if let Ok(adjusted) = holm(&raw) {
        let mut it = adjusted.into_iter();
        for c in result
            .comparisons
            .iter_mut()
            .filter(|c| c.p_value.is_some())
        {
            c.p_value_adjusted = it.next();
        }
    }
    result
}
