//! The experiments list, the experiment page (results, charts, history) and
//! the record-decision form.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::charts::{self, Series};
use super::csrf::{self, Csrf};
use super::format::{self, Cell};
use super::history::{self, LiftPoint};
use super::page::{Nav, PageError, render, see_other};
use super::results_view::{ResultsView, view};
use super::session::Viewer;
use crate::auth::Role;
use crate::decisions::{self, DecisionFilter, NewDecision, Outcome, SlaEntry, SlaStatus};
use crate::experiments::{self, Experiment, ListFilter, Status};
use crate::http::ApiError;
use crate::results::{self, ResultsError, ResultsRequest};
use crate::state::AppState;

const STATUSES: [Status; 5] = [
    Status::Draft,
    Status::Running,
    Status::Stopped,
    Status::Decided,
    Status::Archived,
];

/// A decision-SLA standing as shown.
#[derive(Debug, Clone)]
pub struct SlaView {
    /// `on_track`, `due_soon` or `overdue`.
    pub key: String,
    /// The same in words.
    pub label: String,
    /// Days since first exposure.
    pub days_since: Cell,
    /// Days left (negative: overdue).
    pub days_left: Cell,
    /// Target decision date.
    pub target: String,
}

impl SlaView {
    fn of(e: &SlaEntry) -> Self {
        Self {
            key: format::wire_name(&e.status),
            label: match e.status {
                SlaStatus::OnTrack => "on track",
                SlaStatus::DueSoon => "due soon",
                SlaStatus::Overdue => "overdue",
            }
            .into(),
            days_since: Cell::of(e.days_since_first_exposure, |d| format!("{d:.1}")),
            days_left: Cell::of(e.days_left, |d| format!("{d:.1}")),
            target: e
                .target_decision_at
                .map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string()),
        }
    }
}

struct Row {
    key: String,
    name: String,
    status: String,
    owner: String,
    sla: Option<SlaView>,
    action: String,
    action_key: String,
}

#[derive(Template)]
#[template(path = "console/experiments.html")]
struct ListPage {
    nav: Nav,
    rows: Vec<Row>,
    statuses: Vec<(&'static str, bool)>,
    owners: Vec<(String, bool)>,
}

/// Filters of the experiments list (empty means all).
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    owner: String,
}

fn status_named(name: &str) -> Result<Option<Status>, PageError> {
    if name.is_empty() {
        return Ok(None);
    }
    STATUSES
        .into_iter()
        .find(|s| s.as_str() == name)
        .map(Some)
        .ok_or_else(|| ApiError::bad_field("status", format!("unknown status `{name}`")).into())
}

/// `GET /ui`: experiments with status, owner, days since first exposure,
/// decision-SLA standing and the latest recommendation.
pub async fn list(
    req: HttpRequest,
    viewer: Viewer,
    csrf: Csrf,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let ListQuery { status, owner } = query.into_inner();
    let wanted = status_named(&status)?;
    let owner_filter = (!owner.is_empty()).then(|| owner.clone());
    let (all, timings, recommendations) = state
        .db
        .run(move |conn| {
            let all = experiments::list(conn, &ListFilter::default())?;
            let timings = decisions::timings(conn)?;
            let recommendations = all
                .iter()
                .filter(|e| e.current_phase > 0)
                .filter_map(|e| {
                    let latest = results::latest(conn, &e.key, e.current_phase).ok()??;
                    Some((e.key.clone(), latest.recommendation))
                })
                .collect::<Vec<_>>();
            Ok::<_, ResultsError>((all, timings, recommendations))
        })
        .await?;
    let sla = decisions::decision_sla(&timings, Utc::now().naive_utc());
    let mut owners: Vec<String> = all.iter().map(|e| e.definition.owner.clone()).collect();
    owners.sort();
    owners.dedup();
    let rows = all
        .into_iter()
        .filter(|e| wanted.is_none_or(|s| e.status == s))
        .filter(|e| {
            owner_filter
                .as_ref()
                .is_none_or(|o| &e.definition.owner == o)
        })
        .map(|e| {
            let rec = recommendations
                .iter()
                .find(|(k, _)| k == &e.key)
                .map(|(_, r)| r);
            Row {
                sla: sla.iter().find(|s| s.key == e.key).map(SlaView::of),
                action: rec.map_or_else(String::new, |r| format::label(&r.action)),
                action_key: rec.map_or_else(String::new, |r| format::wire_name(&r.action)),
                status: e.status.as_str().to_owned(),
                owner: e.definition.owner.clone(),
                name: e.definition.name.clone(),
                key: e.key,
            }
        })
        .collect();
    let page = ListPage {
        nav: Nav::new(&viewer, &csrf, "experiments"),
        rows,
        statuses: STATUSES
            .iter()
            .map(|s| (s.as_str(), Some(*s) == wanted))
            .collect(),
        owners: owners
            .into_iter()
            .map(|o| {
                let selected = o == owner;
                (o, selected)
            })
            .collect(),
    };
    render(&req, &csrf, StatusCode::OK, &page)
}

