//! Top-level entry point: every treatment arm against control (arm 0), SRM and
//! Holm-adjusted p-values across arms.

use crate::bayesian::bayesian_test;
use crate::error::{StatsError, check_alpha};
use crate::frequentist::welch_test;
use crate::moments::pair_statistics;
use crate::moments::{Requirement, required_statistics};
use crate::multiple_testing::holm;
use crate::sequential::{DEFAULT_TUNING, sequential_test};
use crate::srm::{SrmResult, srm_test};
use crate::types::{ArmData, DifferenceType, Engine, MetricSpec, Prior};
use serde::{Deserialize, Serialize};
use verdict_core::FieldError;

fn default_alpha() -> f64 {
    0.05
}

fn default_tuning() -> f64 {
    DEFAULT_TUNING
}

/// A complete analysis request for one metric: per-arm aggregates computed
/// anywhere (Verdict's own database, a team's warehouse).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "metric": {"type": "binomial"},
    "engine": "frequentist",
    "difference": "relative",
    "alpha": 0.05,
    "weights": [0.5, 0.5],
    "arms": [
        {"name": "control", "n": 5000, "sum": 500},
        {"name": "treatment", "n": 5100, "sum": 558}
    ]
})))]
pub struct AnalysisRequest {
    /// Metric definition.
    pub metric: MetricSpec,
    /// Inference engine (default frequentist).
    #[serde(default)]
    pub engine: Engine,
    /// Relative lift or absolute difference (default relative).
    #[serde(default)]
    pub difference: DifferenceType,
    /// Two-sided significance level in (0, 1); intervals have level `1 − alpha`.
    #[serde(default = "default_alpha")]
    #[cfg_attr(
        feature = "openapi",
        schema(default = 0.05, exclusive_minimum = 0, exclusive_maximum = 1)
    )]
    pub alpha: f64,
    /// Sequential engine tuning: the sample size at which the confidence
    /// sequence is tightest (positive; default 5000).
    #[serde(default = "default_tuning")]
    #[cfg_attr(feature = "openapi", schema(default = 5000, exclusive_minimum = 0))]
    pub sequential_tuning: f64,
    /// Prior for the Bayesian engine (default flat).
    #[serde(default)]
    pub prior: Prior,
    /// Planned traffic weights per arm for the SRM check, any positive scale
    /// (default equal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f64>>,
    /// At least two arms; arm 0 is the control.
    #[cfg_attr(feature = "openapi", schema(min_items = 2))]
    pub arms: Vec<ArmData>,
}

/// One treatment-vs-control comparison; `null` where the engine does not
/// produce a value or the comparison failed (see `error`). Every field is
/// always present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comparison {
    /// Treatment arm name.
    pub arm: String,
    /// Control mean (unadjusted).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub baseline: Option<f64>,
    /// Treatment mean (unadjusted).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub treatment_mean: Option<f64>,
    /// Relative lift or absolute difference (posterior mean for Bayesian).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub estimate: Option<f64>,
    /// Standard error (posterior stddev for Bayesian).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub se: Option<f64>,
    /// Lower interval bound (confidence, confidence-sequence or credible).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub ci_lower: Option<f64>,
    /// Upper interval bound.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub ci_upper: Option<f64>,
    /// Two-sided p-value (frequentist/sequential): the normal approximation.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub p_value: Option<f64>,
    /// Fisher's exact two-sided p-value, for a binomial metric (without
    /// CUPED) where an arm has fewer than 10 conversions or non-conversions.
    /// The frequentist engine's significance rests on it then; the sequential
    /// engine takes the larger of the two.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub p_value_fisher: Option<f64>,
    /// Holm–Bonferroni adjusted p-value across the treatment arms.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub p_value_holm: Option<f64>,
    /// The p-value after every correction applied: Holm across arms here;
    /// in experiment results also the correction across metrics.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub p_value_adjusted: Option<f64>,
    /// Welch degrees of freedom (frequentist).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub df: Option<f64>,
    /// Probability treatment is better (Bayesian).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub chance_to_win: Option<f64>,
    /// Expected loss of choosing control (Bayesian).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub risk_control: Option<f64>,
    /// Expected loss of choosing treatment (Bayesian).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub risk_treatment: Option<f64>,
    /// Significant at `alpha`: the adjusted p-value is below it, or (Bayesian)
    /// the chance to win is beyond `1 − alpha/2` or below `alpha/2` (the
    /// `1 − alpha` credible interval excludes 0).
    pub significant: bool,
    /// Significant and in the metric's good direction.
    pub improved: bool,
    /// Why this comparison could not be computed (e.g. zero variance, zero
    /// control mean, too few units); the inference fields are then `null`.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub error: Option<String>,
}

