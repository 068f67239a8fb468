//! HTTP shapes of the statistics endpoints and their translation to and from the
//! `verdict-stats` domain types. Validation lives here: every request that passes
//! [`AnalyzeRequest::into_domain`] / [`PowerRequest::into_domain`] is one the
//! engine accepts, so a bad value is a 422 naming its field, never a 500.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use verdict_stats::{
    AnalysisRequest, AnalysisResult, ArmData, Comparison, ComponentType, DifferenceType, Engine,
    MetricSpec, MetricType, PowerBaseline, Prior, SrmResult,
};

use crate::http::FieldError;

// ---------------------------------------------------------------------------
// Analysis request
// ---------------------------------------------------------------------------

/// Kind of metric being analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatsMetricType {
    /// 0/1 outcome per unit; `sum` counts conversions.
    Binomial,
    /// Numeric outcome per unit; needs `sum` and `sum_squares`.
    Mean,
    /// Ratio of two per-unit sums (e.g. revenue / sessions), delta method.
    Ratio,
}

/// Type of one component: a ratio's numerator or denominator, or the CUPED covariate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatsComponentType {
    /// 0/1 values: only the sum is needed, and it must lie in `[0, n]`.
    Binomial,
    /// Numeric values: the sum and the sum of squares are needed.
    Mean,
}

/// Inference engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatsEngine {
    /// Fixed-horizon Welch t-test.
    #[default]
    Frequentist,
    /// Always-valid confidence sequences: results may be read at any time.
    Sequential,
    /// Gaussian posterior with an optional normal prior on the relative lift.
    Bayesian,
}

/// Which effect is reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatsDifference {
    /// `(treatment − control) / control`.
    #[default]
    Relative,
    /// `treatment − control`.
    Absolute,
}

/// The metric being analysed.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"type": "ratio", "numerator": "mean", "denominator": "mean", "cuped": true, "inverse": false}))]
pub struct AnalyzeMetric {
    /// Metric type.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub metric_type: StatsMetricType,
    /// Ratio numerator type (default `mean`; ratio metrics only).
    #[serde(default)]
    pub numerator: Option<StatsComponentType>,
    /// Ratio denominator type (default `mean`; ratio metrics only).
    #[serde(default)]
    pub denominator: Option<StatsComponentType>,
    /// Apply CUPED regression adjustment; the arms then carry pre-period statistics.
    #[serde(default)]
    pub cuped: bool,
    /// CUPED covariate type (default: the metric's own type; for a ratio, the
    /// pre-period numerator's type, defaulting to the numerator's).
    #[serde(default)]
    pub pre: Option<StatsComponentType>,
    /// Lower is better: flips the Bayesian chance to win and risks.
    #[serde(default)]
    pub inverse: bool,
}

/// Normal prior on the relative lift (Bayesian engine only).
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
#[schema(example = json!({"mean": 0.0, "stddev": 0.1, "proper": true}))]
pub struct AnalyzePrior {
    /// Prior mean of the relative lift.
    #[schema(default = 0.0)]
    pub mean: f64,
    /// Prior standard deviation of the relative lift (positive).
    #[schema(default = 0.1)]
    pub stddev: f64,
    /// `false` (default) means a flat prior; `mean` and `stddev` are then ignored.
    #[schema(default = false)]
    pub proper: bool,
}

impl Default for AnalyzePrior {
    fn default() -> Self {
        let prior = Prior::default();
        Self {
            mean: prior.mean,
            stddev: prior.stddev,
            proper: prior.proper,
        }
    }
}