/// One day of cumulative exposures, per arm.
struct ExposureDay {
    day: i64,
    totals: Vec<Cell>,
}

/// One snapshot's primary lift for one treatment.
struct LiftRow {
    date: String,
    arm: String,
    lift: Cell,
    lower: Cell,
    upper: Cell,
}

struct DecisionLine {
    id: i64,
    outcome: String,
    variant: String,
    author: String,
    created_at: String,
}

#[derive(Template)]
#[template(path = "console/experiment.html")]
struct ExperimentPage {
    nav: Nav,
    exp: Experiment,
    status: String,
    dimension: String,
    sla: Option<SlaView>,
    results: Option<ResultsView>,
    unavailable: Option<String>,
    arm_names: Vec<String>,
    exposures_svg: String,
    exposure_days: Vec<ExposureDay>,
    lift_svg: String,
    lift_rows: Vec<LiftRow>,
    decisions: Vec<DecisionLine>,
    can_write: bool,
    latest_decision: Option<i64>,
}

/// Options of the experiment page.
#[derive(Debug, Deserialize)]
pub struct ExperimentQuery {
    #[serde(default)]
    dimension: String,
}

fn exposures_chart(days: &[ExposureDay], arms: &[String]) -> String {
    if days.len() < 2 {
        return String::new();
    }
    let series: Vec<Series> = arms
        .iter()
        .enumerate()
        .map(|(a, arm)| Series {
            label: arm.clone(),
            points: days
                .iter()
                .map(|d| (d.day as f64, d.totals[a].value.parse().unwrap_or(0.0)))
                .collect(),
        })
        .collect();
    charts::lines(
        &series,
        None,
        "exposed units",
        false,
        "Cumulative exposed units per arm by day since the first exposure",
    )
}

fn lift_chart(points: &[LiftPoint], first: Option<chrono::NaiveDateTime>, metric: &str) -> String {
    let Some(first) = first else {
        return String::new();
    };
    let day = |p: &LiftPoint| (p.as_of.naive_utc() - first).num_seconds() as f64 / 86_400.0;
    let mut arms: Vec<&str> = points.iter().map(|p| p.arm.as_str()).collect();
    arms.dedup();
    arms.sort_unstable();
    arms.dedup();
    let Some(arm) = arms.first() else {
        return String::new();
    };
    // One treatment per chart keeps the band readable; the table lists all.
    let own: Vec<&LiftPoint> = points.iter().filter(|p| p.arm == *arm).collect();
    if own.len() < 2 {
        return String::new();
    }
    let series = [Series {
        label: format!("{arm} vs control"),
        points: own.iter().map(|p| (day(p), p.estimate)).collect(),
    }];
    let band: Vec<(f64, f64, f64)> = own.iter().map(|p| (day(p), p.lower, p.upper)).collect();
    charts::lines(
        &series,
        Some(&band),
        "lift",
        true,
        &format!("Lift of {metric} for {arm} with its interval in each daily snapshot"),
    )
}

