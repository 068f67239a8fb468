//! Experiment results: metric aggregation in SQL (per backend) into per-arm
//! sufficient statistics, the stats engines over them, guardrail verdicts, a
//! recommendation, stored snapshots and the daily snapshot scheduler.

mod aggregate;
mod analysis;
pub mod breakdown;
pub mod compat;
pub mod funnel;
mod recommend;
mod serve;
mod snapshot;
pub mod sql;
pub mod state;

pub use aggregate::{
    ArmSums, arm_sums, funnel_counts, load, stored_arm_sums, stored_funnel_counts,
};
pub use analysis::{
    ArmExposure, ArmValue, Breakdowns, ExperimentResults, GuardrailOutcome, MetricCorrection,
    MetricData, MetricInput, MetricResult, MetricRole, PLANNED_POWER, RESULTS_SCHEMA_VERSION,
    ResultsError, SampleForecast, SnapshotSource, SrmCheck, advance_stored,
    apply_metric_correction, assemble, compute, compute_current,
};
pub use funnel::{FunnelArm, FunnelStep};
pub use recommend::{Action, ArmSignal, PrimaryOutcome, Recommendation, Signals, recommend};
pub use serve::{ResultsRequest, serve};
pub use snapshot::{
    PassReport, advance_running, backfill, latest, refresh, run_advancer, run_scheduler,
    scheduled_pass, slot_start,
};
