//! Experiment results: metric aggregation in SQL (per backend) into per-arm
//! sufficient statistics, the stats engines over them, guardrail verdicts, a
//! recommendation, stored snapshots and the daily snapshot scheduler.

mod aggregate;
mod analysis;
mod recommend;
mod snapshot;
pub mod sql;
pub mod state;

pub use aggregate::{ArmSums, arm_sums, load, stored_arm_sums};
pub use analysis::{
    ArmExposure, ArmValue, ExperimentResults, GuardrailOutcome, MetricComparison, MetricCorrection,
    MetricResult, MetricRole, PLANNED_POWER, ResultsError, SampleForecast, SrmCheck,
    advance_stored, apply_metric_correction, compute, compute_current,
};
pub use recommend::{Action, ArmSignal, PrimaryOutcome, Recommendation, Signals, recommend};
pub use snapshot::{
    PassReport, Snapshot, SnapshotSource, advance_running, latest, refresh, run_advancer,
    run_scheduler, scheduled_pass, slot_start,
};
