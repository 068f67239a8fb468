//! Experiments over REST: PMs define and move them through their lifecycle,
//! analysts read them.

use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Analyst, Authorized, Pm};
use crate::experiments::{
    self as exp, AnalysisSettings, Arm, Audience, Checklist, Definition, Experiment, Guardrail,
    ListFilter, Phase, PhaseChange, Status, Transition,
};
use crate::http::{ApiError, Json, Moment, Query};
use crate::state::AppState;

fn default_environment() -> String {
    "production".into()
}

fn default_allocation() -> f64 {
    100.0
}

/// An experiment definition as written by a PM.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "key": "cta_copy",
    "name": "CTA copy: urgency vs control",
    "hypothesis": "Urgency wording on the alert CTA raises alert CTR by 10% without hurting NPS",
    "flag": "cta_copy",
    "arms": [{"variant": "control", "weight": 50}, {"variant": "urgency", "weight": 50}],
    "allocation": 100,
    "primary_metric": "alert_ctr",
    "guardrails": [{"metric": "nps", "max_degradation": 2.0}],
    "analysis": {"engine": "sequential", "alpha": 0.05, "cuped": true, "cuped_pre_period_days": 14}
}))]
pub struct ExperimentIn {
    /// Slug; required on create, must match the path (or be omitted) on update.
    #[serde(default)]
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub key: Option<String>,
    /// Display name.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// Responsible person (default: the caller on create, unchanged on update).
    #[serde(default)]
    #[schema(min_length = 1, pattern = "\\S")]
    pub owner: Option<String>,
    /// What change, what effect, why. Required before launch.
    #[serde(default)]
    pub hypothesis: String,
    /// Environment (default `production`).
    #[serde(default = "default_environment")]
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub environment: String,
    /// The flag whose variants are the arms.
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub flag: String,
    /// Arms (flag variants) and weights in percent, summing to 100 by launch.
    pub arms: Vec<Arm>,
    /// Who may enter (default everyone).
    #[serde(default)]
    pub audience: Audience,
    /// Percentage of the audience that enters (default 100).
    #[serde(default = "default_allocation")]
    #[schema(default = 100, exclusive_minimum = 0, maximum = 100)]
    pub allocation: f64,
    /// Mutual-exclusion layer.
    #[serde(default)]
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub layer: Option<String>,
    /// Decision metric (catalogue key). Required before launch.
    #[serde(default)]
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub primary_metric: Option<String>,
    /// Further metrics to report.
    #[serde(default)]
    pub secondary_metrics: Vec<String>,
    /// Metrics that must not degrade beyond a tolerance.
    #[serde(default)]
    pub guardrails: Vec<Guardrail>,
    /// Analysis settings.
    #[serde(default)]
    pub analysis: AnalysisSettings,
    /// Planned minimum detectable effect (relative, 0.05 = 5 %).
    #[serde(default)]
    #[schema(exclusive_minimum = 0)]
    pub minimum_detectable_effect: Option<f64>,
    /// Decision due date (default: launch + 14 days).
    #[serde(default)]
    pub target_decision_date: Option<DateTime<Utc>>,
    /// Context attributes recorded with each unit's first exposure, to break
    /// results down by (`GET …/results?dimension=…`), e.g. `["icp_segment", "tier"]`.
    #[serde(default)]
    #[schema(max_items = 5)]
    pub dimensions: Vec<String>,
}

impl ExperimentIn {
    fn into_definition(self, owner: String) -> Definition {
        Definition {
            name: self.name,
            owner: self.owner.unwrap_or(owner),
            hypothesis: self.hypothesis,
            environment: self.environment,
            flag: self.flag,
            arms: self.arms,
            audience: self.audience,
            allocation: self.allocation,
            layer: self.layer,
            primary_metric: self.primary_metric,
            secondary_metrics: self.secondary_metrics,
            guardrails: self.guardrails,
            analysis: self.analysis,
            minimum_detectable_effect: self.minimum_detectable_effect,
            target_decision_at: self.target_decision_date.map(|d| d.naive_utc()),
            dimensions: self.dimensions,
        }
    }
}

