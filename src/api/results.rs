//! Experiment results over REST: the latest stored snapshot, or a recompute.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::auth::{Analyst, Authorized};
use crate::experiments::{Engine, MarginType};
use crate::http::ApiError;
use crate::metrics_catalog::Direction;
use crate::results::{
    self, Action, ExperimentResults, MetricCorrection, MetricRole, ResultsError, Snapshot,
    SnapshotSource, apply_metric_correction,
};

fn utc(t: chrono::NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

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
    #[param(value_type = Option<String>, example = "benjamini_hochberg")]
    pub metric_correction: Option<MetricCorrection>,
}

/// Exposed units of one arm.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArmExposureOut {
    /// Variant key.
    pub variant: String,
    /// Planned weight (percent).
    pub weight: f64,
    /// Exposed units.
    pub units: u64,
}

/// Sample ratio mismatch check (Pearson chi-square, df = arms − 1).
#[derive(Debug, Serialize, ToSchema)]
pub struct SrmOut {
    /// Chi-square statistic.
    pub chi_square: Option<f64>,
    /// p-value.
    pub p_value: Option<f64>,
    /// p < 0.001.
    pub mismatch: bool,
    /// False when the sample ratio mismatches: the results are untrustworthy.
    pub trustworthy: bool,
    /// Explanation.
    pub message: String,
}

/// A metric's value in one arm.
#[derive(Debug, Serialize, ToSchema)]
pub struct ArmValueOut {
    /// Variant key.
    pub variant: String,
    /// Units counted.
    pub units: u64,
    /// Mean per unit (ratio: Σnumerator / Σdenominator).
    pub mean: Option<f64>,
}

/// One treatment against control.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComparisonOut {
    /// Treatment variant.
    pub variant: String,
    /// Control mean.
    pub control_mean: Option<f64>,
    /// Treatment mean.
    pub treatment_mean: Option<f64>,
    /// Relative lift.
    pub lift: Option<f64>,
    /// Interval lower end (relative).
    pub ci_lower: Option<f64>,
    /// Interval upper end (relative).
    pub ci_upper: Option<f64>,
    /// Raw p-value.
    pub p_value: Option<f64>,
    /// Holm–Bonferroni across arms.
    pub p_value_holm: Option<f64>,
    /// Holm across arms, then the correction across metrics.
    pub p_value_adjusted: Option<f64>,
    /// Bayesian chance to win.
    pub chance_to_win: Option<f64>,
    /// Significant at alpha (primary: Holm; others: fully adjusted).
    pub significant: bool,
    /// Significant and in the good direction.
    pub improved: bool,
    /// Why it could not be computed.
    pub error: Option<String>,
}

/// A metric's results.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricResultOut {
    /// Catalogue key.
    pub metric: String,
    /// Display name.
    pub name: String,
    /// `primary`, `secondary` or `guardrail`.
    #[schema(example = "primary")]
    pub role: String,
    /// Metric kind.
    pub kind: String,
    /// Improvement direction.
    pub direction: Direction,
    /// CUPED applied.
    pub cuped: bool,
    /// Per-arm values, control first.
    pub arms: Vec<ArmValueOut>,
    /// Treatments against control.
    pub comparisons: Vec<ComparisonOut>,
    /// Why the metric could not be analysed.
    pub error: Option<String>,
}

/// One guardrail for one treatment.
#[derive(Debug, Serialize, ToSchema)]
pub struct GuardrailOut {
    /// Metric key.
    pub metric: String,
    /// Treatment variant.
    pub variant: String,
    /// Tolerated degradation.
    pub max_degradation: f64,
    /// Absolute or relative margin.
    pub margin_type: MarginType,
    /// `pass`, `fail` or `inconclusive` (absent: not evaluable).
    #[schema(example = "pass")]
    pub verdict: Option<String>,
    /// Effect on the margin's scale.
    pub estimate: Option<f64>,
    /// One-sided bound in the harmful direction.
    pub bound: Option<f64>,
    /// Non-inferiority p-value.
    pub p_value: Option<f64>,
    /// Why it could not be evaluated.
    pub error: Option<String>,
}

/// When the planned sample is reached.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastOut {
    /// Planned relative MDE.
    pub minimum_detectable_effect: f64,
    /// Units needed per arm (power 0.8).
    pub n_per_arm: u64,
    /// Exposed units per day so far.
    pub units_per_day: f64,
    /// Days still needed.
    pub days_to_reach: u64,
    /// Predicted date.
    pub predicted_date: DateTime<Utc>,
}

/// What to do.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationOut {
    /// `ship`, `roll_back`, `keep_running` or `inconclusive`.
    #[schema(example = "ship")]
    pub action: String,
    /// The variant to ship or roll back.
    pub variant: Option<String>,
    /// Predicted days left (`keep_running`).
    pub days_left: Option<u64>,
    /// Why.
    pub reasons: Vec<String>,
}

