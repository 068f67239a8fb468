//! Error type shared by every engine; its `Display` text is the per-comparison error string.

use thiserror::Error;

/// Why a statistic could not be computed. Never a panic, never a NaN.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StatsError {
    /// A request-level or field-level value is malformed (NaN, negative count, bad alpha, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A field required by the metric type is absent.
    #[error("missing field `{field}` for arm '{arm}'")]
    MissingField {
        /// Arm name.
        arm: String,
        /// Field name as in [`crate::ArmData`].
        field: &'static str,
    },
    /// An arm has fewer than two units.
    #[error("too few units in arm '{0}': n must be at least 2")]
    TooFewUnits(String),
    /// An arm's (possibly CUPED-adjusted) variance is zero or negative.
    #[error("zero or negative variance in arm '{0}'")]
    ZeroVariance(String),
    /// The control mean is zero, so a relative lift is undefined.
    #[error("control mean is zero: relative lift is undefined")]
    ZeroControlMean,
    /// A ratio metric's denominator mean is zero.
    #[error("zero denominator in ratio metric for arm '{0}'")]
    ZeroDenominator(String),
    /// A computation overflowed or became undefined.
    #[error("numerical failure: {0}")]
    NonFinite(&'static str),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, StatsError>;

/// Turns a non-finite value into [`StatsError::NonFinite`].
pub(crate) fn finite(value: f64, what: &'static str) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(StatsError::NonFinite(what))
    }
}

/// Checks that `alpha` lies strictly between 0 and 1.
pub(crate) fn check_alpha(alpha: f64) -> Result<()> {
    if alpha > 0.0 && alpha < 1.0 {
        Ok(())
    } else {
        Err(StatsError::InvalidInput(format!(
            "alpha must be in (0, 1), got {alpha}"
        )))
    }
}
