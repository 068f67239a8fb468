//! Experiment results: metric aggregation in SQL (per backend) into per-arm
//! sufficient statistics, the stats engines over them, guardrail verdicts, a
//! recommendation, stored snapshots and the daily snapshot scheduler.

mod aggregate;
mod analysis;
mod recommend;
mod snapshot;
pub mod sql;

pub use aggregate::{ArmSums, arm_sums};
pub use analysis::{
    ArmExposure, ArmValue, ExperimentResults, GuardrailOutcome, MetricComparison, MetricCorrection,
    MetricResult, MetricRole, PLANNED_POWER, ResultsError, SampleForecast, SrmCheck,
    apply_metric_correction, compute,
};
pub use recommend::{Action, ArmSignal, PrimaryOutcome, Recommendation, Signals, recommend};
pub use snapshot::{
    PassReport, Snapshot, SnapshotSource, latest, refresh, run_scheduler, scheduled_pass,
    slot_start,
};
