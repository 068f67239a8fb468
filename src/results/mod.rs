//! Experiment results: metric aggregation in SQL (per backend) into per-arm
//! sufficient statistics, the stats engines over them, guardrail verdicts, a
//! recommendation, stored snapshots and the daily snapshot scheduler.

mod aggregate;
mod analysis;
pub mod compat;
mod recommend;
mod snapshot;
pub mod sql;
pub mod state;

pub use aggregate::{ArmSums, arm_sums, load, stored_arm_sums};
pub use analysis::{
    ArmExposure, ArmValue, ExperimentResults, GuardrailOutcome, MetricCorrection, MetricResult,
    MetricRole, PLANNED_POWER, RESULTS_SCHEMA_VERSION, ResultsError, SampleForecast,
    SnapshotSource, SrmCheck, advance_stored, apply_metric_correction, compute, compute_current,
};
pub use recommend::{Action, ArmSignal, PrimaryOutcome, Recommendation, Signals, recommend};
pub use snapshot::{
    PassReport, advance_running, latest, refresh, run_advancer, run_scheduler, scheduled_pass,
    slot_start,
};
