//! What a reader of results gets: the latest stored snapshot, a recompute, or
//! a computation as of a past instant, shared by the API and the console.

use chrono::{DateTime, Utc};

use super::{
    Breakdowns, ExperimentResults, ResultsError, SnapshotSource, compute, latest, refresh,
};
use crate::db::DbConnection;
use crate::domain_error::DomainError;

/// Which results to serve.
#[derive(Debug, Clone, Default)]
pub struct ResultsRequest {
    /// Recompute from the data now (and store it) instead of the latest snapshot.
    pub refresh: bool,
    /// Keep only the breakdown by this dimension (one the experiment declares).
    pub dimension: Option<String>,
    /// Compute from the data up to this past instant (not stored).
    pub as_of: Option<DateTime<Utc>>,
}

/// The results `request` asks for: the latest snapshot when there is one (with
/// the asked breakdown), else computed now and stored; or, with `as_of`,
/// computed from what was known then.
pub fn serve(
    conn: &mut DbConnection,
    key: &str,
    request: &ResultsRequest,
) -> Result<ExperimentResults, ResultsError> {
    let exp = crate::experiments::get(conn, key)?;
    let dimension = request.dimension.as_deref();
    if let Some(d) = dimension
        && !exp.definition.dimensions.iter().any(|x| x == d)
    {
        let declared = if exp.definition.dimensions.is_empty() {
            "none".to_owned()
        } else {
            exp.definition.dimensions.join(", ")
        };
        return Err(ResultsError::Domain(DomainError::invalid(
            "dimension",
            format!("`{d}` is not a dimension of `{key}` (it declares: {declared})"),
        )));
    }
    let breakdowns = dimension.map_or(Breakdowns::Skip, Breakdowns::Of);
    if let Some(at) = request.as_of {
        return compute(
            conn,
            key,
            at.naive_utc(),
            SnapshotSource::Historical,
            breakdowns,
        );
    }
    if !request.refresh
        && let Some(s) = latest(conn, key, exp.current_phase)?
        && dimension.is_none_or(|d| s.breakdowns.iter().any(|b| b.dimension == d))
    {
        return Ok(keep_breakdown(s, dimension));
    }
    refresh(conn, key, breakdowns).map(|r| keep_breakdown(r, dimension))
}

/// `results` with only the breakdown by `dimension`; all it has without one
/// (what is served is what was stored, and what a decision freezes).
fn keep_breakdown(mut results: ExperimentResults, dimension: Option<&str>) -> ExperimentResults {
    if let Some(d) = dimension {
        results.breakdowns.retain(|b| b.dimension == d);
    }
    results
}
