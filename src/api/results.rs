//! Experiment results over REST: the latest stored snapshot, or a recompute.

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Analyst, Authorized};
use crate::http::{ApiError, Query};
use crate::results::{
    self, ExperimentResults, MetricCorrection, ResultsError, apply_metric_correction,
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
/// scheduler); `refresh=true`, or no snapshot yet, recomputes from the data now
/// and stores it.
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
    } = query.into_inner();
    let mut results = state
        .db
        .run(move |conn| {
            let exp = crate::experiments::get(conn, &key)?;
            if !refresh && let Some(s) = results::latest(conn, &key, exp.current_phase)? {
                return Ok::<_, ResultsError>(s);
            }
            results::refresh(conn, &key)
        })
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
