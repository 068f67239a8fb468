//! Reading and appending decision rows (there is no update or delete).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{Decision, Outcome};
use crate::db::schema::{decisions as d, experiments as e, exposures as x};
use crate::db::{DbConnection, DbError};
use crate::results::compat::{self, Frozen};

type Row = (
    i64,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    NaiveDateTime,
    Option<i64>,
    String,
    Option<String>,
);

const COLUMNS: (
    d::id,
    d::experiment_key,
    d::outcome,
    d::variant,
    d::rationale,
    d::links,
    d::author,
    d::created_at,
    d::supersedes,
    d::results_snapshot,
    d::action_taken,
) = (
    d::id,
    d::experiment_key,
    d::outcome,
    d::variant,
    d::rationale,
    d::links,
    d::author,
    d::created_at,
    d::supersedes,
    d::results_snapshot,
    d::action_taken,
);

fn decode(row: Row) -> Result<Decision, DbError> {
    let (
        id,
        experiment_key,
        outcome,
        variant,
        rationale,
        links,
        author,
        created_at,
        supersedes,
        snapshot,
        action_taken,
    ) = row;
    Ok(Decision {
        id,
        experiment_key,
        outcome: Outcome::parse(&outcome)
            .ok_or_else(|| DbError::Corrupt(format!("decision {id}: outcome `{outcome}`")))?,
        variant,
        rationale,
        links: serde_json::from_str(&links)
            .map_err(|e| DbError::Corrupt(format!("decision {id}: links: {e}")))?,
        author,
        created_at: created_at.and_utc(),
        supersedes,
        results_snapshot: serde_json::from_str(&snapshot)
            .and_then(compat::read_frozen)
            .map_err(|e| DbError::Corrupt(format!("decision {id}: frozen results: {e}")))?,
        action_taken,
    })
}

/// Appends `decision` (its `id` is assigned here) and returns it as stored.
pub(super) fn insert(conn: &mut DbConnection, decision: &Decision) -> Result<Decision, DbError> {
    let links = serde_json::to_string(&decision.links).unwrap_or_else(|_| "[]".into());
    let frozen = match &decision.results_snapshot {
        Frozen::Results(results) => serde_json::to_string(results),
        Frozen::Unavailable(reason) => {
            serde_json::to_string(&serde_json::json!({"unavailable": reason}))
        }
    }
    .map_err(|e| DbError::Corrupt(format!("frozen results: {e}")))?;
    diesel::insert_into(d::table)
        .values((
            d::experiment_key.eq(&decision.experiment_key),
            d::outcome.eq(decision.outcome.as_str()),
            d::variant.eq(&decision.variant),
            d::rationale.eq(&decision.rationale),
            d::links.eq(links),
            d::author.eq(&decision.author),
            d::created_at.eq(decision.created_at.naive_utc()),
            d::supersedes.eq(decision.supersedes),
            d::results_snapshot.eq(frozen),
            d::action_taken.eq(&decision.action_taken),
        ))
        .execute(conn)?;
    let row: Row = d::table
        .filter(d::experiment_key.eq(&decision.experiment_key))
        .order(d::id.desc())
        .select(COLUMNS)
        .first(conn)?;
    decode(row)
}

/// One decision.
pub fn get(conn: &mut DbConnection, id: i64) -> Result<Option<Decision>, DbError> {
    let row: Option<Row> = d::table.find(id).select(COLUMNS).first(conn).optional()?;
    row.map(decode).transpose()
}

/// Whether a later decision already corrects `id`.
pub(super) fn superseded_by(conn: &mut DbConnection, id: i64) -> Result<Option<i64>, DbError> {
    Ok(d::table
        .filter(d::supersedes.eq(id))
        .select(d::id)
        .first(conn)
        .optional()?)
}

/// Which decisions to list.
#[derive(Debug, Clone, Default)]
pub struct DecisionFilter {
    /// Only this experiment.
    pub experiment: Option<String>,
    /// Only this outcome.
    pub outcome: Option<Outcome>,
    /// Only by this author.
    pub author: Option<String>,
    /// Recorded at or after.
    pub from: Option<NaiveDateTime>,
    /// Recorded before.
    pub to: Option<NaiveDateTime>,
    /// Only ids below this (the previous page's cursor).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Decisions matching `filter`, newest first (a stable order: by id).
pub fn list(conn: &mut DbConnection, filter: &DecisionFilter) -> Result<Vec<Decision>, DbError> {
    let mut query = d::table.into_boxed();
    if let Some(v) = &filter.experiment {
        query = query.filter(d::experiment_key.eq(v.clone()));
    }
    if let Some(v) = filter.outcome {
        query = query.filter(d::outcome.eq(v.as_str()));
    }
    if let Some(v) = &filter.author {
        query = query.filter(d::author.eq(v.clone()));
    }
    if let Some(v) = filter.from {
        query = query.filter(d::created_at.ge(v));
    }
    if let Some(v) = filter.to {
        query = query.filter(d::created_at.lt(v));
    }
    if let Some(v) = filter.before_id {
        query = query.filter(d::id.lt(v));
    }
    let rows: Vec<Row> = query
        .order(d::id.desc())
        .limit(filter.limit)
        .select(COLUMNS)
        .load(conn)?;
    rows.into_iter().map(decode).collect()
}

/// Per experiment: status, launch time, whether it launched with a guardrail,
/// target decision time, first exposure and first decision — what the SLA and
/// OKR reports are computed from.
pub fn timings(conn: &mut DbConnection) -> Result<Vec<super::ExperimentTiming>, DbError> {
    let experiments: Vec<(String, String, Option<NaiveDateTime>, bool, String)> = e::table
        .select((
            e::key,
            e::status,
            e::started_at,
            e::launched_without_guardrail,
            e::definition,
        ))
        .order(e::key.asc())
        .load(conn)?;
    let first_exposures: Vec<(String, Option<NaiveDateTime>)> = x::table
        .group_by(x::experiment_key)
        .select((x::experiment_key, diesel::dsl::min(x::first_seen)))
        .load(conn)?;
    let first_decisions: Vec<(String, Option<NaiveDateTime>)> = d::table
        .group_by(d::experiment_key)
        .select((d::experiment_key, diesel::dsl::min(d::created_at)))
        .load(conn)?;
    let lookup = |rows: &[(String, Option<NaiveDateTime>)], key: &str| {
        rows.iter().find(|(k, _)| k == key).and_then(|(_, t)| *t)
    };
    experiments
        .into_iter()
        .map(|(key, status, started_at, without_guardrail, definition)| {
            let definition: crate::experiments::Definition = serde_json::from_str(&definition)
                .map_err(|err| DbError::Corrupt(format!("experiment {key}: {err}")))?;
            let target = definition.target_decision_at.or_else(|| {
                started_at
                    .map(|s| s + chrono::TimeDelta::days(crate::experiments::DEFAULT_DECISION_DAYS))
            });
            Ok(super::ExperimentTiming {
                first_exposure: lookup(&first_exposures, &key),
                first_decision: lookup(&first_decisions, &key),
                key,
                status,
                started_at,
                launched_with_guardrail: started_at.is_some() && !without_guardrail,
                target_decision_at: target,
            })
        })
        .collect()
}
