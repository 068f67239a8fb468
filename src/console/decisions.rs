//! The decision log: filters, each decision with its frozen results, the CSV
//! export.

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::csrf::Csrf;
use super::format;
use super::page::{Nav, PageError, render};
use super::results_view::{ResultsView, view};
use super::session::Viewer;
use crate::decisions::{self, Decision, DecisionFilter, Outcome};
use crate::http::ApiError;
use crate::results::compat::Frozen;
use crate::state::AppState;

/// Most decisions on one page of the log.
const PAGE: i64 = 100;

/// Filters of the log (empty means all).
#[derive(Debug, Deserialize)]
pub struct LogQuery {
    #[serde(default)]
    experiment: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    before: Option<i64>,
}

impl LogQuery {
    fn filter(&self, limit: i64) -> Result<DecisionFilter, PageError> {
        let outcome = match self.outcome.as_str() {
            "" => None,
            name => Some(
                serde_json::from_value::<Outcome>(serde_json::Value::String(name.to_owned()))
                    .map_err(|_| {
                        ApiError::bad_field("outcome", format!("unknown outcome `{name}`"))
                    })?,
            ),
        };
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Ok(DecisionFilter {
            experiment: some(&self.experiment),
            outcome,
            author: some(&self.author),
            before_id: self.before,
            limit,
            ..DecisionFilter::default()
        })
    }

    /// The filters as a query string (for the CSV link and paging).
    fn query_string(&self) -> String {
        serde_urlencoded::to_string([
            ("experiment", self.experiment.as_str()),
            ("outcome", self.outcome.as_str()),
            ("author", self.author.as_str()),
        ])
        .unwrap_or_default()
    }
}

struct Line {
    id: i64,
    experiment: String,
    outcome: String,
    outcome_key: String,
    variant: String,
    author: String,
    created_at: String,
    rationale: String,
    supersedes: Option<i64>,
}

impl Line {
    fn of(d: &Decision) -> Self {
        Self {
            id: d.id,
            experiment: d.experiment_key.clone(),
            outcome: format::label(&d.outcome),
            outcome_key: d.outcome.as_str().to_owned(),
            variant: d.variant.clone().unwrap_or_default(),
            author: d.author.clone(),
            created_at: d.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            rationale: d.rationale.clone(),
            supersedes: d.supersedes,
        }
    }
}

#[derive(Template)]
#[template(path = "console/decisions.html")]
struct LogPage {
    nav: Nav,
    lines: Vec<Line>,
    experiment: String,
    outcome: String,
    author: String,
    outcomes: Vec<&'static str>,
    filters: String,
    next: Option<i64>,
}

/// `GET /ui/decisions`: the log, newest first, filtered.
pub async fn log(
    req: HttpRequest,
    viewer: Viewer,
    csrf: Csrf,
    state: web::Data<AppState>,
    query: web::Query<LogQuery>,
) -> Result<HttpResponse, PageError> {
    let query = query.into_inner();
    let filter = query.filter(PAGE + 1)?;
    let mut rows = state
        .db
        .run(move |conn| decisions::list(conn, &filter))
        .await?;
    let next = (rows.len() as i64 > PAGE).then(|| {
        rows.truncate(PAGE as usize);
        rows.last().map(|d| d.id)
    });
    let page = LogPage {
        nav: Nav::new(&viewer, &csrf, "decisions"),
        lines: rows.iter().map(Line::of).collect(),
        filters: query.query_string(),
        experiment: query.experiment,
        outcome: query.outcome,
        author: query.author,
        outcomes: vec!["ship", "roll_back", "iterate", "inconclusive"],
        next: next.flatten(),
    };
    render(&req, &csrf, StatusCode::OK, &page)
}

/// `GET /ui/decisions.csv`: the filtered log as CSV (every matching decision).
pub async fn csv(
    _viewer: Viewer,
    state: web::Data<AppState>,
    query: web::Query<LogQuery>,
) -> Result<HttpResponse, PageError> {
    let filter = query.into_inner().filter(i64::MAX)?;
    let rows = state
        .db
        .run(move |conn| decisions::list(conn, &filter))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            CONTENT_DISPOSITION,
            "attachment; filename=\"decisions.csv\"",
        ))
        .body(decisions::to_csv(&rows)))
}

#[derive(Template)]
#[template(path = "console/decision.html")]
struct DecisionPage {
    nav: Nav,
    line: Line,
    links: Vec<String>,
    action_taken: String,
    results: Option<ResultsView>,
    unavailable: Option<String>,
}

/// `GET /ui/decisions/{id}`: one decision with the results it froze.
pub async fn show(
    req: HttpRequest,
    viewer: Viewer,
    csrf: Csrf,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let decision = state
        .db
        .run(move |conn| decisions::get(conn, id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("decision {id} does not exist")))?;
    let (results, unavailable) = match &decision.results_snapshot {
        Frozen::Results(r) => (Some(view(r)), None),
        Frozen::Unavailable(why) => (None, Some(why.clone())),
    };
    let page = DecisionPage {
        nav: Nav::new(&viewer, &csrf, "decisions"),
        line: Line::of(&decision),
        links: decision.links.clone(),
        action_taken: decision.action_taken.clone().unwrap_or_default(),
        results,
        unavailable,
    };
    render(&req, &csrf, StatusCode::OK, &page)
}