impl Comparison {
    /// Sets `significant` and `improved` at `alpha` from the chance to win
    /// (Bayesian) or from `p` (the p-value the decision rests on).
    pub fn judge(&mut self, engine: Engine, alpha: f64, inverse: bool, p: Option<f64>) {
        let sign = if inverse { -1.0 } else { 1.0 };
        let (significant, good) = match engine {
            // The (1 − alpha) credible interval excludes 0: the same two-sided
            // level as the other engines' tests.
            Engine::Bayesian => match self.chance_to_win {
                Some(ctw) => (
                    ctw >= 1.0 - alpha / 2.0 || ctw <= alpha / 2.0,
                    ctw >= 1.0 - alpha / 2.0,
                ),
                None => (false, false),
            },
            Engine::Frequentist | Engine::Sequential => (
                p.is_some_and(|p| p < alpha),
                self.estimate.is_some_and(|e| sign * e > 0.0),
            ),
        };
        self.significant = significant;
        self.improved = significant && good;
    }
}

/// Result of [`analyze`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({
    "srm": {"chi_square": 0.990099, "p_value": 0.319718, "mismatch": false},
    "srm_error": null,
    "comparisons": [{
        "arm": "treatment",
        "baseline": 0.1,
        "treatment_mean": 0.109412,
        "estimate": 0.094118,
        "se": 0.063760,
        "ci_lower": -0.030865,
        "ci_upper": 0.219100,
        "p_value": 0.139944,
        "p_value_fisher": null,
        "p_value_holm": 0.139944,
        "p_value_adjusted": 0.139944,
        "df": 10094.0,
        "chance_to_win": null,
        "risk_control": null,
        "risk_treatment": null,
        "significant": false,
        "improved": false,
        "error": null
    }],
    "error": null
})))]
pub struct AnalysisResult {
    /// SRM check over all arms; `null` when it cannot be computed (see `srm_error`).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub srm: Option<SrmResult>,
    /// Why the SRM check could not be computed (e.g. no units at all).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub srm_error: Option<String>,
    /// One entry per treatment arm, in request order.
    pub comparisons: Vec<Comparison>,
    /// Request-level problem (e.g. fewer than two arms); comparisons then carry
    /// it too. Never set in a response of `/stats/analyze`, which refuses such
    /// requests with 422.
    #[cfg_attr(feature = "openapi", schema(required = true))]
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
    if small_binomial(req) {
        for (c, t) in result.comparisons.iter_mut().zip(&req.arms[1..]) {
            c.p_value_fisher = fisher_p(control, t);
        }
    }
    let decisive: Vec<Option<f64>> = result
        .comparisons
        .iter()
        .map(|c| decision_p(req.engine, c))
        .collect();
    let raw: Vec<f64> = decisive.iter().flatten().copied().collect();
    if let Ok(adjusted) = holm(&raw) {
        let mut it = adjusted.into_iter();
        for (c, p) in result.comparisons.iter_mut().zip(&decisive) {
            if p.is_some() {
                c.p_value_holm = it.next();
                c.p_value_adjusted = c.p_value_holm;
            }
        }
    }
    for c in &mut result.comparisons {
        let p = c.p_value_adjusted;
        c.judge(req.engine, req.alpha, req.metric.inverse, p);
    }
    result
}

/// Conversions or non-conversions below which an arm counts as small, and
/// the normal approximation is not trusted.
pub const SMALL_SAMPLE_COUNT: f64 = 10.0;

/// A binomial metric (no CUPED) with an arm of fewer than
/// [`SMALL_SAMPLE_COUNT`] conversions or non-conversions.
fn small_binomial(req: &AnalysisRequest) -> bool {
    req.metric.metric_type == crate::types::MetricType::Binomial
        && !req.metric.cuped
        && req.arms.iter().any(|a| {
            let conversions = a.sum.unwrap_or(0.0);
            conversions < SMALL_SAMPLE_COUNT || a.n - conversions < SMALL_SAMPLE_COUNT
        })
}