/// One phase: an assignment period with its own salt and analysis window.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhaseOut {
    /// Phase number, from 1.
    pub phase: u32,
    /// Assignment salt.
    pub salt: String,
    /// Allocation during the phase.
    pub allocation: f64,
    /// Arms during the phase.
    pub arms: Vec<Arm>,
    /// Audience during the phase.
    pub audience: Audience,
    /// Why it started.
    pub reason: String,
    /// Who started it.
    pub started_by: String,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End, once a later phase started or the experiment stopped.
    pub ended_at: Option<DateTime<Utc>>,
}

impl From<Phase> for PhaseOut {
    fn from(p: Phase) -> Self {
        Self {
            phase: p.number,
            salt: p.salt,
            allocation: p.allocation,
            arms: p.arms,
            audience: p.audience,
            reason: p.reason,
            started_by: p.started_by,
            started_at: p.started_at.and_utc(),
            ended_at: p.ended_at.map(|t| t.and_utc()),
        }
    }
}

/// An experiment.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExperimentOut {
    /// Slug.
    pub key: String,
    /// Lifecycle state.
    pub status: Status,
    /// Display name.
    pub name: String,
    /// Responsible person.
    pub owner: String,
    /// Hypothesis.
    pub hypothesis: String,
    /// Environment.
    pub environment: String,
    /// Flag.
    pub flag: String,
    /// Arms and weights (of the current phase).
    pub arms: Vec<Arm>,
    /// Audience (of the current phase).
    pub audience: Audience,
    /// Allocation % (of the current phase).
    pub allocation: f64,
    /// Layer.
    pub layer: Option<String>,
    /// Primary metric.
    pub primary_metric: Option<String>,
    /// Secondary metrics.
    pub secondary_metrics: Vec<String>,
    /// Guardrails.
    pub guardrails: Vec<Guardrail>,
    /// Analysis settings.
    pub analysis: AnalysisSettings,
    /// Planned minimum detectable effect.
    pub minimum_detectable_effect: Option<f64>,
    /// Decision due date (set, or launch + 14 days).
    pub target_decision_date: Option<DateTime<Utc>>,
    /// Context attributes results can be broken down by.
    pub dimensions: Vec<String>,
    /// Current phase (0 before launch).
    pub current_phase: u32,
    /// Launched without a guardrail under policy `warn`.
    pub launched_without_guardrail: bool,
    /// The launch checklist as run at launch.
    pub checklist: Option<Checklist>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Launched.
    pub started_at: Option<DateTime<Utc>>,
    /// Stopped.
    pub stopped_at: Option<DateTime<Utc>>,
    /// Decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Archived.
    pub archived_at: Option<DateTime<Utc>>,
    /// Every phase, oldest first (experiment detail only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phases: Option<Vec<PhaseOut>>,
}

impl ExperimentOut {
    fn new(e: Experiment, phases: Option<Vec<Phase>>) -> Self {
        let target = e.target_decision_at().map(|t| t.and_utc());
        let d = e.definition;
        Self {
            key: e.key,
            status: e.status,
            name: d.name,
            owner: d.owner,
            hypothesis: d.hypothesis,
            environment: d.environment,
            flag: d.flag,
            arms: d.arms,
            audience: d.audience,
            allocation: d.allocation,
            layer: d.layer,
            primary_metric: d.primary_metric,
            secondary_metrics: d.secondary_metrics,
            guardrails: d.guardrails,
            analysis: d.analysis,
            minimum_detectable_effect: d.minimum_detectable_effect,
            target_decision_date: target,
            dimensions: d.dimensions,
            current_phase: e.current_phase,
            launched_without_guardrail: e.launched_without_guardrail,
            checklist: e.checklist,
            created_at: e.created_at.and_utc(),
            updated_at: e.updated_at.and_utc(),
            started_at: e.started_at.map(|t| t.and_utc()),
            stopped_at: e.stopped_at.map(|t| t.and_utc()),
            decided_at: e.decided_at.map(|t| t.and_utc()),
            archived_at: e.archived_at.map(|t| t.and_utc()),
            phases: phases.map(|p| p.into_iter().map(PhaseOut::from).collect()),
        }
    }
}

