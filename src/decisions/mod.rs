//! The decision log: append-only decisions with a frozen copy of the results
//! they rest on, acting on the flag when asked, and the reports built on it
//! (decision SLA, the quarter's experimentation OKRs).

mod csv;
mod model;
mod record;
mod report;
mod store;

pub use csv::to_csv;
pub use model::{Decision, NewDecision, Outcome};
pub use record::record;
pub use report::{
    DECISION_DAYS, ExperimentTiming, KeyResult, OkrReport, SlaEntry, SlaStatus, decision_sla,
    experimentation_report, key_results, median,
};
pub use store::{DecisionFilter, get, list, timings};
