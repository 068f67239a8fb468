//! Plain domain types describing a metric and the per-arm sufficient statistics.

use serde::{Deserialize, Serialize};

/// Kind of metric being analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricType {
    /// 0/1 outcome per unit; variance `p(1 − p)`.
    Binomial,
    /// Numeric outcome per unit; sample variance with `n − 1`.
    Mean,
    /// Ratio of two per-unit sums (e.g. revenue / sessions); delta method.
    Ratio,
}

/// Type of one component (ratio numerator/denominator, or CUPED covariate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentType {
    /// 0/1 values; variance `p(1 − p)`.
    Binomial,
    /// Numeric values; sample variance with `n − 1`.
    #[default]
    Mean,
}

/// Which effect is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DifferenceType {
    /// `(treatment − control) / control`, delta-method variance.
    #[default]
    Relative,
    /// `treatment − control`.
    Absolute,
}

/// Inference engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Fixed-horizon Welch t-test.
    #[default]
    Frequentist,
    /// Always-valid asymptotic confidence sequences (Waudby-Smith et al. 2023).
    Sequential,
    /// Gaussian approximation with optional normal prior on the effect.
    Bayesian,
}

/// Normal prior on the effect, expressed on the relative-lift scale (as gbstats
/// does); rescaled by `|control mean|` for absolute differences.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Prior {
    /// Prior mean of the relative lift.
    pub mean: f64,
    /// Prior standard deviation of the relative lift.
    pub stddev: f64,
    /// `false` = flat (improper) prior; the other fields are then ignored.
    pub proper: bool,
}

impl Default for Prior {
    fn default() -> Self {
        Self {
            mean: 0.0,
            stddev: 0.1,
            proper: false,
        }
    }
}

/// Metric definition.
///
/// Component types: a ratio's `numerator`/`denominator` default to `mean`; the
/// CUPED covariate type `pre` defaults to the metric's own type (for a ratio it
/// is the pre-period numerator's type and defaults to the numerator type; the
/// pre-period denominator always has the denominator's type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSpec {
    /// Metric type.
    #[serde(rename = "type")]
    pub metric_type: MetricType,
    /// Ratio numerator component type.
    #[serde(default)]
    pub numerator: Option<ComponentType>,
    /// Ratio denominator component type.
    #[serde(default)]
    pub denominator: Option<ComponentType>,
    /// Apply CUPED regression adjustment with pre-period data.
    #[serde(default)]
    pub cuped: bool,
    /// CUPED covariate component type.
    #[serde(default)]
    pub pre: Option<ComponentType>,
    /// Lower is better (flips chance to win and risk).
    #[serde(default)]
    pub inverse: bool,
}

impl MetricSpec {
    /// Component type of the post-period value of a non-ratio metric.
    pub(crate) fn post_type(&self) -> ComponentType {
        match self.metric_type {
            MetricType::Binomial => ComponentType::Binomial,
            _ => ComponentType::Mean,
        }
    }
    /// Ratio numerator type (default mean).
    pub(crate) fn numerator_type(&self) -> ComponentType {
        self.numerator.unwrap_or_default()
    }
    /// Ratio denominator type (default mean).
    pub(crate) fn denominator_type(&self) -> ComponentType {
        self.denominator.unwrap_or_default()
    }
    /// CUPED covariate type (default: the metric's own / the numerator's type).
    pub(crate) fn pre_type(&self) -> ComponentType {
        self.pre.unwrap_or(match self.metric_type {
            MetricType::Ratio => self.numerator_type(),
            _ => self.post_type(),
        })
    }
}

/// Sufficient statistics of one arm. Which optional fields are required depends
/// on the metric:
///
/// * binomial / mean: `sum`, `sum_squares` (ignored for binomial, where `x² = x`);
/// * ratio: `numerator_sum`, `numerator_sum_squares`, `denominator_sum`,
///   `denominator_sum_squares`, `numerator_denominator_sum_product`;
/// * CUPED binomial / mean: additionally `pre_sum`, `pre_sum_squares`, `post_pre_sum_product`;
/// * CUPED ratio (cf. gbstats' `RegressionAdjustedRatioStatistic`): the ratio
///   fields plus the pre-period `pre_numerator_sum`, `pre_numerator_sum_squares`,
///   `pre_denominator_sum`, `pre_denominator_sum_squares` and the cross products
///   `numerator_pre_numerator_sum_product` (m_post·m_pre),
///   `denominator_pre_denominator_sum_product` (d_post·d_pre),
///   `pre_numerator_pre_denominator_sum_product` (m_pre·d_pre),
///   `numerator_pre_denominator_sum_product` (m_post·d_pre),
///   `denominator_pre_numerator_sum_product` (d_post·m_pre).
///
/// All sums are over units; `n` is the number of units (exposures).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ArmData {
    /// Arm (variation) name; arm 0 is the control.
    pub name: String,
    /// Number of units.
    pub n: f64,
    /// Σ x (binomial: number of conversions).
    pub sum: Option<f64>,
    /// Σ x².
    pub sum_squares: Option<f64>,
    /// Σ m (ratio numerator).
    pub numerator_sum: Option<f64>,
    /// Σ m².
    pub numerator_sum_squares: Option<f64>,
    /// Σ d (ratio denominator).
    pub denominator_sum: Option<f64>,
    /// Σ d².
    pub denominator_sum_squares: Option<f64>,
    /// Σ m·d.
    pub numerator_denominator_sum_product: Option<f64>,
    /// Σ x_pre (CUPED covariate).
    pub pre_sum: Option<f64>,
    /// Σ x_pre².
    pub pre_sum_squares: Option<f64>,
    /// Σ x·x_pre.
    pub post_pre_sum_product: Option<f64>,
    /// Σ m_pre (CUPED ratio).
    pub pre_numerator_sum: Option<f64>,
    /// Σ m_pre².
    pub pre_numerator_sum_squares: Option<f64>,
    /// Σ d_pre.
    pub pre_denominator_sum: Option<f64>,
    /// Σ d_pre².
    pub pre_denominator_sum_squares: Option<f64>,
    /// Σ m·m_pre.
    pub numerator_pre_numerator_sum_product: Option<f64>,
    /// Σ d·d_pre.
    pub denominator_pre_denominator_sum_product: Option<f64>,
    /// Σ m_pre·d_pre.
    pub pre_numerator_pre_denominator_sum_product: Option<f64>,
    /// Σ m·d_pre.
    pub numerator_pre_denominator_sum_product: Option<f64>,
    /// Σ d·m_pre.
    pub denominator_pre_numerator_sum_product: Option<f64>,
}
