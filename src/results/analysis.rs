//! An experiment's results: per-arm sufficient statistics from the database,
//! the stats engines, SRM, multiple-testing corrections, guardrail verdicts,
//! the sample-size forecast and the recommendation.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use verdict_stats::{
    AnalysisRequest, ArmData, Comparison, DifferenceType, GuardrailSpec, GuardrailVerdict,
    MetricSpec, MetricType, PowerBaseline,
};

use super::aggregate::{
    ArmSums, arm_sums, funnel_counts, more_work_mem, no_jit, stored_arm_sums, stored_funnel_counts,
};
use super::breakdown::{self, Breakdown};
use super::funnel::{self, FunnelStep};
use super::recommend::{ArmSignal, PrimaryOutcome, Recommendation, Signals, recommend};
use super::sql::{MetricQuery, Slice};
use super::state::{self, StateMetric};
use crate::db::schema::exposures;
use crate::db::{DbConnection, ingest_clock, write_transaction};
use crate::domain_error::DomainError;
use crate::experiments::{self, Engine, Experiment, MarginType, Phase};
use crate::metrics_catalog::semantics::{metric_spec, supports_cuped};
use crate::metrics_catalog::{self, Direction, Metric, MetricDefinition};
use crate::warehouse::Sessions;

/// Power the planned sample is sized for.
pub const PLANNED_POWER: f64 = 0.8;

/// Why results cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// The experiment has no phase yet.
    #[error("experiment `{0}` has not been launched: it has no results yet")]
    NotLaunched(String),
    /// Lookup or storage failed.
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<crate::db::DbError> for ResultsError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Domain(e.into())
    }
}

impl From<diesel::result::Error> for ResultsError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Domain(e.into())
    }
}

/// Version of the [`ExperimentResults`] shape. Stored snapshots and the
/// copies frozen into decisions carry it; older versions are upgraded when read
/// (see [`super::compat`]).
pub const RESULTS_SCHEMA_VERSION: u32 = 2;

/// The role a metric plays in the experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricRole {
    /// The decision metric.
    Primary,
    /// Reported alongside.
    Secondary,
    /// Only a guardrail.
    Guardrail,
}

/// Correction across metrics applied on top of Holm across arms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricCorrection {
    /// Benjamini–Hochberg over the primary and secondary metrics.
    #[default]
    BenjaminiHochberg,
    /// None (Holm across arms only).
    None,
}

/// How a set of results came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotSource {
    /// Computed by the background scheduler (data up to the slot start).
    Scheduled,
    /// Recomputed on request (data up to that moment).
    Manual,
    /// Recomputed on request from the data up to a past instant (never stored).
    Historical,
}

/// Exposed units of one arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ArmExposure {
    /// Variant key.
    pub variant: String,
    /// Planned weight (percent).
    pub weight: f64,
    /// Exposed units.
    pub units: u64,
}

/// Sample ratio mismatch check (Pearson chi-square against the planned
/// weights, df = arms − 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SrmCheck {
    /// Chi-square statistic (`null` when the test could not run, e.g. no exposures).
    #[schema(required = true)]
    pub chi_square: Option<f64>,
    /// Its p-value.
    #[schema(required = true)]
    pub p_value: Option<f64>,
    /// p < 0.001.
    pub mismatch: bool,
    /// False when the sample ratio mismatches: the results are untrustworthy.
    pub trustworthy: bool,
    /// Explanation.
    pub message: String,
}

/// A metric's value in one arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ArmValue {
    /// Variant key.
    pub variant: String,
    /// Units counted for this metric.
    pub units: u64,
    /// Mean per unit (ratio: Σnumerator / Σdenominator).
    #[schema(required = true)]
    pub mean: Option<f64>,
}

/// A metric's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricResult {
    /// Catalogue key.
    pub metric: String,
    /// Display name.
    pub name: String,
    /// Role in the experiment.
    pub role: MetricRole,
    /// Kind (`conversion`, `ratio`, ...).
    pub kind: String,
    /// Improvement direction.
    pub direction: Direction,
    /// CUPED applied.
    pub cuped: bool,
    /// Per-arm values, control first.
    pub arms: Vec<ArmValue>,
    /// Each treatment against control (relative lift). `p_value_adjusted` is
    /// Holm across arms then the correction across metrics; `significant`
    /// uses Holm only for the primary metric, the adjusted p-value otherwise.
    pub comparisons: Vec<Comparison>,
    /// Why the metric could not be analysed.
    #[schema(required = true)]
    pub error: Option<String>,
    /// A funnel's steps (other kinds: `null`).
    #[serde(default)]
    #[schema(required = true)]
    pub steps: Option<Vec<FunnelStep>>,
}

