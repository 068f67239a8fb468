//! The decision log over REST: PMs append, analysts read (JSON or CSV).

use actix_web::http::header::{ACCEPT, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Analyst, Authorized, Pm};
use crate::decisions::{self, Decision, DecisionFilter, NewDecision, Outcome};
use crate::http::query::DEFAULT_PAGE;
use crate::http::{ApiError, Json, Moment, Query};
use crate::results::ExperimentResults;
use crate::results::compat::Frozen;
use crate::state::AppState;

/// A decision to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "outcome": "ship", "variant": "urgency",
    "rationale": "+3.1% trial starts (p = 0.004), NPS and churn guardrails pass",
    "links": ["https://wiki.example/cta-copy-readout"], "apply": true
}))]
pub struct DecisionRequest {
    /// `ship`, `roll_back`, `iterate` or `inconclusive`.
    pub outcome: Outcome,
    /// The variant shipped (required with `ship`, refused otherwise).
    #[serde(default)]
    pub variant: Option<String>,
    /// Why (required).
    #[schema(min_length = 1, pattern = "\\S")]
    pub rationale: String,
    /// Supporting links (read-outs, dashboards).
    #[serde(default)]
    pub links: Vec<String>,
    /// Id of the decision this one corrects.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub supersedes: Option<i64>,
    /// Also act on the flag: `ship` serves the variant to everyone the
    /// experiment covered, `roll_back` serves control. Audited like any flag change.
    #[serde(default)]
    pub apply: bool,
}

/// A recorded decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    /// Position in the log.
    pub id: i64,
    /// Experiment decided.
    #[schema(example = "cta_copy")]
    pub experiment: String,
    /// What was decided.
    pub outcome: Outcome,
    /// The variant shipped.
    #[schema(required = true)]
    pub variant: Option<String>,
    /// Why.
    pub rationale: String,
    /// Supporting links.
    pub links: Vec<String>,
    /// Who (token subject).
    pub author: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The decision this one corrects.
    #[schema(required = true)]
    pub supersedes: Option<i64>,
    /// What was done to the flag, if anything.
    #[schema(required = true)]
    pub action_taken: Option<String>,
    /// The results the decision rests on, frozen when it was recorded, in
    /// the current shape whatever version recorded them (only in
    /// single-decision reads and right after recording).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results_snapshot: Option<ExperimentResults>,
    /// Why a decision recorded by an early version froze no results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results_unavailable: Option<String>,
}

impl DecisionView {
    fn new(d: Decision, with_snapshot: bool) -> Self {
        let (results_snapshot, results_unavailable) = match d.results_snapshot {
            _ if !with_snapshot => (None, None),
            Frozen::Results(results) => (Some(*results), None),
            Frozen::Unavailable(reason) => (None, Some(reason)),
        };
        Self {
            id: d.id,
            experiment: d.experiment_key,
            outcome: d.outcome,
            variant: d.variant,
            rationale: d.rationale,
            links: d.links,
            author: d.author,
            created_at: d.created_at,
            supersedes: d.supersedes,
            action_taken: d.action_taken,
            results_snapshot,
            results_unavailable,
        }
    }
}

/// Records a decision on an experiment: appended to the log with a frozen copy
/// of the results, moves the experiment to `decided`. Corrections reference the
/// decision they supersede. Decisions are never edited or deleted.
#[utoipa::path(
    tag = "decisions",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = "Experiment key")),
    request_body = DecisionRequest,
    responses(
        (status = 201, description = "Recorded", body = DecisionView),
        (status = 404, description = "No such experiment", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not decidable now (e.g. already decided: supersede instead)", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/experiments/{key}/decisions")]
pub async fn record_decision(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: Json<DecisionRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.0;
    let new = NewDecision {
        experiment_key: key.into_inner(),
        outcome: request.outcome,
        variant: request.variant,
        rationale: request.rationale,
        links: request.links,
        supersedes: request.supersedes,
        apply: request.apply,
    };
    let actor = auth.caller.subject;
    let decision = state
        .db
        .run(move |conn| decisions::record(conn, &actor, new))
        .await?;
    if decision.action_taken.is_some() {
        state.refresh_snapshot().await;
    }
    Ok(HttpResponse::Created().json(DecisionView::new(decision, true)))
}

/// Filters and paging for the decision log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DecisionQuery {
    /// Only this experiment.
    pub experiment: Option<String>,
    /// Only this outcome.
    pub outcome: Option<Outcome>,
    /// Only by this author.
    pub author: Option<String>,
    /// Recorded at or after (a date or an RFC 3339 timestamp).
    pub from: Option<Moment>,
    /// Recorded before (a date or an RFC 3339 timestamp).
    pub to: Option<Moment>,
    /// Page size, 1–500 (default 100).
    #[serde(default, deserialize_with = "crate::http::query::page_limit")]
    #[param(minimum = 1, maximum = 500, default = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "crate::http::query::page_cursor")]
    #[param(minimum = 1)]
    pub cursor: Option<i64>,
}

/// A page of decisions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionPage {
    /// The decisions.
    pub decisions: Vec<DecisionView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<i64>,
}

/// Lists decisions, newest first (stable order by id), filtered and paged with a
/// cursor. Send `Accept: text/csv` for a CSV export of the page.
#[utoipa::path(
    tag = "decisions",
    security(("bearer" = ["analyst"])),
    params(DecisionQuery),
    responses(
        (status = 200, description = "A page of decisions (JSON, or CSV with `Accept: text/csv`)",
            content((DecisionPage = "application/json"), (String = "text/csv"))),
    )
)]
#[get("/api/v1/decisions")]
pub async fn list_decisions(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
    query: Query<DecisionQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = i64::from(q.limit.unwrap_or(DEFAULT_PAGE));
    let filter = DecisionFilter {
        experiment: q.experiment,
        outcome: q.outcome,
        author: q.author,
        from: q.from.map(|t| t.0.naive_utc()),
        to: q.to.map(|t| t.0.naive_utc()),
        before_id: q.cursor,
        limit: limit + 1,
    };
    let mut rows = state
        .db
        .run(move |conn| decisions::list(conn, &filter))
        .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|d| d.id)
    } else {
        None
    };
    if wants_csv(&req) {
        let mut response = HttpResponse::Ok();
        response.insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"));
        if let Some(cursor) = next_cursor {
            response.insert_header(("X-Next-Cursor", cursor.to_string()));
        }
        return Ok(response.body(decisions::to_csv(&rows)));
    }
    Ok(HttpResponse::Ok().json(DecisionPage {
        decisions: rows
            .into_iter()
            .map(|d| DecisionView::new(d, false))
            .collect(),
        next_cursor,
    }))
}

/// Reads one decision with the results snapshot it was based on.
#[utoipa::path(
    tag = "decisions",
    security(("bearer" = ["analyst"])),
    params(("id" = i64, Path, description = "Decision id")),
    responses(
        (status = 200, description = "The decision", body = DecisionView),
        (status = 404, description = "No such decision", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/decisions/{id}")]
pub async fn get_decision(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<DecisionView>, ApiError> {
    let id = id.into_inner();
    let decision = state
        .db
        .run(move |conn| decisions::get(conn, id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("decision {id} does not exist")))?;
    Ok(web::Json(DecisionView::new(decision, true)))
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().starts_with("text/csv")))
}