impl From<Experiment> for ExperimentOut {
    fn from(e: Experiment) -> Self {
        Self::new(e, None)
    }
}

/// Filters for listing experiments; all given ones must match.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Lifecycle state.
    pub status: Option<Status>,
    /// Owner.
    pub owner: Option<String>,
    /// Environment.
    pub environment: Option<String>,
    /// Flag key.
    pub flag: Option<String>,
    /// Created at or after (a date or an RFC 3339 timestamp).
    pub created_from: Option<Moment>,
    /// Created before (a date or an RFC 3339 timestamp).
    pub created_to: Option<Moment>,
    /// Launched at or after (a date or an RFC 3339 timestamp).
    pub started_from: Option<Moment>,
    /// Launched before (a date or an RFC 3339 timestamp).
    pub started_to: Option<Moment>,
}

/// Lists experiments, newest first.
#[utoipa::path(
    tag = "experiments",
    security(("bearer" = ["analyst"])),
    params(ListQuery),
    responses((status = 200, description = "Matching experiments", body = Vec<ExperimentOut>))
)]
#[get("/api/v1/experiments")]
pub async fn list_experiments(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
    query: Query<ListQuery>,
) -> Result<web::Json<Vec<ExperimentOut>>, ApiError> {
    let q = query.into_inner();
    let filter = ListFilter {
        status: q.status,
        owner: q.owner,
        environment: q.environment,
        flag: q.flag,
        created_from: q.created_from.map(|t| t.0.naive_utc()),
        created_to: q.created_to.map(|t| t.0.naive_utc()),
        started_from: q.started_from.map(|t| t.0.naive_utc()),
        started_to: q.started_to.map(|t| t.0.naive_utc()),
    };
    let found = state.db.run(move |conn| exp::list(conn, &filter)).await?;
    Ok(web::Json(
        found.into_iter().map(ExperimentOut::from).collect(),
    ))
}

const KEY_PARAM: &str = "Experiment key";