fn fisher_p(control: &ArmData, treatment: &ArmData) -> Option<f64> {
    crate::fisher::fisher_exact_binomial(control.n, control.sum?, treatment.n, treatment.sum?).ok()
}

/// The p-value a comparison's significance rests on: Fisher's for the
/// frequentist engine when it applies; for the sequential engine the larger
/// of its always-valid p-value and Fisher's (never less conservative);
/// none for the Bayesian engine.
fn decision_p(engine: Engine, c: &Comparison) -> Option<f64> {
    match (engine, c.p_value, c.p_value_fisher) {
        (Engine::Bayesian, _, _) => None,
        (Engine::Frequentist, p, exact) => exact.or(p),
        (Engine::Sequential, Some(p), Some(exact)) => Some(p.max(exact)),
        (Engine::Sequential, p, _) => p,
    }
}

impl AnalysisRequest {
    /// Every problem that would make [`analyze`] refuse the request or a
    /// comparison for a reason other than the data's own degeneracy (zero
    /// variance and the like): bad levels, fewer than two arms, bad weights,
    /// duplicate or empty names, and missing or malformed statistics, checked
    /// against exactly the fields the engine reads ([`required_statistics`]).
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail =
            |field: String, message: String| errors.push(FieldError::new(field, message));
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            fail(
                "alpha".into(),
                format!("must be in (0, 1), got {}", self.alpha),
            );
        }
        if !(self.sequential_tuning.is_finite() && self.sequential_tuning > 0.0) {
            fail(
                "sequential_tuning".into(),
                format!("must be positive, got {}", self.sequential_tuning),
            );
        }
        if !self.prior.mean.is_finite() {
            fail("prior.mean".into(), "must be finite".into());
        }
        if self.prior.proper && !(self.prior.stddev.is_finite() && self.prior.stddev > 0.0) {
            fail(
                "prior.stddev".into(),
                format!(
                    "must be positive for a proper prior, got {}",
                    self.prior.stddev
                ),
            );
        }
        if self.arms.len() < 2 {
            fail(
                "arms".into(),
                format!(
                    "at least two arms (control + treatment) are required, got {}",
                    self.arms.len()
                ),
            );
        }
        if let Some(weights) = &self.weights {
            if weights.len() != self.arms.len() {
                fail(
                    "weights".into(),
                    format!(
                        "{} weights given for {} arms",
                        weights.len(),
                        self.arms.len()
                    ),
                );
            }
            for (i, w) in weights.iter().enumerate() {
                if !(w.is_finite() && *w > 0.0) {
                    fail(
                        format!("weights[{i}]"),
                        format!("must be positive, got {w}"),
                    );
                }
            }
        }
        let required = required_statistics(&self.metric);
        let describe = describe(&self.metric);
        let mut names = std::collections::HashSet::new();
        for (i, arm) in self.arms.iter().enumerate() {
            if arm.name.trim().is_empty() {
                fail(format!("arms[{i}].name"), "must not be empty".into());
            } else if !names.insert(arm.name.as_str()) {
                fail(
                    format!("arms[{i}].name"),
                    format!("duplicate arm name '{}'", arm.name),
                );
            }
            if !(arm.n.is_finite() && arm.n >= 0.0) {
                fail(
                    format!("arms[{i}].n"),
                    format!("must be a non-negative number, got {}", arm.n),
                );
            }
            for (name, value) in arm.statistics() {
                if value.is_some_and(|v| !v.is_finite()) {
                    fail(format!("arms[{i}].{name}"), "must be finite".into());
                }
            }
            for need in &required {
                let name = need.name();
                match arm.statistic(name) {
                    None => fail(
                        format!("arms[{i}].{name}"),
                        format!("required for {describe}"),
                    ),
                    Some(v)
                        if matches!(need, Requirement::Count(_)) && !(0.0..=arm.n).contains(&v) =>
                    {
                        fail(
                            format!("arms[{i}].{name}"),
                            format!(
                                "a binomial count must lie in [0, n] = [0, {}], got {v}",
                                arm.n
                            ),
                        );
                    }
                    Some(_) => {}
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn describe(metric: &MetricSpec) -> String {
    let kind = match metric.metric_type {
        crate::types::MetricType::Binomial => "binomial",
        crate::types::MetricType::Mean => "mean",
        crate::types::MetricType::Ratio => "ratio",
    };
    if metric.cuped {
        format!("CUPED {kind} metrics")
    } else {
        format!("{kind} metrics")
    }
}
