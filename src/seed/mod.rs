//! `verdict seed --demo`: the OKR demo — metric catalogue, the four Objective 4
//! experiments with their flags and guardrails, and optionally simulated traffic
//! (exposures through real flag evaluation, plus events) so a new user sees an
//! experiment end to end.

mod catalogue;
mod simulate;
pub mod warehouse;

use chrono::{NaiveDateTime, TimeDelta};

use crate::db::{DbConnection, DbError};
use crate::domain_error::DomainError;
use crate::experiments::{self, GuardrailPolicy, Status};
use crate::flags::{self, FlagWriteError};
use crate::metrics_catalog;

pub use simulate::{SimulationReport, simulate_users};

/// Days of traffic the demo tells the story of: its experiments were launched
/// this long ago, and the simulated users arrive over that span.
pub const DEMO_DAYS: i64 = 10;

/// The actor recorded in the audit log for demo changes.
pub const SEED_ACTOR: &str = "seed";

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// A metric or experiment was refused.
    #[error("{0}")]
    Domain(String),
    /// A flag was refused.
    #[error("flag: {0}")]
    Flag(String),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<DomainError> for SeedError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::Invalid(errors) => SeedError::Domain(
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            DomainError::Db(e) => SeedError::Db(e),
            other => SeedError::Domain(other.to_string()),
        }
    }
}

impl From<FlagWriteError> for SeedError {
    fn from(e: FlagWriteError) -> Self {
        SeedError::Flag(match e {
            FlagWriteError::Invalid(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        })
    }
}

/// What the demo seed created (existing entries are kept as they are).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// Metrics added.
    pub metrics_created: usize,
    /// Flags added.
    pub flags_created: usize,
    /// Experiments added.
    pub experiments_created: usize,
    /// Experiments launched.
    pub experiments_launched: usize,
}

/// Loads the demo catalogue, flags and experiments and launches the experiments
/// [`DEMO_DAYS`] before `now` (under the `require` guardrail policy: every demo
/// experiment has guardrails), where [`simulate_users`] starts their traffic.
/// Idempotent: what already exists is left alone.
pub fn seed_demo(conn: &mut DbConnection, now: NaiveDateTime) -> Result<SeedReport, SeedError> {
    let launched_at = now - TimeDelta::days(DEMO_DAYS);
    let mut report = SeedReport::default();
    for metric in catalogue::metrics() {
        if !metrics_catalog::metric_exists(conn, &metric.key).map_err(DbError::from)? {
            metrics_catalog::create(conn, SEED_ACTOR, metric)?;
            report.metrics_created += 1;
        }
    }
    for flag in catalogue::flags() {
        let exists = crate::definitions::get::<flags::FlagDefinition>(conn, &flag.key)
            .map_err(FlagWriteError::from)?
            .is_some();
        if !exists {
            let key = flag.key.clone();
            flags::save_flag(
                conn,
                SEED_ACTOR,
                &key,
                crate::definitions::Write::Create(flag),
            )?;
            report.flags_created += 1;
        }
    }
    for (key, definition) in catalogue::experiments() {
        let status = match experiments::get(conn, key) {
            Ok(existing) => existing.status,
            Err(DomainError::NotFound(_)) => {
                experiments::create(conn, SEED_ACTOR, key, definition)?;
                report.experiments_created += 1;
                Status::Draft
            }
            Err(e) => return Err(e.into()),
        };
        if status == Status::Draft {
            experiments::launch_at(conn, SEED_ACTOR, key, GuardrailPolicy::Require, launched_at)?;
            report.experiments_launched += 1;
        }
    }
    Ok(report)
}

/// Stores the daily results snapshots of the demo experiments from their
/// launch to `now`, as the scheduler would have while the simulated traffic
/// came in (the console's "over time" charts read them); returns how many.
pub fn daily_snapshots(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, SeedError> {
    let mut stored = 0;
    for (key, _) in catalogue::experiments() {
        let exp = experiments::get(conn, key)?;
        let Some(started) = exp.started_at.filter(|_| exp.status == Status::Running) else {
            continue;
        };
        stored += crate::results::backfill(conn, key, started, now)
            .map_err(|e| SeedError::Domain(format!("results of `{key}`: {e}")))?;
    }
    Ok(stored)
}
