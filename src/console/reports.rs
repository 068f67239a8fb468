//! The OKR report page: KR4.1–4.3 over a period, with the experiments behind
//! each number (the API's report, rendered).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{Datelike, Months, NaiveDate, Utc};
use serde::Deserialize;

use super::csrf::Csrf;
use super::format::{self, Cell};
use super::page::{Nav, PageError, render};
use super::session::Viewer;
use crate::decisions::{self, KeyResult};
use crate::http::ApiError;
use crate::state::AppState;

/// The period (dates; default: the current quarter).
#[derive(Debug, Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

struct KrRow {
    name: String,
    value: Cell,
    target: String,
    met: bool,
    experiments: Vec<String>,
}

impl KrRow {
    fn of(kr: &KeyResult) -> Self {
        let share = kr.name.contains("share");
        let show = |v: f64| {
            if share {
                format::percent(v)
            } else {
                format::measure(v)
            }
        };
        Self {
            name: kr.name.to_owned(),
            value: Cell::of(kr.value, show),
            target: format!("{} {}", kr.comparison, show(kr.target)),
            met: kr.met,
            experiments: kr.experiments.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "console/okr.html")]
struct OkrPage {
    nav: Nav,
    from: String,
    to: String,
    rows: Vec<KrRow>,
    launched: Vec<String>,
    decided: Vec<String>,
}

fn quarter_of(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let month = (day.month0() / 3) * 3 + 1;
    let start = NaiveDate::from_ymd_opt(day.year(), month, 1).unwrap_or(day);
    (start, start + Months::new(3))
}

fn date(field: &str, raw: &str, default: NaiveDate) -> Result<NaiveDate, PageError> {
    if raw.is_empty() {
        return Ok(default);
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map_err(|_| ApiError::bad_field(field, "expected a date such as 2026-10-01").into())
}

/// `GET /ui/reports/okr`.
pub async fn okr(
    req: HttpRequest,
    viewer: Viewer,
    csrf: Csrf,
    state: web::Data<AppState>,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, PageError> {
    let (q_from, q_to) = quarter_of(Utc::now().date_naive());
    let from = date("from", &query.from, q_from)?;
    let to = date("to", &query.to, q_to)?;
    if from >= to {
        return Err(ApiError::invalid("to", "must be after `from`").into());
    }
    let timings = state.db.run(decisions::timings).await?;
    let report = decisions::experimentation_report(
        &timings,
        from.and_time(chrono::NaiveTime::MIN),
        to.and_time(chrono::NaiveTime::MIN),
    );
    let page = OkrPage {
        nav: Nav::new(&viewer, &csrf, "okr"),
        from: from.to_string(),
        to: to.to_string(),
        rows: decisions::key_results(&report)
            .iter()
            .map(KrRow::of)
            .collect(),
        launched: report.launched,
        decided: report.decided,
    };
    render(&req, &csrf, StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).expect("date");
        let cases = [
            (d(2026, 12, 1), d(2026, 10, 1), d(2027, 1, 1)),
            (d(2026, 1, 1), d(2026, 1, 1), d(2026, 4, 1)),
            (d(2026, 6, 30), d(2026, 4, 1), d(2026, 7, 1)),
        ];
        for (day, from, to) in cases {
            assert_eq!(quarter_of(day), (from, to), "{day}");
        }
    }
}