/// Sufficient statistics of one arm, summed over its units. Which statistics are
/// required depends on the metric:
///
/// * binomial: `sum` (conversions, in `[0, n]`); mean: `sum`, `sum_squares`;
/// * ratio: `numerator_sum`, `denominator_sum` (plus their `_sum_squares` for
///   `mean` components) and `numerator_denominator_sum_product`;
/// * CUPED binomial/mean: also `pre_sum` (+ `pre_sum_squares`) and `post_pre_sum_product`;
/// * CUPED ratio: also `pre_numerator_sum`, `pre_denominator_sum` (+ squares) and
///   the five cross products `numerator_pre_numerator_sum_product`,
///   `denominator_pre_denominator_sum_product`, `pre_numerator_pre_denominator_sum_product`,
///   `numerator_pre_denominator_sum_product`, `denominator_pre_numerator_sum_product`.
///
/// Statistics the metric does not use are ignored.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "control", "n": 800, "sum": 15832.72, "sum_squares": 427804.882}))]
pub struct AnalyzeArm {
    /// Arm (variation) name, unique within the request; the first arm is the control.
    #[schema(example = "control")]
    pub name: String,
    /// Number of units (exposures).
    #[schema(minimum = 0, example = 800)]
    pub n: f64,
    /// Σ x (binomial: number of conversions).
    #[serde(default)]
    pub sum: Option<f64>,
    /// Σ x².
    #[serde(default)]
    pub sum_squares: Option<f64>,
    /// Σ m (ratio numerator).
    #[serde(default)]
    pub numerator_sum: Option<f64>,
    /// Σ m².
    #[serde(default)]
    pub numerator_sum_squares: Option<f64>,
    /// Σ d (ratio denominator).
    #[serde(default)]
    pub denominator_sum: Option<f64>,
    /// Σ d².
    #[serde(default)]
    pub denominator_sum_squares: Option<f64>,
    /// Σ m·d.
    #[serde(default)]
    pub numerator_denominator_sum_product: Option<f64>,
    /// Σ x_pre (CUPED covariate).
    #[serde(default)]
    pub pre_sum: Option<f64>,
    /// Σ x_pre².
    #[serde(default)]
    pub pre_sum_squares: Option<f64>,
    /// Σ x·x_pre.
    #[serde(default)]
    pub post_pre_sum_product: Option<f64>,
    /// Σ m_pre (CUPED ratio).
    #[serde(default)]
    pub pre_numerator_sum: Option<f64>,
    /// Σ m_pre².
    #[serde(default)]
    pub pre_numerator_sum_squares: Option<f64>,
    /// Σ d_pre.
    #[serde(default)]
    pub pre_denominator_sum: Option<f64>,
    /// Σ d_pre².
    #[serde(default)]
    pub pre_denominator_sum_squares: Option<f64>,
    /// Σ m·m_pre.
    #[serde(default)]
    pub numerator_pre_numerator_sum_product: Option<f64>,
    /// Σ d·d_pre.
    #[serde(default)]
    pub denominator_pre_denominator_sum_product: Option<f64>,
    /// Σ m_pre·d_pre.
    #[serde(default)]
    pub pre_numerator_pre_denominator_sum_product: Option<f64>,
    /// Σ m·d_pre.
    #[serde(default)]
    pub numerator_pre_denominator_sum_product: Option<f64>,
    /// Σ d·m_pre.
    #[serde(default)]
    pub denominator_pre_numerator_sum_product: Option<f64>,
}

fn default_alpha() -> f64 {
    0.05
}

fn default_tuning() -> f64 {
    verdict_stats::DEFAULT_TUNING
}

fn default_power() -> f64 {
    0.8
}

/// Aggregates of one metric per arm, to analyse without storing anything.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "metric": {"type": "binomial"},
    "engine": "frequentist",
    "difference": "relative",
    "alpha": 0.05,
    "weights": [0.5, 0.5],
    "arms": [
        {"name": "control", "n": 5000, "sum": 500},
        {"name": "treatment", "n": 5100, "sum": 558}
    ]
}))]
pub struct AnalyzeRequest {
    /// The metric.
    pub metric: AnalyzeMetric,
    /// Inference engine (default `frequentist`).
    #[serde(default)]
    pub engine: StatsEngine,
    /// Relative lift or absolute difference (default `relative`).
    #[serde(default)]
    pub difference: StatsDifference,
    /// Two-sided significance level in (0, 1); the intervals have level `1 − alpha`.
    #[serde(default = "default_alpha")]
    #[schema(default = 0.05, exclusive_minimum = 0, exclusive_maximum = 1)]
    pub alpha: f64,
    /// Sequential engine tuning: the sample size at which the confidence
    /// sequence is tightest (positive).
    #[serde(default = "default_tuning")]
    #[schema(default = 5000, exclusive_minimum = 0)]
    pub sequential_tuning: f64,
    /// Prior for the Bayesian engine (default flat).
    #[serde(default)]
    pub prior: AnalyzePrior,
    /// Planned traffic weights per arm for the SRM check, any positive scale
    /// (default equal).
    #[serde(default)]
    pub weights: Option<Vec<f64>>,
    /// At least two arms; the first is the control.
    pub arms: Vec<AnalyzeArm>,
}