/// One guardrail for one treatment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GuardrailOutcome {
    /// Metric key.
    pub metric: String,
    /// Treatment variant (empty when the metric is missing from the catalogue).
    pub variant: String,
    /// Tolerated degradation.
    pub max_degradation: f64,
    /// Whether the margin is absolute or relative.
    pub margin_type: MarginType,
    /// Pass / fail / inconclusive; `null` when it could not be evaluated.
    #[schema(required = true)]
    pub verdict: Option<GuardrailVerdict>,
    /// Effect on the margin's scale.
    #[schema(required = true)]
    pub estimate: Option<f64>,
    /// One-sided bound in the harmful direction.
    #[schema(required = true)]
    pub bound: Option<f64>,
    /// Non-inferiority p-value.
    #[schema(required = true)]
    pub p_value: Option<f64>,
    /// Why it could not be evaluated.
    #[schema(required = true)]
    pub error: Option<String>,
}

/// When the planned sample is reached at the observed traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SampleForecast {
    /// Planned relative MDE of the primary metric.
    pub minimum_detectable_effect: f64,
    /// Units needed per arm (power 0.8, the experiment's alpha).
    pub n_per_arm: u64,
    /// Exposed units per day (all arms), over the span from the first
    /// exposure to the data cut-off.
    pub units_per_day: f64,
    /// Days still needed (0 = reached).
    pub days_to_reach: u64,
    /// The predicted date the planned sample is reached.
    pub predicted_date: DateTime<Utc>,
}

/// An experiment's results: what `GET /experiments/{key}/results` serves,
/// what result snapshots store and what a decision freezes. A new field goes
/// here (and into [`RESULTS_SCHEMA_VERSION`]'s upgrade when old copies need it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExperimentResults {
    /// Version of this shape ([`RESULTS_SCHEMA_VERSION`]).
    #[schema(example = 2)]
    pub schema_version: u32,
    /// Experiment key.
    pub experiment: String,
    /// Phase analysed (the current one).
    pub phase: u32,
    /// Data cut-off.
    pub as_of: DateTime<Utc>,
    /// When computed.
    pub computed_at: DateTime<Utc>,
    /// `scheduled` (daily snapshot) or `manual` (recomputed on request).
    pub source: SnapshotSource,
    /// Engine used.
    pub engine: Engine,
    /// Significance level.
    pub alpha: f64,
    /// Correction across metrics.
    pub metric_correction: MetricCorrection,
    /// Exposures per arm, control first.
    pub arms: Vec<ArmExposure>,
    /// Sample ratio check.
    pub srm: SrmCheck,
    /// Primary, secondary and guardrail-only metrics.
    pub metrics: Vec<MetricResult>,
    /// Guardrail verdicts.
    pub guardrails: Vec<GuardrailOutcome>,
    /// Sample-size forecast for the primary metric.
    #[schema(required = true)]
    pub forecast: Option<SampleForecast>,
    /// The recommendation.
    pub recommendation: Recommendation,
    /// Breakdowns by dimension: every declared one in scheduled snapshots and
    /// decisions' frozen copies, the one asked for (`?dimension=`) otherwise.
    #[serde(default)]
    pub breakdowns: Vec<Breakdown>,
}

/// Computes the results of experiment `key` straight from the exposures and
/// events dated up to `as_of`.
pub fn compute(
    conn: &mut DbConnection,
    key: &str,
    as_of: NaiveDateTime,
    source: SnapshotSource,
    breakdowns: Breakdowns<'_>,
) -> Result<ExperimentResults, ResultsError> {
    let from = match source {
        // What was known then: only what had been ingested by the instant.
        SnapshotSource::Historical => Source::KnownBy(as_of),
        SnapshotSource::Scheduled | SnapshotSource::Manual => Source::Events(as_of),
    };
    let mut warehouses = Warehouses::prefetched(conn, key, as_of)?;
    compute_from(conn, &mut warehouses, key, from, source, breakdowns)
}

/// Computes the results of experiment `key` as of now: advances its stored
/// per-unit values to a fresh ingestion watermark (recomputing only the units
/// that changed since the last advance) and sums them. The watermark is the
/// results' `as_of`; they count what was ingested before it, which at that
/// moment is everything dated up to it.
pub fn compute_current(
    conn: &mut DbConnection,
    key: &str,
    breakdowns: Breakdowns<'_>,
) -> Result<ExperimentResults, ResultsError> {
    let watermark = ingest_clock::watermark(conn)?;
    // Warehouse reads first, outside the transaction: on SQLite it holds the
    // write lock, which must not wait on another database.
    let mut warehouses = Warehouses::prefetched(conn, key, watermark)?;
    write_transaction(conn, |conn| {
        compute_from(
            conn,
            &mut warehouses,
            key,
            Source::Stored(watermark),
            SnapshotSource::Manual,
            breakdowns,
        )
    })
}

/// What a metric read yields: per-arm sums, and a funnel's steps.
type Read = (Vec<ArmSums>, Option<Vec<FunnelStep>>);

/// The warehouse side of one computation: its sessions, and the reads made
/// ahead of it (whole-phase reads; breakdown slices read when they run).
pub(super) struct Warehouses {
    sessions: Option<Sessions>,
    ahead: Vec<(String, Result<Read, String>)>,
}

impl Warehouses {
    /// None opened yet.
    fn new() -> Self {
        Self {
            sessions: None,
            ahead: Vec::new(),
        }
    }