/// Defines a draft experiment.
#[utoipa::path(
    tag = "experiments",
    security(("bearer" = ["pm"])),
    request_body = ExperimentIn,
    responses(
        (status = 201, description = "Created as a draft", body = ExperimentOut),
        (status = 409, description = "The key is taken", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/experiments")]
pub async fn create_experiment(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    body: Json<ExperimentIn>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let key = body
        .key
        .clone()
        .ok_or_else(|| ApiError::invalid("key", "a new experiment needs a key"))?;
    let actor = auth.caller.subject;
    let definition = body.into_definition(actor.clone());
    let created = state
        .db
        .run(move |conn| exp::create(conn, &actor, &key, definition))
        .await?;
    Ok(HttpResponse::Created().json(ExperimentOut::from(created)))
}

/// Reads an experiment with all its phases.
#[utoipa::path(
    tag = "experiments",
    security(("bearer" = ["analyst"])),
    params(("key" = String, Path, description = KEY_PARAM)),
    responses(
        (status = 200, description = "The experiment and its phases", body = ExperimentOut),
        (status = 404, description = "No such experiment", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/experiments/{key}")]
pub async fn get_experiment(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<web::Json<ExperimentOut>, ApiError> {
    let key = key.into_inner();
    let (experiment, phases) = state
        .db
        .run(move |conn| {
            Ok::<_, crate::domain_error::DomainError>((
                exp::get(conn, &key)?,
                exp::phases(conn, &key)?,
            ))
        })
        .await?;
    Ok(web::Json(ExperimentOut::new(experiment, Some(phases))))
}

/// Replaces an experiment's definition. A running experiment's arms, weights,
/// audience, allocation, flag, environment and layer cannot change (409): start
/// a new phase instead.
#[utoipa::path(
    tag = "experiments",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = KEY_PARAM)),
    request_body = ExperimentIn,
    responses(
        (status = 200, description = "Updated", body = ExperimentOut),
        (status = 404, description = "No such experiment", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not editable in its state; for a running experiment's assignment, start a phase", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/experiments/{key}")]
pub async fn update_experiment(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: Json<ExperimentIn>,
) -> Result<web::Json<ExperimentOut>, ApiError> {
    let key = key.into_inner();
    let body = body.0;
    if body.key.as_ref().is_some_and(|k| *k != key) {
        return Err(ApiError::invalid(
            "key",
            "the key cannot change; it must match the path or be omitted",
        ));
    }
    let actor = auth.caller.subject;
    let updated = state
        .db
        .run(move |conn| {
            let current = exp::get(conn, &key)?;
            let definition = body.into_definition(current.definition.owner);
            exp::update(conn, &actor, &key, definition)
        })
        .await?;
    Ok(web::Json(updated.into()))
}

/// Runs the launch checklist without launching.
#[utoipa::path(
    tag = "experiments",
    security(("bearer" = ["analyst"])),
    params(("key" = String, Path, description = KEY_PARAM)),
    responses(
        (status = 200, description = "Every checklist item", body = Checklist),
        (status = 404, description = "No such experiment", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/experiments/{key}/checklist")]
pub async fn experiment_checklist(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<web::Json<Checklist>, ApiError> {
    let key = key.into_inner();
    let policy = state.settings.guardrail_policy;
    let checklist = state
        .db
        .run(move |conn| exp::preview_checklist(conn, &key, policy))
        .await?;
    Ok(web::Json(checklist))
}

/// Launches a draft: runs the checklist (hypothesis, primary metric, flag exists
/// in the environment, weights valid, no overlapping experiment, guardrail per
/// policy) and reports every failed item at once as a 422 with one
/// `checklist.<item>` error each. On success starts phase 1 and installs the
/// experiment's rule in its flag.
#[utoipa::path(
    tag = "experiments",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = KEY_PARAM)),
    responses(
        (status = 200, description = "Running", body = ExperimentOut),
        (status = 404, description = "No such experiment", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a draft", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Checklist failed: every failed item", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/experiments/{key}/launch")]
pub async fn launch_experiment(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<web::Json<ExperimentOut>, ApiError> {
    let key = key.into_inner();
    let policy = state.settings.guardrail_policy;
    let actor = auth.caller.subject;
    let launched = state
        .db
        .run(move |conn| exp::launch(conn, &actor, &key, policy))
        .await?;
    state.refresh_snapshot().await;
    Ok(web::Json(launched.into()))
}

async fn apply(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: String,
    transition: Transition,
) -> Result<web::Json<ExperimentOut>, ApiError> {
    let actor = auth.caller.subject;
    let moved = state
        .db
        .run(move |conn| exp::transition(conn, &actor, &key, transition))
        .await?;
    state.refresh_snapshot().await;
    Ok(web::Json(moved.into()))
}

/// Stops a running experiment: ends its phase and removes its rule from the flag.
#[utoipa::path(
    tag = "experiments",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = KEY_PARAM)),
    responses(
        (status = 200, description = "Stopped", body = ExperimentOut),
        (status = 404, description = "No such experiment", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not running", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/experiments/{key}/stop")]
pub async fn stop_experiment(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<web::Json<ExperimentOut>, ApiError> {
    apply(auth, state, key.into_inner(), Transition::Stop).await
}

/// Marks a stopped experiment as decided.
#[utoipa::path(
    tag = "experiments",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = KEY_PARAM)),
    responses(
        (status = 200, description = "Decided", body = ExperimentOut),
        (status = 404, description = "No such experiment", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not stopped", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/experiments/{key}/decide")]
pub async fn decide_experiment(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<web::Json<ExperimentOut>, ApiError> {
    apply(auth, state, key.into_inner(), Transition::Decide).await
}

/// Archives a draft, stopped or decided experiment.
#[utoipa::path(
    tag = "experiments",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = KEY_PARAM)),
    responses(
        (status = 200, description = "Archived", body = ExperimentOut),
        (status = 404, description = "No such experiment", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Running or already archived", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/experiments/{key}/archive")]
pub async fn archive_experiment(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<web::Json<ExperimentOut>, ApiError> {
    apply(auth, state, key.into_inner(), Transition::Archive).await
}

/// A new phase of a running experiment: the assignment changes it makes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseIn {
    /// Why the phase starts (recorded).
    #[schema(example = "ramp up from 20% to 100%")]
    pub reason: String,
    /// New arms and weights (default: unchanged).
    #[serde(default)]
    pub arms: Option<Vec<Arm>>,
    /// New audience (default: unchanged).
    #[serde(default)]
    pub audience: Option<Audience>,
    /// New dimensions (default: unchanged).
    #[serde(default)]
    #[schema(max_items = 5)]
    pub dimensions: Option<Vec<String>>,
    /// New allocation % (default: unchanged).
    #[serde(default)]
    #[schema(exclusive_minimum = 0, maximum = 100)]
    pub allocation: Option<f64>,
}

/// Starts a new phase of a running experiment: the only way to change its arms,
/// weights, audience or allocation. Assignment is re-salted (`<key>:<phase>`)
/// and every unit's analysis window restarts at its first exposure in the new
/// phase; earlier phases are kept.
#[utoipa::path(
    tag = "experiments",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = KEY_PARAM)),
    request_body = PhaseIn,
    responses(
        (status = 201, description = "The experiment with its phases", body = ExperimentOut),
        (status = 404, description = "No such experiment", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not running", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/experiments/{key}/phases")]
pub async fn start_phase(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: Json<PhaseIn>,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner();
    let body = body.0;
    let change = PhaseChange {
        arms: body.arms,
        audience: body.audience,
        allocation: body.allocation,
        dimensions: body.dimensions,
        reason: body.reason,
    };
    let actor = auth.caller.subject;
    let (experiment, phases) = state
        .db
        .run(move |conn| {
            let (experiment, _) = exp::start_phase(conn, &actor, &key, change)?;
            let phases = exp::phases(conn, &key)?;
            Ok::<_, crate::domain_error::DomainError>((experiment, phases))
        })
        .await?;
    state.refresh_snapshot().await;
    Ok(HttpResponse::Created().json(ExperimentOut::new(experiment, Some(phases))))
}

/// Share of launched experiments that documented a guardrail before launch.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuardrailCoverageOut {
    /// Experiments launched in the period.
    pub launched: usize,
    /// Of those, launched with at least one guardrail.
    pub with_guardrail: usize,
    /// `with_guardrail / launched` (0 when nothing was launched).
    pub share: f64,
    /// Experiments launched without a guardrail (policy `warn`).
    pub without_guardrail: Vec<String>,
}

/// Period for the guardrail coverage report.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// Count experiments launched at or after this time (a date or an RFC
    /// 3339 timestamp); all when absent.
    pub since: Option<Moment>,
}

/// How many launched experiments had a documented guardrail (OKR: ≥ 70 %).
#[utoipa::path(
    tag = "experiments",
    security(("bearer" = ["analyst"])),
    params(CoverageQuery),
    responses((status = 200, description = "Guardrail coverage", body = GuardrailCoverageOut))
)]
#[get("/api/v1/reports/guardrail-coverage")]
pub async fn guardrail_coverage(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
    query: Query<CoverageQuery>,
) -> Result<web::Json<GuardrailCoverageOut>, ApiError> {
    let since = query.into_inner().since.map(|t| t.0.naive_utc());
    let c = state
        .db
        .run(move |conn| exp::guardrail_coverage(conn, since))
        .await?;
    Ok(web::Json(GuardrailCoverageOut {
        launched: c.launched,
        with_guardrail: c.with_guardrail,
        share: c.share,
        without_guardrail: c.without_guardrail,
    }))
}
