//! Experiments: definitions, the lifecycle with its launch checklist, phases,
//! and the link to the flag each experiment drives.

pub mod audit;
mod checklist;
mod flag_link;
mod model;
mod store;

pub use checklist::{GuardrailPolicy, LaunchContext, run_checklist};
pub use flag_link::experiment_rule;
pub use model::{
    AnalysisSettings, Arm, Audience, CheckItem, CheckStatus, Checklist, DEFAULT_DECISION_DAYS,
    Definition, Engine, Experiment, Guardrail, MarginType, Phase, Status, Transition, phase_salt,
    validate_assignment,
};
pub use store::{
    GuardrailCoverage, ListFilter, PhaseChange, create, experiments_using_metric, get,
    guardrail_coverage, launch, launch_at, list, phases, preview_checklist, start_phase,
    transition, update,
};
