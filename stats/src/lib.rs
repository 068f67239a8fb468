//! Pure statistics engine for experiment analysis.
//!
//! Everything here is a pure function of its inputs: no I/O, clock or global
//! state, and no panics. Degenerate inputs yield [`StatsError`]s (surfaced as
//! per-comparison error strings by [`analyze`]), never NaN.
//!
//! Formulas follow GrowthBook's gbstats 0.8.0 (verified against it, scipy and
//! statsmodels by `tests/reference.rs`; see `reference/generate.py`).

#![warn(missing_docs)]

pub mod analyze;
pub mod bayesian;
mod cuped;
pub mod distributions;
pub mod effect;
pub mod error;
pub mod fisher;
pub mod frequentist;
pub mod guardrail;
pub mod moments;
pub mod multiple_testing;
pub mod power;
pub mod sequential;
pub mod srm;
pub mod types;

pub use analyze::{AnalysisRequest, AnalysisResult, Comparison, analyze};
pub use bayesian::{BayesianResult, bayesian_test};
pub use effect::{Effect, effect, welch_df};
pub use error::StatsError;
pub use fisher::{fisher_exact, fisher_exact_binomial};
pub use frequentist::{TestResult, welch_test};
pub use guardrail::{
    GuardrailResult, GuardrailSpec, GuardrailVerdict, evaluate_guardrail, guardrail,
};
pub use moments::{ArmStatistic, Requirement, pair_statistics, required_statistics};
pub use multiple_testing::{benjamini_hochberg, holm};
pub use power::{PowerBaseline, PowerPlan, PowerRequest, days_to_reach, n_per_arm};
pub use sequential::{DEFAULT_TUNING, sequential_test};
pub use srm::{SRM_THRESHOLD, SrmResult, srm_test};
pub use types::{ArmData, ComponentType, DifferenceType, Engine, MetricSpec, MetricType, Prior};