    /// With the whole-phase read of every warehouse metric of `key` as of
    /// `as_of` already made: per source, on as many sessions at once as it
    /// allows, each taking the next metric when its last one is done.
    fn prefetched(
        conn: &mut DbConnection,
        key: &str,
        as_of: NaiveDateTime,
    ) -> Result<Self, ResultsError> {
        let mut w = Self::new();
        let (exp, phase) = current_phase(conn, key)?;
        let variants: Vec<String> = phase.arms.iter().map(|a| a.variant.clone()).collect();
        let mut by_source: BTreeMap<String, Vec<Metric>> = BTreeMap::new();
        for (_, metric) in resolve_metrics(conn, &exp)? {
            let Ok(metric) = metric else { continue };
            if let Some(source) = metric.data_source.clone() {
                by_source.entry(source).or_default().push(metric);
            }
        }
        let sessions = w
            .sessions
            .get_or_insert_with(|| Sessions::new(&exp.key, phase.number));
        for (source, metrics) in by_source {
            let reads = match sessions.take(conn, &source, metrics.len()) {
                Ok(mut open) => {
                    let queries: Vec<MetricQuery<'_>> = metrics
                        .iter()
                        .map(|metric| MetricQuery {
                            experiment: &exp.key,
                            phase: phase.number,
                            metric: &metric.definition,
                            as_of,
                            pre_period_secs: pre_period_secs(&exp, metric),
                            slice: None,
                            ingested_by_as_of: false,
                        })
                        .collect();
                    let reads = read_at_once(&mut open, &exp, &metrics, &queries, &variants);
                    sessions.keep(&source, open.swap_remove(0));
                    reads
                }
                Err(why) => vec![Err(why); metrics.len()],
            };
            w.ahead
                .extend(metrics.into_iter().map(|m| m.key).zip(reads));
        }
        Ok(w)
    }

    /// `metric`'s read on data source `source`: made ahead, or now.
    fn read(
        &mut self,
        conn: &mut DbConnection,
        source: &str,
        exp: &Experiment,
        metric: &Metric,
        query: &MetricQuery<'_>,
        variants: &[String],
    ) -> Result<Read, String> {
        if query.slice.is_none()
            && let Some(i) = self.ahead.iter().position(|(k, _)| *k == metric.key)
        {
            return self.ahead.swap_remove(i).1;
        }
        let sessions = self
            .sessions
            .get_or_insert_with(|| Sessions::new(&exp.key, query.phase));
        let warehouse = sessions.get(conn, source)?;
        let query = MetricQuery {
            ingested_by_as_of: false,
            ..query.clone()
        };
        read_metric(
            warehouse,
            exp,
            metric,
            &query,
            Source::Events(query.as_of),
            variants,
        )
        .map_err(|e| e.to_string())
    }
}