/// `GET /ui/experiments/{key}`: the experiment with its results and charts.
pub async fn show(
    req: HttpRequest,
    viewer: Viewer,
    csrf: Csrf,
    state: web::Data<AppState>,
    key: web::Path<String>,
    query: web::Query<ExperimentQuery>,
) -> Result<HttpResponse, PageError> {
    let key = key.into_inner();
    let dimension = query.into_inner().dimension;
    let request = ResultsRequest {
        dimension: (!dimension.is_empty()).then(|| dimension.clone()),
        ..ResultsRequest::default()
    };
    let (exp, results, daily, lifts, timings, log) = state
        .db
        .run(move |conn| {
            let exp = experiments::get(conn, &key)?;
            let results = match exp.current_phase {
                0 => Err("not launched yet: results appear once it runs".to_owned()),
                _ => match results::serve(conn, &key, &request) {
                    Ok(r) => Ok(r),
                    Err(ResultsError::NotLaunched(_)) => {
                        Err("not launched yet: results appear once it runs".to_owned())
                    }
                    Err(e) => return Err(e),
                },
            };
            let daily = history::daily_exposures(conn, &key, exp.current_phase)?;
            let lifts = match &exp.definition.primary_metric {
                Some(m) => history::lift_over_time(conn, &key, exp.current_phase, m)?,
                None => Vec::new(),
            };
            let timings = decisions::timings(conn)?;
            let log = decisions::list(
                conn,
                &DecisionFilter {
                    experiment: Some(key.clone()),
                    limit: 20,
                    ..DecisionFilter::default()
                },
            )?;
            Ok::<_, ResultsError>((exp, results, daily, lifts, timings, log))
        })
        .await?;
    let arm_names: Vec<String> = exp
        .definition
        .arms
        .iter()
        .map(|a| a.variant.clone())
        .collect();
    let cumulative = history::cumulative(&daily, &arm_names);
    let exposure_days: Vec<ExposureDay> = cumulative
        .first()
        .map(|first| {
            (0..first.len())
                .map(|i| ExposureDay {
                    day: first[i].0,
                    totals: cumulative.iter().map(|arm| Cell::count(arm[i].1)).collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    let timing = timings.iter().find(|t| t.key == exp.key);
    let first_exposure = timing.and_then(|t| t.first_exposure);
    let sla = decisions::decision_sla(&timings, Utc::now().naive_utc())
        .iter()
        .find(|s| s.key == exp.key)
        .map(SlaView::of);
    let primary = exp.definition.primary_metric.clone().unwrap_or_default();
    let (results, unavailable) = match results {
        Ok(r) => (Some(view(&r)), None),
        Err(why) => (None, Some(why)),
    };
    let page = ExperimentPage {
        nav: Nav::new(&viewer, &csrf, "experiments"),
        status: exp.status.as_str().to_owned(),
        dimension,
        sla,
        results,
        unavailable,
        exposures_svg: exposures_chart(&exposure_days, &arm_names),
        arm_names,
        exposure_days,
        lift_svg: lift_chart(&lifts, first_exposure, &primary),
        lift_rows: lifts
            .iter()
            .map(|p| LiftRow {
                date: p.as_of.format("%Y-%m-%d").to_string(),
                arm: p.arm.clone(),
                lift: Cell::of(Some(p.estimate), format::signed_percent),
                lower: Cell::of(Some(p.lower), format::signed_percent),
                upper: Cell::of(Some(p.upper), format::signed_percent),
            })
            .collect(),
        latest_decision: log.first().map(|d| d.id),
        decisions: log
            .into_iter()
            .map(|d| DecisionLine {
                id: d.id,
                outcome: format::label(&d.outcome),
                variant: d.variant.unwrap_or_default(),
                author: d.author,
                created_at: d.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            })
            .collect(),
        can_write: viewer.can_write(),
        exp,
    };
    render(&req, &csrf, StatusCode::OK, &page)
}

/// The record-decision form.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    variant: String,
    #[serde(default)]
    rationale: String,
    #[serde(default)]
    links: String,
    #[serde(default)]
    apply: Option<String>,
    #[serde(default)]
    supersedes: String,
}

fn outcome_named(name: &str) -> Result<Outcome, PageError> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| {
        ApiError::invalid("outcome", "choose ship, roll_back, iterate or inconclusive").into()
    })
}

/// `POST /ui/experiments/{key}/decisions` (pm+): records the decision exactly
/// as the API does, then shows it.
pub async fn record(
    req: HttpRequest,
    viewer: Viewer,
    state: web::Data<AppState>,
    key: web::Path<String>,
    form: web::Form<DecisionForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    csrf::verify(&req, &form.csrf)?;
    viewer.require(Role::Pm)?;
    let supersedes = match form.supersedes.trim() {
        "" => None,
        id => Some(
            id.parse::<i64>()
                .map_err(|_| ApiError::invalid("supersedes", "must be the id of a decision"))?,
        ),
    };
    let new = NewDecision {
        experiment_key: key.into_inner(),
        outcome: outcome_named(&form.outcome)?,
        variant: Some(form.variant.trim().to_owned()).filter(|v| !v.is_empty()),
        rationale: form.rationale,
        links: form.links.split_whitespace().map(str::to_owned).collect(),
        supersedes,
        apply: form.apply.is_some(),
    };
    let actor = viewer.subject.clone();
    let decision = state
        .db
        .run(move |conn| decisions::record(conn, &actor, new))
        .await?;
    if decision.action_taken.is_some() {
        state.refresh_snapshot().await;
    }
    Ok(see_other(&format!("/ui/decisions/{}", decision.id)).finish())
}
