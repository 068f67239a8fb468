//! Serving evaluations from the snapshot and queueing the exposures they imply.

use std::sync::Arc;

use chrono::Utc;
use verdict_core::{Context, Evaluation, unit_string};

use crate::exposures::{ExposureRecord, ExposureSink};
use crate::ruleset::{EnvironmentSnapshot, Snapshots};

/// Why an evaluation could not be served.
#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    /// The caller's environment has no ruleset.
    #[error("environment `{0}` does not exist")]
    UnknownEnvironment(String),
}

/// The snapshot of `environment`.
pub fn snapshot_for(
    snapshots: &Snapshots,
    environment: &str,
) -> Result<Arc<EnvironmentSnapshot>, EvaluationError> {
    snapshots
        .environment(environment)
        .ok_or_else(|| EvaluationError::UnknownEnvironment(environment.to_owned()))
}

/// Queues the exposure `evaluation` implies, if it was served by a running
/// experiment's split. Never waits.
pub fn record_exposure(sink: &ExposureSink, ctx: &Context, evaluation: &Evaluation<'_>) {
    let Some(exposure) = evaluation.exposure else {
        return;
    };
    let Some(unit_id) = ctx.get(exposure.bucket_by).and_then(unit_string) else {
        return;
    };
    sink.record(ExposureRecord {
        experiment_key: exposure.experiment.to_owned(),
        phase: i32::try_from(exposure.phase).unwrap_or(i32::MAX),
        unit_id,
        variant: exposure.variant.to_owned(),
        first_seen: Utc::now().naive_utc(),
        dimensions: crate::exposures::dimensions_json(exposure.dimension_values(ctx)),
    });
}
