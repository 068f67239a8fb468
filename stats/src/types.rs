//! Plain domain types describing a metric and the per-arm sufficient statistics.

use serde::{Deserialize, Serialize};

/// Kind of metric being analysed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Prior {
    /// Prior mean of the relative lift.
    #[cfg_attr(feature = "openapi", schema(default = 0.0))]
    pub mean: f64,
    /// Prior standard deviation of the relative lift (positive for a proper prior).
    #[cfg_attr(feature = "openapi", schema(default = 0.1))]
    pub stddev: f64,
    /// `false` (default) = flat (improper) prior; the other fields are then ignored.
    #[cfg_attr(feature = "openapi", schema(default = false))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({"type": "ratio", "numerator": "mean", "denominator": "mean", "cuped": true, "inverse": false})))]
pub struct MetricSpec {
    /// Metric type.
    #[serde(rename = "type")]
    #[cfg_attr(feature = "openapi", schema(rename = "type"))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", schema(example = json!({"name": "control", "n": 800, "sum": 15832.72, "sum_squares": 427804.882})))]
pub struct ArmData {
    /// Arm (variation) name, unique within the request; arm 0 is the control.
    #[cfg_attr(feature = "openapi", schema(example = "control"))]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, pattern = "\\S"))]
    pub name: String,
    /// Number of units (exposures), finite and non-negative.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, example = 800))]
    pub n: f64,
    /// Σ x (binomial: number of conversions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
    /// Σ x².
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum_squares: Option<f64>,
    /// Σ m (ratio numerator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator_sum: Option<f64>,
    /// Σ m².
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator_sum_squares: Option<f64>,
    /// Σ d (ratio denominator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator_sum: Option<f64>,
    /// Σ d².
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator_sum_squares: Option<f64>,
    /// Σ m·d.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator_denominator_sum_product: Option<f64>,
    /// Σ x_pre (CUPED covariate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_sum: Option<f64>,
    /// Σ x_pre².
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_sum_squares: Option<f64>,
    /// Σ x·x_pre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_pre_sum_product: Option<f64>,
    /// Σ m_pre (CUPED ratio).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_numerator_sum: Option<f64>,
    /// Σ m_pre².
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_numerator_sum_squares: Option<f64>,
    /// Σ d_pre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_denominator_sum: Option<f64>,
    /// Σ d_pre².
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_denominator_sum_squares: Option<f64>,
    /// Σ m·m_pre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator_pre_numerator_sum_product: Option<f64>,
    /// Σ d·d_pre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator_pre_denominator_sum_product: Option<f64>,
    /// Σ m_pre·d_pre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_numerator_pre_denominator_sum_product: Option<f64>,
    /// Σ m·d_pre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator_pre_denominator_sum_product: Option<f64>,
    /// Σ d·m_pre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator_pre_numerator_sum_product: Option<f64>,
}

impl ArmData {
    /// The statistic named `name` (a field name of this type), if given.
    pub fn statistic(&self, name: &str) -> Option<f64> {
        self.statistics()
            .into_iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v)
    }

    /// Every optional statistic with its field name.
    pub fn statistics(&self) -> [(&'static str, Option<f64>); 19] {
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
}