/// A statistic the metric needs from every arm.
#[derive(Debug, Clone, Copy)]
enum Need {
    /// A finite value.
    Value(&'static str),
    /// A binomial count: a value in `[0, n]`.
    Count(&'static str),
}

fn component(needs: &mut Vec<Need>, kind: ComponentType, sum: &'static str, squares: &'static str) {
    match kind {
        ComponentType::Binomial => needs.push(Need::Count(sum)),
        ComponentType::Mean => needs.extend([Need::Value(sum), Need::Value(squares)]),
    }
}

impl StatsComponentType {
    fn domain(self) -> ComponentType {
        match self {
            Self::Binomial => ComponentType::Binomial,
            Self::Mean => ComponentType::Mean,
        }
    }
}

impl AnalyzeMetric {
    fn domain(&self) -> MetricSpec {
        MetricSpec {
            metric_type: match self.metric_type {
                StatsMetricType::Binomial => MetricType::Binomial,
                StatsMetricType::Mean => MetricType::Mean,
                StatsMetricType::Ratio => MetricType::Ratio,
            },
            numerator: self.numerator.map(StatsComponentType::domain),
            denominator: self.denominator.map(StatsComponentType::domain),
            cuped: self.cuped,
            pre: self.pre.map(StatsComponentType::domain),
            inverse: self.inverse,
        }
    }

    /// The statistics every arm must carry (mirrors the engine's field lookups,
    /// with the same component-type defaults as [`MetricSpec`]).
    fn needs(&self) -> Vec<Need> {
        let mut needs = Vec::new();
        let numerator = self.numerator.map_or(ComponentType::Mean, |c| c.domain());
        let denominator = self.denominator.map_or(ComponentType::Mean, |c| c.domain());
        match self.metric_type {
            StatsMetricType::Binomial | StatsMetricType::Mean => {
                let post = if self.metric_type == StatsMetricType::Binomial {
                    ComponentType::Binomial
                } else {
                    ComponentType::Mean
                };
                component(&mut needs, post, "sum", "sum_squares");
                if self.cuped {
                    let pre = self.pre.map_or(post, |c| c.domain());
                    component(&mut needs, pre, "pre_sum", "pre_sum_squares");
                    needs.push(Need::Value("post_pre_sum_product"));
                }
            }
            StatsMetricType::Ratio => {
                component(
                    &mut needs,
                    numerator,
                    "numerator_sum",
                    "numerator_sum_squares",
                );
                component(
                    &mut needs,
                    denominator,
                    "denominator_sum",
                    "denominator_sum_squares",
                );
                needs.push(Need::Value("numerator_denominator_sum_product"));
                if self.cuped {
                    let pre = self.pre.map_or(numerator, |c| c.domain());
                    component(
                        &mut needs,
                        pre,
                        "pre_numerator_sum",
                        "pre_numerator_sum_squares",
                    );
                    component(
                        &mut needs,
                        denominator,
                        "pre_denominator_sum",
                        "pre_denominator_sum_squares",
                    );
                    needs.extend(
                        [
                            "numerator_pre_numerator_sum_product",
                            "denominator_pre_denominator_sum_product",
                            "pre_numerator_pre_denominator_sum_product",
                            "numerator_pre_denominator_sum_product",
                            "denominator_pre_numerator_sum_product",
                        ]
                        .map(Need::Value),
                    );
                }
            }
        }
        needs
    }

    fn describe(&self) -> String {
        let kind = match self.metric_type {
            StatsMetricType::Binomial => "binomial",
            StatsMetricType::Mean => "mean",
            StatsMetricType::Ratio => "ratio",
        };
        if self.cuped {
            format!("CUPED {kind} metrics")
        } else {
            format!("{kind} metrics")
        }
    }
}

impl AnalyzeArm {
    /// Every optional statistic with its field name.
    fn statistics(&self) -> [(&'static str, Option<f64>); 19] {
        [
            ("sum", self.sum),
            ("sum_squares", self.sum_squares),
            ("numerator_sum", self.numerator_sum),
            ("numerator_sum_squares", self.numerator_sum_squares),
            ("denominator_sum", self.denominator_sum),
            ("denominator_sum_squares", self.denominator_sum_squares),
            (
                "numerator_denominator_sum_product",
                self.numerator_denominator_sum_product,
            ),
            ("pre_sum", self.pre_sum),
            ("pre_sum_squares", self.pre_sum_squares),
            ("post_pre_sum_product", self.post_pre_sum_product),
            ("pre_numerator_sum", self.pre_numerator_sum),
            ("pre_numerator_sum_squares", self.pre_numerator_sum_squares),
            ("pre_denominator_sum", self.pre_denominator_sum),
            (
                "pre_denominator_sum_squares",
                self.pre_denominator_sum_squares,
            ),
            (
                "numerator_pre_numerator_sum_product",
                self.numerator_pre_numerator_sum_product,
            ),
            (
                "denominator_pre_denominator_sum_product",
                self.denominator_pre_denominator_sum_product,
            ),
            (
                "pre_numerator_pre_denominator_sum_product",
                self.pre_numerator_pre_denominator_sum_product,
            ),
            (
                "numerator_pre_denominator_sum_product",
                self.numerator_pre_denominator_sum_product,
            ),
            (
                "denominator_pre_numerator_sum_product",
                self.denominator_pre_numerator_sum_product,
            ),
        ]
    }

    fn domain(self) -> ArmData {
        ArmData {
            name: self.name,
            n: self.n,
            sum: self.sum,
            sum_squares: self.sum_squares,
            numerator_sum: self.numerator_sum,
            numerator_sum_squares: self.numerator_sum_squares,
            denominator_sum: self.denominator_sum,
            denominator_sum_squares: self.denominator_sum_squares,
            numerator_denominator_sum_product: self.numerator_denominator_sum_product,
            pre_sum: self.pre_sum,
            pre_sum_squares: self.pre_sum_squares,
            post_pre_sum_product: self.post_pre_sum_product,
            pre_numerator_sum: self.pre_numerator_sum,
            pre_numerator_sum_squares: self.pre_numerator_sum_squares,
            pre_denominator_sum: self.pre_denominator_sum,
            pre_denominator_sum_squares: self.pre_denominator_sum_squares,
            numerator_pre_numerator_sum_product: self.numerator_pre_numerator_sum_product,
            denominator_pre_denominator_sum_product: self.denominator_pre_denominator_sum_product,
            pre_numerator_pre_denominator_sum_product: self
                .pre_numerator_pre_denominator_sum_product,
            numerator_pre_denominator_sum_product: self.numerator_pre_denominator_sum_product,
            denominator_pre_numerator_sum_product: self.denominator_pre_numerator_sum_product,
        }
    }
}

fn in_unit_interval(x: f64) -> bool {
    x > 0.0 && x < 1.0
}

impl AnalyzeRequest {
    /// Validates the request and converts it to the engine's input; every
    /// offending field is reported.
    pub fn into_domain(self) -> Result<AnalysisRequest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut fail =
            |field: String, message: String| errors.push(FieldError::new(field, message));
        if !in_unit_interval(self.alpha) {
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
        let needs = self.metric.needs();
        let mut names = HashSet::new();
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
            let statistics = arm.statistics();
            for (name, value) in statistics {
                if value.is_some_and(|v| !v.is_finite()) {
                    fail(format!("arms[{i}].{name}"), "must be finite".into());
                }
            }
            let value = |name: &str| {
                statistics
                    .iter()
                    .find(|(n, _)| *n == name)
                    .and_then(|(_, v)| *v)
            };
            for need in &needs {
                let (Need::Value(name) | Need::Count(name)) = *need;
                match value(name) {
                    None => fail(
                        format!("arms[{i}].{name}"),
                        format!("required for {}", self.metric.describe()),
                    ),
                    Some(v) if matches!(need, Need::Count(_)) && !(0.0..=arm.n).contains(&v) => {
                        fail(
                            format!("arms[{i}].{name}"),
                            format!(
                                "a binomial count must lie in [0, n] = [0, {}], got {v}",
                                arm.n
                            ),
                        )
                    }
                    Some(_) => {}
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AnalysisRequest {
            metric: self.metric.domain(),
            engine: match self.engine {
                StatsEngine::Frequentist => Engine::Frequentist,
                StatsEngine::Sequential => Engine::Sequential,
                StatsEngine::Bayesian => Engine::Bayesian,
            },
            difference: match self.difference {
                StatsDifference::Relative => DifferenceType::Relative,
                StatsDifference::Absolute => DifferenceType::Absolute,
            },
            alpha: self.alpha,
            sequential_tuning: self.sequential_tuning,
            prior: Prior {
                mean: self.prior.mean,
                stddev: self.prior.stddev,
                proper: self.prior.proper,
            },
            weights: self.weights,
            arms: self.arms.into_iter().map(AnalyzeArm::domain).collect(),
        })
    }
}

// ---------------------------------------------------------------------------
// Analysis response
// ---------------------------------------------------------------------------

/// Sample-ratio-mismatch check of the arms' unit counts against the planned weights.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"chi_square": 0.990099, "p_value": 0.319718, "mismatch": false}))]
pub struct AnalyzeSrm {
    /// Pearson chi-square statistic.
    pub chi_square: f64,
    /// Upper-tail chi-square p-value with `arms − 1` degrees of freedom.
    pub p_value: f64,
    /// `p_value < 0.001`: the traffic split is suspect and results should not be trusted.
    pub mismatch: bool,
}

/// One treatment arm against the control. Values an engine does not produce,
/// or that could not be computed (see `error`), are `null`; every field is
/// always present.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "arm": "treatment",
    "baseline": 0.1,
    "treatment_mean": 0.109412,
    "estimate": 0.094118,
    "se": 0.063760,
    "ci_lower": -0.030865,
    "ci_upper": 0.219100,
    "p_value": 0.139944,
    "p_value_adjusted": 0.139944,
    "df": 10094.0,
    "chance_to_win": null,
    "risk_control": null,
    "risk_treatment": null,
    "error": null
}))]
pub struct AnalyzeComparison {
    /// Treatment arm name.
    pub arm: String,
    /// Control mean (unadjusted).
    #[schema(required = true)]
    pub baseline: Option<f64>,
    /// Treatment mean (unadjusted).
    #[schema(required = true)]
    pub treatment_mean: Option<f64>,
    /// Relative lift or absolute difference (Bayesian: posterior mean).
    #[schema(required = true)]
    pub estimate: Option<f64>,
    /// Standard error (Bayesian: posterior standard deviation).
    #[schema(required = true)]
    pub se: Option<f64>,
    /// Lower bound of the `1 − alpha` confidence interval, confidence sequence or
    /// credible interval.
    #[schema(required = true)]
    pub ci_lower: Option<f64>,
    /// Upper bound of that interval.
    #[schema(required = true)]
    pub ci_upper: Option<f64>,
    /// Two-sided p-value (frequentist and sequential).
    #[schema(required = true)]
    pub p_value: Option<f64>,
    /// Holm–Bonferroni adjusted p-value across the treatment arms.
    #[schema(required = true)]
    pub p_value_adjusted: Option<f64>,
    /// Welch degrees of freedom (frequentist).
    #[schema(required = true)]
    pub df: Option<f64>,
    /// Probability that the treatment is better (Bayesian; direction-aware).
    #[schema(required = true)]
    pub chance_to_win: Option<f64>,
    /// Expected loss of keeping the control (Bayesian).
    #[schema(required = true)]
    pub risk_control: Option<f64>,
    /// Expected loss of shipping the treatment (Bayesian).
    #[schema(required = true)]
    pub risk_treatment: Option<f64>,
    /// Why this comparison could not be computed (e.g. zero variance, zero
    /// control mean, too few units); the inference fields are then `null`.
    #[schema(required = true)]
    pub error: Option<String>,
}

