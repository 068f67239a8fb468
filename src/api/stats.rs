//! Stateless statistics: sample-size planning and analysis of per-arm aggregates
//! computed elsewhere (e.g. in a team's own warehouse). Nothing is stored.

use actix_web::{post, web};
use serde::Serialize;
use utoipa::ToSchema;
use verdict_stats::{AnalysisRequest, AnalysisResult, PowerRequest};

use crate::auth::{Analyst, Authorized};
use crate::http::{ApiError, Json};

/// Required sample size.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PowerResponse {
    /// Units needed in each arm (rounded up).
    #[schema(example = 57760)]
    pub n_per_arm: u64,
}

/// Analyses one metric from per-arm aggregates, without storing anything.
///
/// Runs the SRM check over all arms, then compares every treatment arm against
/// the first (control) arm with the chosen engine; frequentist and sequential
/// p-values are Holm-adjusted across arms. A comparison whose data is degenerate (zero variance, zero control
/// mean, fewer than two units, zero denominator) carries an `error` instead of
/// results; malformed input is a 422 naming the field.
#[utoipa::path(
    tag = "statistics",
    operation_id = "stats_analyze",
    security(("bearer" = ["analyst"])),
    request_body = AnalysisRequest,
    responses((status = 200, description = "SRM check and one comparison per treatment arm", body = AnalysisResult))
)]
#[post("/api/v1/stats/analyze")]
pub async fn analyze(
    _auth: Authorized<Analyst>,
    body: Json<AnalysisRequest>,
) -> Result<web::Json<AnalysisResult>, ApiError> {
    let request = body.0;
    request.validate().map_err(ApiError::Validation)?;
    let result = verdict_stats::analyze(&request);
    if let Some(error) = result.error {
        // Validation admits only requests the engine accepts.
        return Err(ApiError::internal(format!(
            "analysis rejected a validated request: {error}"
        )));
    }
    Ok(web::Json(result))
}

/// Sample size per arm for a planned experiment.
///
/// Units needed per arm to detect a relative effect of `mde_relative` with the
/// given significance and power: two-sided normal approximation with unpooled
/// variances, rounded up.
#[utoipa::path(
    tag = "statistics",
    operation_id = "stats_power",
    security(("bearer" = ["analyst"])),
    request_body = PowerRequest,
    responses((status = 200, description = "Required sample size per arm", body = PowerResponse))
)]
#[post("/api/v1/stats/power")]
pub async fn power(
    _auth: Authorized<Analyst>,
    body: Json<PowerRequest>,
) -> Result<web::Json<PowerResponse>, ApiError> {
    let input = body.0.validate().map_err(ApiError::Validation)?;
    let n_per_arm =
        verdict_stats::n_per_arm(input.baseline, input.mde_relative, input.alpha, input.power)
            .map_err(|e| {
                // Validated inputs fail only when the sample size overflows.
                ApiError::invalid("mde_relative", format!("effect too small to plan for: {e}"))
            })?;
    Ok(web::Json(PowerResponse { n_per_arm }))
}