/// Each of `metrics` read on a warehouse (`queries[i]` for `metrics[i]`), on
/// all of `sessions` at once: one thread per session takes the next metric
/// until none is left. Reads come back in the order of `metrics`.
fn read_at_once(
    sessions: &mut [DbConnection],
    exp: &Experiment,
    metrics: &[Metric],
    queries: &[MetricQuery<'_>],
    variants: &[String],
) -> Vec<Result<Read, String>> {
    let next = AtomicUsize::new(0);
    let mut reads: Vec<(usize, Result<Read, String>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = sessions
            .iter_mut()
            .map(|session| {
                let next = &next;
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let (Some(metric), Some(query)) = (metrics.get(i), queries.get(i)) else {
                            return done;
                        };
                        let read = read_metric(
                            session,
                            exp,
                            metric,
                            query,
                            Source::Events(query.as_of),
                            variants,
                        )
                        .map_err(|e| e.to_string());
                        done.push((i, read));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    reads.sort_by_key(|(i, _)| *i);
    reads.into_iter().map(|(_, read)| read).collect()
}

/// Brings the stored per-unit values of `key`'s current phase up to date
/// without computing results (keeps later computations incremental).
pub fn advance_stored(conn: &mut DbConnection, key: &str) -> Result<(), ResultsError> {
    let watermark = ingest_clock::watermark(conn)?;
    write_transaction(conn, |conn| {
        more_work_mem(conn)?;
        no_jit(conn)?;
        let (exp, phase) = current_phase(conn, key)?;
        let metrics = resolve_metrics(conn, &exp)?;
        advance(conn, &exp, &phase, &metrics, watermark)?;
        Ok(())
    })
}

/// Where per-arm sums come from.
#[derive(Debug, Clone, Copy)]
pub(super) enum Source {
    /// Exposures and events dated up to this cut-off.
    Events(NaiveDateTime),
    /// Exposures and events dated up to and ingested before this instant.
    KnownBy(NaiveDateTime),
    /// The stored per-unit values, first advanced to this fresh watermark.
    Stored(NaiveDateTime),
}

fn current_phase(conn: &mut DbConnection, key: &str) -> Result<(Experiment, Phase), ResultsError> {
    let exp = experiments::get(conn, key)?;
    let phase = experiments::phases(conn, key)?
        .into_iter()
        .find(|p| p.number == exp.current_phase)
        .ok_or_else(|| ResultsError::NotLaunched(key.to_owned()))?;
    Ok((exp, phase))
}

/// A metric of the experiment with its role, or (as its result) why it cannot
/// be found.
pub(super) type RoleMetric = (MetricRole, Result<Metric, MetricResult>);

/// The experiment's metrics (primary, secondary, guardrail-only; each once).
fn resolve_metrics(
    conn: &mut DbConnection,
    exp: &Experiment,
) -> Result<Vec<RoleMetric>, ResultsError> {
    let def = &exp.definition;
    let mut roles: Vec<(String, MetricRole)> = Vec::new();
    let mut add = |m: &str, role| {
        if !roles.iter().any(|(k, _)| k == m) {
            roles.push((m.to_owned(), role));
        }
    };
    if let Some(p) = &def.primary_metric {
        add(p, MetricRole::Primary);
    }
    for m in &def.secondary_metrics {
        add(m, MetricRole::Secondary);
    }
    for g in &def.guardrails {
        add(&g.metric, MetricRole::Guardrail);
    }
    let mut out = Vec::with_capacity(roles.len());
    for (metric_key, role) in roles {
        match metrics_catalog::get(conn, &metric_key) {
            Ok(m) => out.push((role, Ok(m))),
            Err(DomainError::NotFound(msg)) => {
                out.push((role, Err(missing_metric(&metric_key, role, msg))));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// The CUPED pre-period for `metric` in `exp`, if it gets one.
fn pre_period_secs(exp: &Experiment, metric: &Metric) -> Option<f64> {
    let analysis = &exp.definition.analysis;
    (analysis.cuped && supports_cuped(&metric.definition))
        .then(|| f64::from(analysis.cuped_pre_period_days) * 86_400.0)
}

/// Advances the phase's stored values for `metrics` to `watermark`; returns
/// the watermark they are at.
fn advance(
    conn: &mut DbConnection,
    exp: &Experiment,
    phase: &Phase,
    metrics: &[RoleMetric],
    watermark: NaiveDateTime,
) -> Result<NaiveDateTime, ResultsError> {
    let stored: Vec<StateMetric<'_>> = metrics
        .iter()
        .filter_map(|(_, m)| m.as_ref().ok())
        .filter(|m| m.data_source.is_none())
        .map(|m| StateMetric {
            key: &m.key,
            definition: &m.definition,
            pre_period_secs: pre_period_secs(exp, m),
        })
        .collect();
    Ok(state::advance(
        conn,
        &exp.key,
        phase.number,
        &stored,
        watermark,
    )?)
}

fn compute_from(
    conn: &mut DbConnection,
    warehouses: &mut Warehouses,
    key: &str,
    source: Source,
    made_by: SnapshotSource,
    breakdowns: Breakdowns<'_>,
) -> Result<ExperimentResults, ResultsError> {
    let (exp, phase) = current_phase(conn, key)?;
    let resolved = resolve_metrics(conn, &exp)?;
    let (as_of, stamped_before) = match source {
        Source::Events(as_of) => (as_of, None),
        Source::KnownBy(as_of) => (as_of, Some(as_of)),
        Source::Stored(watermark) => {
            more_work_mem(conn)?;
            no_jit(conn)?;
            let watermark = advance(conn, &exp, &phase, &resolved, watermark)?;
            (watermark, Some(watermark))
        }
    };
    let (arms, first_exposure) = exposure_counts(conn, &exp, &phase, as_of, stamped_before)?;
    let inputs = metric_inputs(
        conn, warehouses, &exp, &phase, &resolved, source, as_of, &arms, None,
    )?;
    let mut results = assemble(
        &exp,
        phase.number,
        arms,
        first_exposure,
        inputs,
        as_of,
        made_by,
    );
    let dimensions: Vec<&str> = match breakdowns {
        Breakdowns::Declared => exp
            .definition
            .dimensions
            .iter()
            .map(String::as_str)
            .collect(),
        Breakdowns::Of(d) => vec![d],
        Breakdowns::Skip => Vec::new(),
    };
    for dimension in dimensions {
        results.breakdowns.push(breakdown::compute(
            conn,
            warehouses,
            &breakdown::Scope {
                exp: &exp,
                phase: &phase,
                metrics: &resolved,
                source,
                as_of,
                stamped_before,
                made_by,
            },
            dimension,
        )?);
    }
    Ok(results)
}

/// Which breakdowns by dimension results include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdowns<'a> {
    /// By every dimension the experiment declares (scheduled snapshots).
    Declared,
    /// By this one.
    Of(&'a str),
    /// None.
    Skip,
}

/// Every metric's input to [`assemble`]: per-arm statistics read from the
/// database for the phase's units (of `slice` only, when given).
#[allow(clippy::too_many_arguments)]
pub(super) fn metric_inputs(
    conn: &mut DbConnection,
    warehouses: &mut Warehouses,
    exp: &Experiment,
    phase: &Phase,
    resolved: &[RoleMetric],
    source: Source,
    as_of: NaiveDateTime,
    arms: &[ArmExposure],
    slice: Option<Slice<'_>>,
) -> Result<Vec<MetricInput>, ResultsError> {
    let variants: Vec<String> = arms.iter().map(|a| a.variant.clone()).collect();
    let mut inputs = Vec::with_capacity(resolved.len());
    for (role, metric) in resolved {
        let metric = match metric {
            Ok(m) => m.clone(),
            Err(missing) => {
                inputs.push(MetricInput::Missing(missing.clone()));
                continue;
            }
        };
        let pre_period_secs = pre_period_secs(exp, &metric);
        let query = MetricQuery {
            experiment: &exp.key,
            phase: phase.number,
            metric: &metric.definition,
            as_of,
            pre_period_secs,
            slice,
            ingested_by_as_of: matches!(source, Source::KnownBy(_)),
        };
        let read = match &metric.data_source {
            None => read_metric(conn, exp, &metric, &query, source, &variants)?,
            // On a warehouse the direct aggregation runs (it holds no stored
            // values); a source that fails makes only its metrics unavailable.
            Some(key) => {
                let on_source = warehouses.read(conn, key, exp, &metric, &query, &variants);
                match on_source {
                    Ok(read) => read,
                    Err(why) => {
                        inputs.push(MetricInput::Missing(unavailable_metric(
                            &metric,
                            *role,
                            format!("data source `{key}`: {why}"),
                        )));
                        continue;
                    }
                }
            }
        };
        let (sums, steps) = read;
        let spec = metric_spec(&metric, pre_period_secs.is_some());
        let arm_data = arms
            .iter()
            .map(|a| {
                let s = sums.iter().find(|s| s.variant == a.variant);
                arm_data(&a.variant, s, &spec)
            })
            .collect();
        inputs.push(MetricInput::Data(MetricData {
            role: *role,
            metric,
            spec,
            arms: arm_data,
            steps,
        }));
    }
    Ok(inputs)
}

/// A metric's per-arm sums (and a funnel's steps) read from `conn`.
fn read_metric(
    conn: &mut DbConnection,
    exp: &Experiment,
    metric: &Metric,
    query: &MetricQuery<'_>,
    source: Source,
    variants: &[String],
) -> Result<(Vec<ArmSums>, Option<Vec<FunnelStep>>), ResultsError> {
    Ok(match &metric.definition {
        MetricDefinition::Funnel { steps, .. } => {
            let counts = match source {
                Source::Events(_) | Source::KnownBy(_) => funnel_counts(conn, query)?,
                Source::Stored(_) => stored_funnel_counts(conn, query, &metric.key)?,
            };
            (
                funnel::sums(&counts, variants, steps.len()),
                Some(funnel::steps(exp, steps, variants, &counts)),
            )
        }
        _ => match source {
            Source::Events(_) | Source::KnownBy(_) => (arm_sums(conn, query)?, None),
            Source::Stored(_) => (stored_arm_sums(conn, query, &metric.key)?, None),
        },
    })
}

/// The result of `metric` when its data could not be read: why, with its
/// name, kind and direction.
fn unavailable_metric(metric: &Metric, role: MetricRole, why: String) -> MetricResult {
    MetricResult {
        name: metric.name.clone(),
        kind: metric.definition.kind().to_owned(),
        direction: metric.direction,
        ..missing_metric(&metric.key, role, why)
    }
}

/// One metric's input to [`assemble`].
#[derive(Debug, Clone)]
pub enum MetricInput {
    /// Its per-arm sufficient statistics.
    Data(MetricData),
    /// It could not be read (e.g. not in the catalogue): its result says why.
    Missing(MetricResult),
}

/// A metric with its per-arm sufficient statistics, control first.
#[derive(Debug, Clone)]
pub struct MetricData {
    /// Its role in the experiment.
    pub role: MetricRole,
    /// The catalogue entry.
    pub metric: Metric,
    /// How the engine reads its statistics.
    pub spec: MetricSpec,
    /// Per arm, in the experiment's arm order.
    pub arms: Vec<ArmData>,
    /// A funnel's steps, already analysed.
    pub steps: Option<Vec<FunnelStep>>,
}

/// The statistics of experiment `exp` from per-arm data read elsewhere: SRM,
/// every metric's comparisons with the corrections, guardrails, the forecast
/// and the recommendation. Pure, so the A/A simulation and the breakdowns by
/// dimension run exactly what results do.
pub fn assemble(
    exp: &Experiment,
    phase: u32,
    arms: Vec<ArmExposure>,
    first_exposure: Option<NaiveDateTime>,
    inputs: Vec<MetricInput>,
    as_of: NaiveDateTime,
    made_by: SnapshotSource,
) -> ExperimentResults {
    let def = &exp.definition;
    let srm = srm_check(&arms);
    let mut data: BTreeMap<String, (Metric, Vec<ArmData>, MetricSpec)> = BTreeMap::new();
    let mut metrics = Vec::with_capacity(inputs.len());
    for input in inputs {
        match input {
            MetricInput::Missing(missing) => metrics.push(missing),
            MetricInput::Data(m) => {
                let mut result = analyse_metric(exp, &m.metric, m.role, &m.spec, &m.arms);
                result.steps = m.steps;
                metrics.push(result);
                data.insert(m.metric.key.clone(), (m.metric, m.arms, m.spec));
            }
        }
    }
    let metric_correction = MetricCorrection::default();
    apply_metric_correction(
        &mut metrics,
        metric_correction,
        def.analysis.alpha,
        def.analysis.engine,
    );
    let guardrails = guardrail_outcomes(exp, &data);
    let forecast = forecast(exp, &arms, first_exposure, &data, as_of);
    let signals = signals(
        exp,
        &arms,
        &srm,
        &metrics,
        &guardrails,
        forecast.as_ref(),
        as_of,
    );
    ExperimentResults {
        schema_version: RESULTS_SCHEMA_VERSION,
        experiment: exp.key.clone(),
        phase,
        as_of: as_of.and_utc(),
        // Stored timestamps keep microseconds: round now, so a stored copy
        // reads back equal.
        computed_at: Utc::now().trunc_subsecs(6),
        source: made_by,
        engine: def.analysis.engine,
        alpha: def.analysis.alpha,
        metric_correction,
        arms,
        srm,
        metrics,
        guardrails,
        forecast,
        recommendation: recommend(&signals),
        breakdowns: Vec::new(),
    }
}

fn missing_metric(key: &str, role: MetricRole, msg: String) -> MetricResult {
    MetricResult {
        metric: key.to_owned(),
        name: key.to_owned(),
        role,
        kind: String::new(),
        direction: Direction::HigherIsBetter,
        cuped: false,
        arms: Vec::new(),
        comparisons: Vec::new(),
        error: Some(msg),
        steps: None,
    }
}

/// Exposed units per arm of the phase up to `as_of` (and, for stored values,
/// stamped before their watermark), in the phase's arm order, and the first
/// exposure among them.
fn exposure_counts(
    conn: &mut DbConnection,
    exp: &Experiment,
    phase: &Phase,
    as_of: NaiveDateTime,
    stamped_before: Option<NaiveDateTime>,
) -> QueryResult<(Vec<ArmExposure>, Option<NaiveDateTime>)> {
    let exposed = exposures::table
        .filter(exposures::experiment_key.eq(&exp.key))
        .filter(exposures::phase.eq(i32::try_from(phase.number).unwrap_or(i32::MAX)))
        .filter(exposures::first_seen.le(as_of));
    let per_variant = (
        exposures::variant,
        diesel::dsl::count_star(),
        diesel::dsl::min(exposures::first_seen),
    );
    let counts: Vec<(String, i64, Option<NaiveDateTime>)> = match stamped_before {
        Some(watermark) => exposed
            .filter(exposures::recorded_at.lt(watermark))
            .group_by(exposures::variant)
            .select(per_variant)
            .load(conn)?,
        None => exposed
            .group_by(exposures::variant)
            .select(per_variant)
            .load(conn)?,
    };
    let arms = phase
        .arms
        .iter()
        .map(|arm| ArmExposure {
            variant: arm.variant.clone(),
            weight: arm.weight,
            units: counts
                .iter()
                .find(|(v, _, _)| *v == arm.variant)
                .map_or(0, |(_, n, _)| u64::try_from(*n).unwrap_or(0)),
        })
        .collect();
    let first = counts.iter().filter_map(|(_, _, first)| *first).min();
    Ok((arms, first))
}

pub(super) fn srm_check(arms: &[ArmExposure]) -> SrmCheck {
    let observed: Vec<f64> = arms.iter().map(|a| a.units as f64).collect();
    let weights: Vec<f64> = arms.iter().map(|a| a.weight).collect();
    match verdict_stats::srm_test(&observed, Some(&weights)) {
        Ok(test) => SrmCheck {
            chi_square: Some(test.chi_square),
            p_value: Some(test.p_value),
            mismatch: test.mismatch,
            trustworthy: !test.mismatch,
            message: if test.mismatch {
                format!(
                    "sample ratio mismatch: chi-square {:.2}, p = {:.2e} < {}; results are untrustworthy",
                    test.chi_square,
                    test.p_value,
                    verdict_stats::SRM_THRESHOLD
                )
            } else {
                format!(
                    "exposures match the planned weights (p = {:.3})",
                    test.p_value
                )
            },
        },
        Err(e) => SrmCheck {
            chi_square: None,
            p_value: None,
            mismatch: false,
            trustworthy: true,
            message: format!("sample ratio not checked: {e}"),
        },
    }
}

fn arm_data(variant: &str, s: Option<&ArmSums>, spec: &MetricSpec) -> ArmData {
    let s = s.cloned().unwrap_or_default();
    let v = |x: Option<f64>| Some(x.unwrap_or(0.0));
    let mut a = ArmData {
        name: variant.to_owned(),
        n: s.n as f64,
        ..ArmData::default()
    };
    if spec.metric_type == MetricType::Ratio {
        a.numerator_sum = v(s.s_x);
        a.numerator_sum_squares = v(s.s_xx);
        a.denominator_sum = v(s.s_d);
        a.denominator_sum_squares = v(s.s_dd);
        a.numerator_denominator_sum_product = v(s.s_xd);
        if spec.cuped {
            a.pre_numerator_sum = v(s.s_p);
            a.pre_numerator_sum_squares = v(s.s_pp);
            a.pre_denominator_sum = v(s.s_q);
            a.pre_denominator_sum_squares = v(s.s_qq);
            a.numerator_pre_numerator_sum_product = v(s.s_xp);
            a.denominator_pre_denominator_sum_product = v(s.s_dq);
            a.pre_numerator_pre_denominator_sum_product = v(s.s_pq);
            a.numerator_pre_denominator_sum_product = v(s.s_xq);
            a.denominator_pre_numerator_sum_product = v(s.s_dp);
        }
    } else {
        a.sum = v(s.s_x);
        a.sum_squares = v(s.s_xx);
        if spec.cuped {
            a.pre_sum = v(s.s_p);
            a.pre_sum_squares = v(s.s_pp);
            a.post_pre_sum_product = v(s.s_xp);
        }
    }
    a
}

fn arm_mean(a: &ArmData) -> Option<f64> {
    let (num, den) = match (a.sum, a.numerator_sum) {
        (Some(s), _) => (s, a.n),
        (None, Some(m)) => (m, a.denominator_sum.unwrap_or(0.0)),
        _ => return None,
    };
    (den > 0.0).then(|| num / den)
}

fn analyse_metric(
    exp: &Experiment,
    metric: &Metric,
    role: MetricRole,
    spec: &MetricSpec,
    arms: &[ArmData],
) -> MetricResult {
    let settings = &exp.definition.analysis;
    let request = AnalysisRequest {
        metric: spec.clone(),
        engine: settings.engine.into(),
        difference: DifferenceType::Relative,
        alpha: settings.alpha,
        sequential_tuning: verdict_stats::DEFAULT_TUNING,
        prior: verdict_stats::Prior::default(),
        weights: None,
        arms: arms.to_vec(),
    };
    let analysis = verdict_stats::analyze(&request);
    let comparisons = analysis.comparisons;
    MetricResult {
        metric: metric.key.clone(),
        name: metric.name.clone(),
        role,
        kind: metric.definition.kind().to_owned(),
        direction: metric.direction,
        cuped: spec.cuped,
        arms: arms
            .iter()
            .map(|a| ArmValue {
                variant: a.name.clone(),
                units: a.n as u64,
                mean: arm_mean(a),
            })
            .collect(),
        comparisons,
        error: analysis.error,
        steps: None,
    }
}

/// Sets `p_value_adjusted` (Holm across arms, then `correction` across the
/// primary and secondary metrics, per treatment) and the significance flags.
pub fn apply_metric_correction(
    metrics: &mut [MetricResult],
    correction: MetricCorrection,
    alpha: f64,
    engine: Engine,
) {
    for m in metrics.iter_mut() {
        for c in &mut m.comparisons {
            c.p_value_adjusted = c.p_value_holm;
        }
    }
    if correction == MetricCorrection::BenjaminiHochberg {
        let variants: Vec<String> = metrics
            .iter()
            .flat_map(|m| m.comparisons.iter().map(|c| c.arm.clone()))
            .collect();
        let mut seen = Vec::new();
        for variant in variants {
            if seen.contains(&variant) {
                continue;
            }
            let mut slots = Vec::new();
            for (mi, m) in metrics.iter().enumerate() {
                if m.role == MetricRole::Guardrail {
                    continue;
                }
                for (ci, c) in m.comparisons.iter().enumerate() {
                    if c.arm == variant
                        && let Some(p) = c.p_value_holm
                    {
                        slots.push((mi, ci, p));
                    }
                }
            }
            let raw: Vec<f64> = slots.iter().map(|s| s.2).collect();
            if let Ok(adjusted) = verdict_stats::benjamini_hochberg(&raw) {
                for ((mi, ci, _), p) in slots.iter().zip(adjusted) {
                    metrics[*mi].comparisons[*ci].p_value_adjusted = Some(p);
                }
            }
            seen.push(variant);
        }
    }
    for m in metrics.iter_mut() {
        // The decision metric is judged with Holm across arms only.
        let primary = m.role == MetricRole::Primary;
        let inverse = m.direction.inverse();
        for c in &mut m.comparisons {
            let p = if primary {
                c.p_value_holm
            } else {
                c.p_value_adjusted
            };
            c.judge(engine.into(), alpha, inverse, p);
        }
    }
}

fn guardrail_outcomes(
    exp: &Experiment,
    data: &BTreeMap<String, (Metric, Vec<ArmData>, MetricSpec)>,
) -> Vec<GuardrailOutcome> {
    let alpha = exp.definition.analysis.alpha;
    let mut out = Vec::new();
    for g in &exp.definition.guardrails {
        let Some((metric, arms, spec)) = data.get(&g.metric) else {
            out.push(GuardrailOutcome {
                metric: g.metric.clone(),
                variant: String::new(),
                max_degradation: g.max_degradation,
                margin_type: g.margin_type,
                verdict: None,
                estimate: None,
                bound: None,
                p_value: None,
                error: Some(format!("metric `{}` is not in the catalogue", g.metric)),
            });
            continue;
        };
        let gspec = GuardrailSpec {
            margin: g.max_degradation,
            margin_type: match g.margin_type {
                MarginType::Absolute => DifferenceType::Absolute,
                MarginType::Relative => DifferenceType::Relative,
            },
            inverse: metric.direction.inverse(),
            alpha,
        };
        let Some((control, treatments)) = arms.split_first() else {
            continue;
        };
        for t in treatments {
            let r = verdict_stats::guardrail(spec, control, t, &gspec);
            out.push(GuardrailOutcome {
                metric: g.metric.clone(),
                variant: t.name.clone(),
                max_degradation: g.max_degradation,
                margin_type: g.margin_type,
                verdict: r.as_ref().ok().map(|r| r.verdict),
                estimate: r.as_ref().ok().map(|r| r.estimate),
                bound: r.as_ref().ok().map(|r| r.bound),
                p_value: r.as_ref().ok().map(|r| r.p_value),
                error: r.err().map(|e| e.to_string()),
            });
        }
    }
    out
}

/// When the planned sample is reached, at the rate units arrived so far: over
/// the span from the first exposure to `as_of` (not from the launch, which
/// may precede any traffic).
fn forecast(
    exp: &Experiment,
    arms: &[ArmExposure],
    first_exposure: Option<NaiveDateTime>,
    data: &BTreeMap<String, (Metric, Vec<ArmData>, MetricSpec)>,
    as_of: NaiveDateTime,
) -> Option<SampleForecast> {
    let mde = exp.definition.minimum_detectable_effect?;
    let (_, arm_data, spec) = data.get(exp.definition.primary_metric.as_ref()?)?;
    let control = arm_data.first()?;
    let baseline = match spec.metric_type {
        MetricType::Binomial => PowerBaseline::Rate(control.sum? / control.n),
        MetricType::Mean => {
            let n = control.n;
            let mean = control.sum? / n;
            let var = (control.sum_squares? - n * mean * mean) / (n - 1.0);
            PowerBaseline::Mean {
                mean,
                sd: var.max(0.0).sqrt(),
            }
        }
        MetricType::Ratio => return None,
    };
    let n_per_arm =
        verdict_stats::n_per_arm(baseline, mde, exp.definition.analysis.alpha, PLANNED_POWER)
            .ok()?;
    let elapsed_days = (as_of - first_exposure?).num_seconds() as f64 / 86_400.0;
    let total: f64 = arms.iter().map(|a| a.units as f64).sum();
    let min_weight = arms.iter().map(|a| a.weight).fold(f64::INFINITY, f64::min);
    if !(elapsed_days > 0.0 && min_weight > 0.0 && min_weight.is_finite()) {
        return None;
    }
    let units_per_day = total / elapsed_days;
    // The smallest arm gets min_weight % of the units: size the total for it.
    let planned_total = n_per_arm as f64 * 100.0 / min_weight;
    let days = verdict_stats::days_to_reach(planned_total, total, units_per_day).ok()?;
    Some(SampleForecast {
        minimum_detectable_effect: mde,
        n_per_arm,
        units_per_day,
        days_to_reach: days,
        predicted_date: (as_of + TimeDelta::days(i64::try_from(days).ok()?)).and_utc(),
    })
}

fn signals(
    exp: &Experiment,
    exposed: &[ArmExposure],
    srm: &SrmCheck,
    metrics: &[MetricResult],
    guardrails: &[GuardrailOutcome],
    forecast: Option<&SampleForecast>,
    as_of: NaiveDateTime,
) -> Signals {
    let primary_key = exp.definition.primary_metric.clone();
    let primary = metrics.iter().find(|m| m.role == MetricRole::Primary);
    let arms = exposed.iter().skip(1).map(|arm| {
        let comparison = primary.and_then(|m| m.comparisons.iter().find(|c| c.arm == arm.variant));
        let sign = primary.map_or(1.0, |m| if m.direction.inverse() { -1.0 } else { 1.0 });
        let outcome = match comparison {
            None => PrimaryOutcome::Unavailable,
            Some(c) if c.error.is_some() => PrimaryOutcome::Unavailable,
            Some(c) if c.improved => PrimaryOutcome::Better,
            Some(c) if c.significant => PrimaryOutcome::Worse,
            Some(_) => PrimaryOutcome::Flat,
        };
        ArmSignal {
            variant: arm.variant.clone(),
            primary: outcome,
            improvement: comparison.and_then(|c| c.estimate).map(|l| sign * l),
            guardrails: guardrails
                .iter()
                .filter(|g| g.variant == arm.variant || g.variant.is_empty())
                .map(|g| (g.metric.clone(), g.verdict))
                .collect(),
        }
    });
    Signals {
        srm_mismatch: srm.p_value.filter(|_| srm.mismatch),
        primary_metric: primary_key,
        arms: arms.collect(),
        days_left: forecast.map(|f| f.days_to_reach),
        past_decision_date: exp.target_decision_at().is_some_and(|d| as_of > d),
        fixed_horizon: exp.definition.analysis.engine != Engine::Sequential,
    }
}