/// Result of a stateless analysis.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
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
        "p_value_adjusted": 0.139944,
        "df": 10094.0,
        "chance_to_win": null,
        "risk_control": null,
        "risk_treatment": null,
        "error": null
    }]
}))]
pub struct AnalyzeResponse {
    /// SRM check; `null` when it cannot be computed (see `srm_error`).
    #[schema(required = true)]
    pub srm: Option<AnalyzeSrm>,
    /// Why the SRM check could not be computed (e.g. no units at all).
    #[schema(required = true)]
    pub srm_error: Option<String>,
    /// One comparison per treatment arm, in request order.
    pub comparisons: Vec<AnalyzeComparison>,
}

impl From<SrmResult> for AnalyzeSrm {
    fn from(s: SrmResult) -> Self {
        Self {
            chi_square: s.chi_square,
            p_value: s.p_value,
            mismatch: s.mismatch,
        }
    }
}

impl From<Comparison> for AnalyzeComparison {
    fn from(c: Comparison) -> Self {
        Self {
            arm: c.arm,
            baseline: c.baseline,
            treatment_mean: c.treatment_mean,
            estimate: c.estimate,
            se: c.se,
            ci_lower: c.ci_lower,
            ci_upper: c.ci_upper,
            p_value: c.p_value,
            p_value_adjusted: c.p_value_adjusted,
            df: c.df,
            chance_to_win: c.chance_to_win,
            risk_control: c.risk_control,
            risk_treatment: c.risk_treatment,
            error: c.error,
        }
    }
}