/// An experiment's results.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultsOut {
    /// Experiment key.
    pub experiment: String,
    /// Phase analysed.
    pub phase: u32,
    /// Data cut-off.
    pub as_of: DateTime<Utc>,
    /// When computed.
    pub computed_at: DateTime<Utc>,
    /// `scheduled` (daily snapshot) or `manual` (recomputed on request).
    #[schema(example = "scheduled")]
    pub source: String,
    /// Engine.
    pub engine: Engine,
    /// Significance level.
    pub alpha: f64,
    /// Correction across metrics.
    #[schema(example = "benjamini_hochberg")]
    pub metric_correction: String,
    /// Exposures per arm, control first.
    pub arms: Vec<ArmExposureOut>,
    /// Sample ratio check.
    pub srm: SrmOut,
    /// Metrics.
    pub metrics: Vec<MetricResultOut>,
    /// Guardrail verdicts.
    pub guardrails: Vec<GuardrailOut>,
    /// Sample-size forecast of the primary metric.
    pub forecast: Option<ForecastOut>,
    /// The recommendation.
    pub recommendation: RecommendationOut,
}

fn name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl ResultsOut {
    fn new(
        source: SnapshotSource,
        computed_at: chrono::NaiveDateTime,
        r: ExperimentResults,
    ) -> Self {
        Self {
            experiment: r.experiment,
            phase: r.phase,
            as_of: utc(r.as_of),
            computed_at: utc(computed_at),
            source: name(&source),
            engine: r.engine,
            alpha: r.alpha,
            metric_correction: name(&r.metric_correction),
            arms: r
                .arms
                .into_iter()
                .map(|a| ArmExposureOut {
                    variant: a.variant,
                    weight: a.weight,
                    units: a.units,
                })
                .collect(),
            srm: SrmOut {
                chi_square: r.srm.test.map(|t| t.chi_square),
                p_value: r.srm.test.map(|t| t.p_value),
                mismatch: r.srm.test.is_some_and(|t| t.mismatch),
                trustworthy: r.srm.trustworthy,
                message: r.srm.message,
            },
            metrics: r.metrics.into_iter().map(metric_out).collect(),
            guardrails: r
                .guardrails
                .into_iter()
                .map(|g| GuardrailOut {
                    metric: g.metric,
                    variant: g.variant,
                    max_degradation: g.max_degradation,
                    margin_type: g.margin_type,
                    verdict: g.verdict.as_ref().map(name),
                    estimate: g.estimate,
                    bound: g.bound,
                    p_value: g.p_value,
                    error: g.error,
                })
                .collect(),
            forecast: r.forecast.map(|f| ForecastOut {
                minimum_detectable_effect: f.minimum_detectable_effect,
                n_per_arm: f.n_per_arm,
                units_per_day: f.units_per_day,
                days_to_reach: f.days_to_reach,
                predicted_date: utc(f.predicted_date),
            }),
            recommendation: RecommendationOut {
                action: name::<Action>(&r.recommendation.action),
                variant: r.recommendation.variant,
                days_left: r.recommendation.days_left,
                reasons: r.recommendation.reasons,
            },
        }
    }
}

fn metric_out(m: results::MetricResult) -> MetricResultOut {
    MetricResultOut {
        metric: m.metric,
        name: m.name,
        role: name::<MetricRole>(&m.role),
        kind: m.kind,
        direction: m.direction,
        cuped: m.cuped,
        arms: m
            .arms
            .into_iter()
            .map(|a| ArmValueOut {
                variant: a.variant,
                units: a.units,
                mean: a.mean,
            })
            .collect(),
        comparisons: m
            .comparisons
            .into_iter()
            .map(|c| ComparisonOut {
                variant: c.variant,
                control_mean: c.control_mean,
                treatment_mean: c.treatment_mean,
                lift: c.lift,
                ci_lower: c.ci_lower,
                ci_upper: c.ci_upper,
                p_value: c.p_value,
                p_value_holm: c.p_value_holm,
                p_value_adjusted: c.p_value_adjusted,
                chance_to_win: c.chance_to_win,
                significant: c.significant,
                improved: c.improved,
                error: c.error,
            })
            .collect(),
        error: m.error,
    }
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
        (status = 200, description = "The results", body = ResultsOut),
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
    query: web::Query<ResultsQuery>,
) -> Result<web::Json<ResultsOut>, ApiError> {
    let key = key.into_inner();
    let ResultsQuery {
        refresh,
        metric_correction,
    } = query.into_inner();
    let Snapshot {
        source,
        computed_at,
        mut results,
    } = state
        .db
        .run(move |conn| {
            let now = Utc::now().naive_utc();
            let exp = crate::experiments::get(conn, &key)?;
            if !refresh && let Some(s) = results::latest(conn, &key, exp.current_phase)? {
                return Ok::<_, ResultsError>(s);
            }
            results::refresh(conn, &key, now)
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
    Ok(web::Json(ResultsOut::new(source, computed_at, results)))
}
