//! Reports analysts and leads read: the decision SLA and the quarter's
//! experimentation OKRs.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Analyst, Authorized};
use crate::decisions::{self, KeyResult, OkrReport, SlaStatus};
use crate::http::{ApiError, Moment, Query};
use crate::state::AppState;

/// One running experiment against its decision date.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaRow {
    /// Experiment key.
    pub experiment: String,
    /// First variant assignment.
    pub first_exposure: Option<DateTime<Utc>>,
    /// Days since first exposure.
    pub days_since_first_exposure: Option<f64>,
    /// Target decision date (default: launch + 14 days).
    pub target_decision_at: Option<DateTime<Utc>>,
    /// Days left (negative: overdue).
    pub days_left: Option<f64>,
    /// `on_track`, `due_soon` (≤ 2 days left) or `overdue`.
    pub status: SlaStatus,
}

/// Running experiments by days since first exposure.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaReport {
    /// When the report was computed.
    pub as_of: DateTime<Utc>,
    /// Longest-running first.
    pub experiments: Vec<SlaRow>,
}

/// Running experiments by days since first exposure (variant assignment),
/// flagging those past their target decision date and those within 2 days of it.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = ["analyst"])),
    responses((status = 200, description = "The SLA report", body = SlaReport))
)]
#[get("/api/v1/reports/decision-sla")]
pub async fn decision_sla(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
) -> Result<web::Json<SlaReport>, ApiError> {
    let timings = state.db.run(decisions::timings).await?;
    let now = Utc::now().naive_utc();
    let experiments = decisions::decision_sla(&timings, now)
        .into_iter()
        .map(|e| SlaRow {
            experiment: e.key,
            first_exposure: e.first_exposure.map(|t| t.and_utc()),
            days_since_first_exposure: e.days_since_first_exposure,
            target_decision_at: e.target_decision_at.map(|t| t.and_utc()),
            days_left: e.days_left,
            status: e.status,
        })
        .collect();
    Ok(web::Json(SlaReport {
        as_of: now.and_utc(),
        experiments,
    }))
}

/// The reporting period.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// Start (inclusive): a date (midnight UTC) or an RFC 3339 timestamp.
    pub from: Moment,
    /// End (exclusive), after `from`: a date or an RFC 3339 timestamp.
    pub to: Moment,
}

/// The experimentation OKRs over a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExperimentationReport {
    /// Period start.
    pub from: DateTime<Utc>,
    /// Period end (exclusive).
    pub to: DateTime<Utc>,
    /// Experiments launched in the period.
    pub launched: Vec<String>,
    /// Experiments first decided in the period.
    pub decided: Vec<String>,
    /// Decided without any exposure (time to decision unknown).
    pub decided_without_exposure: Vec<String>,
    /// KR4.1, KR4.2 (share within 14 days, median days), KR4.3.
    pub key_results: Vec<KeyResult>,
}

/// Experiments launched and decided in `[from, to)`, the share decided within
/// 14 days of first exposure and the median time to decision, and the share
/// launched with a guardrail documented, each beside its target.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = ["analyst"])),
    params(PeriodQuery),
    responses((status = 200, description = "The OKR report", body = ExperimentationReport))
)]
#[get("/api/v1/reports/experimentation")]
pub async fn experimentation(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
    query: Query<PeriodQuery>,
) -> Result<web::Json<ExperimentationReport>, ApiError> {
    let (from, to) = (query.0.from.0.naive_utc(), query.0.to.0.naive_utc());
    if from >= to {
        return Err(ApiError::invalid("to", "must be after `from`"));
    }
    let timings = state.db.run(decisions::timings).await?;
    let r: OkrReport = decisions::experimentation_report(&timings, from, to);
    let key_results = decisions::key_results(&r);
    Ok(web::Json(ExperimentationReport {
        from: from.and_utc(),
        to: to.and_utc(),
        launched: r.launched,
        decided: r.decided,
        decided_without_exposure: r.decided_without_exposure,
        key_results,
    }))
}