impl From<AnalysisResult> for AnalyzeResponse {
    fn from(r: AnalysisResult) -> Self {
        Self {
            srm: r.srm.map(AnalyzeSrm::from),
            srm_error: r.srm_error,
            comparisons: r.comparisons.into_iter().map(Into::into).collect(),
        }
    }
}

// ---------------------------------------------------------------------------
// Power
// ---------------------------------------------------------------------------

/// Sample-size planning input: either `baseline_rate`, or `baseline_mean` with
/// `baseline_sd`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"baseline_rate": 0.1, "mde_relative": 0.05, "alpha": 0.05, "power": 0.8}))]
pub struct PowerRequest {
    /// Baseline conversion rate in (0, 1), for a binomial metric.
    #[serde(default)]
    #[schema(exclusive_minimum = 0, exclusive_maximum = 1)]
    pub baseline_rate: Option<f64>,
    /// Baseline mean (non-zero), for a mean metric; needs `baseline_sd`.
    #[serde(default)]
    pub baseline_mean: Option<f64>,
    /// Baseline standard deviation (positive), shared by both arms.
    #[serde(default)]
    #[schema(exclusive_minimum = 0)]
    pub baseline_sd: Option<f64>,
    /// Minimum detectable effect relative to the baseline (non-zero; e.g. 0.05 = +5 %).
    pub mde_relative: f64,
    /// Two-sided significance level in (0, 1).
    #[serde(default = "default_alpha")]
    #[schema(default = 0.05, exclusive_minimum = 0, exclusive_maximum = 1)]
    pub alpha: f64,
    /// Probability of detecting the effect when it is real, in (0, 1).
    #[serde(default = "default_power")]
    #[schema(default = 0.8, exclusive_minimum = 0, exclusive_maximum = 1)]
    pub power: f64,
}

/// Required sample size.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PowerResponse {
    /// Units needed in each arm (rounded up).
    #[schema(example = 57760)]
    pub n_per_arm: u64,
}

/// Validated power inputs, ready for [`verdict_stats::n_per_arm`].
#[derive(Debug, Clone, Copy)]
pub struct PowerInput {
    /// The baseline.
    pub baseline: PowerBaseline,
    /// Relative minimum detectable effect.
    pub mde_relative: f64,
    /// Significance level.
    pub alpha: f64,
    /// Power.
    pub power: f64,
}

impl PowerRequest {
    /// Validates the request; every offending field is reported.
    pub fn into_domain(self) -> Result<PowerInput, Vec<FieldError>> {
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
            Some(baseline) if errors.is_empty() => Ok(PowerInput {
                baseline,
                mde_relative: mde,
                alpha: self.alpha,
                power: self.power,
            }),
            _ => Err(errors),
        }
    }
}
