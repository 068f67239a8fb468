//! Experiment results over REST: the latest stored snapshot, or a recompute.

use actix_web::{get, web};
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Analyst, Authorized};
use crate::http::{ApiError, Moment, Query};
use crate::results::{
    self, ExperimentResults, MetricCorrection, ResultsError, ResultsRequest,
    apply_metric_correction,
};
use crate::state::AppState;

/// Query options.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// Recompute from the data now (and store it) instead of serving the latest snapshot.
    #[serde(default)]
    pub refresh: bool,
    /// Correction across metrics on top of Holm across arms (default `benjamini_hochberg`).
    #[serde(default)]
    pub metric_correction: Option<MetricCorrection>,
    /// Break the results down by this dimension (one the experiment declares):
    /// per value, exposures per arm with SRM and every metric's comparisons.
    #[serde(default)]
    #[param(min_length = 1)]
    pub dimension: Option<String>,
    /// Compute from the data up to this past instant (the direct path, not
    /// stored), to reproduce what a decision saw: a date (midnight UTC) or an
    /// RFC 3339 timestamp.
    #[serde(default)]
    pub as_of: Option<Moment>,
}

impl From<ResultsError> for ApiError {
    fn from(e: ResultsError) -> Self {
        match e {
            ResultsError::NotLaunched(_) => ApiError::Conflict(e.to_string()),
            ResultsError::Domain(d) => d.into(),
        }
    }
}

/// Results of an experiment's current phase: SRM, per-metric effects with
/// raw and adjusted p-values, guardrail verdicts, the sample-size forecast and
/// a recommendation. Serves the latest stored snapshot (daily, by the
/// scheduler); `refresh=true`, or no snapshot yet (or none with the asked
/// breakdown), recomputes from the data now and stores it. `as_of` computes
/// from the data up to a past instant instead (not stored); `dimension`
/// adds the breakdown by one of the experiment's dimensions.
#[utoipa::path(
    tag = "experiments",
    security(("bearer" = ["analyst"])),
    params(("key" = String, Path, description = "Experiment key"), ResultsQuery),
    responses(
        (status = 200, description = "The results", body = ExperimentResults),
        (status = 400, description = "Bad query", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such experiment", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not launched yet", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/experiments/{key}/results")]
pub async fn experiment_results(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
    key: web::Path<String>,
    query: Query<ResultsQuery>,
) -> Result<web::Json<ExperimentResults>, ApiError> {
    let key = key.into_inner();
    let ResultsQuery {
        refresh,
        metric_correction,
        dimension,
        as_of,
    } = query.into_inner();
    let now = Utc::now();
    if let Some(Moment(at)) = as_of
        && at > now
    {
        return Err(ApiError::invalid("as_of", "must not be in the future"));
    }
    let request = ResultsRequest {
        refresh,
        dimension,
        as_of: as_of.map(|Moment(at)| at),
    };
    let mut results = state
        .db
        .run(move |conn| results::serve(conn, &key, &request))
        .await?;
    if let Some(correction) = metric_correction
        && correction != results.metric_correction
    {
        apply_metric_correction(
            &mut results.metrics,
            correction,
            results.alpha,
            results.engine,
        );
        results.metric_correction = correction;
    }
    Ok(web::Json(results))
}
