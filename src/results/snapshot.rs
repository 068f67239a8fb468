//! Stored results: scheduled (one per experiment, phase and slot, claimed by
//! insert-if-absent so only one replica computes it) and manual recomputes.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde_json::json;
use verdict_stats::GuardrailVerdict;

use super::analysis::{
    Breakdowns, ExperimentResults, ResultsError, SnapshotSource, advance_stored, compute,
    compute_current,
};
use super::compat;
use crate::db::schema::result_snapshots as rs;
use crate::db::{Db, DbConnection, DbError, write_transaction};
use crate::domain_error::DomainError;
use crate::experiments::{self, ListFilter, Status};
use crate::telegram::{TelegramChat, deadline_alert, guardrail_alert, srm_alert};
use crate::webhooks;

impl SnapshotSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Manual => "manual",
            Self::Historical => "historical",
        }
    }
}

fn phase_i32(phase: u32) -> i32 {
    i32::try_from(phase).unwrap_or(i32::MAX)
}

fn corrupt(e: serde_json::Error) -> ResultsError {
    ResultsError::Domain(DomainError::Db(DbError::Corrupt(format!(
        "result snapshot: {e}"
    ))))
}

/// The latest stored results of `key`'s `phase`, if any (an unreadable one
/// counts as none).
pub fn latest(
    conn: &mut DbConnection,
    key: &str,
    phase: u32,
) -> Result<Option<ExperimentResults>, ResultsError> {
    let row: Option<(String, NaiveDateTime, Option<String>)> = rs::table
        .filter(rs::experiment_key.eq(key))
        .filter(rs::phase.eq(phase_i32(phase)))
        .filter(rs::body.is_not_null())
        .order((rs::computed_at.desc(), rs::as_of.desc()))
        .select((rs::source, rs::computed_at, rs::body))
        .first(conn)
        .optional()?;
    let Some((source, computed_at, Some(body))) = row else {
        return Ok(None);
    };
    let source = if source == SnapshotSource::Scheduled.as_str() {
        SnapshotSource::Scheduled
    } else {
        SnapshotSource::Manual
    };
    // A snapshot no version can read (a newer shape after a downgrade) counts
    // as absent, so that the caller recomputes.
    match compat::read_snapshot(&body, source, computed_at) {
        Ok(results) => Ok(Some(results)),
        Err(e) => {
            tracing::warn!(experiment = key, error = %e, "unreadable result snapshot ignored");
            Ok(None)
        }
    }
}

/// Computes `key`'s current results incrementally (see [`compute_current`])
/// with `breakdowns` and stores them as a manual snapshot.
pub fn refresh(
    conn: &mut DbConnection,
    key: &str,
    breakdowns: Breakdowns<'_>,
) -> Result<ExperimentResults, ResultsError> {
    let results = compute_current(conn, key, breakdowns)?;
    store(conn, &results)?;
    Ok(results)
}

/// Stores `results` as a snapshot of their source.
fn store(conn: &mut DbConnection, results: &ExperimentResults) -> Result<(), ResultsError> {
    let body = serde_json::to_string(results).map_err(corrupt)?;
    diesel::insert_into(rs::table)
        .values((
            rs::experiment_key.eq(&results.experiment),
            rs::phase.eq(phase_i32(results.phase)),
            rs::source.eq(results.source.as_str()),
            rs::as_of.eq(results.as_of.naive_utc()),
            rs::computed_at.eq(results.computed_at.naive_utc()),
            rs::body.eq(Some(body)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stores the daily snapshots a scheduler running since `from` would have
/// stored for `key` up to `to`, without their notifications (for data loaded
/// after the fact, such as the demo's simulated traffic); slots that have one
/// are kept.
pub fn backfill(
    conn: &mut DbConnection,
    key: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<usize, ResultsError> {
    let day = std::time::Duration::from_secs(86_400);
    let mut slot = slot_start(from, day) + TimeDelta::days(1);
    let phase = phase_i32(experiments::get(conn, key)?.current_phase);
    let mut stored = 0;
    while slot <= to {
        let exists = rs::table
            .filter(rs::experiment_key.eq(key))
            .filter(rs::phase.eq(phase))
            .filter(rs::source.eq(SnapshotSource::Scheduled.as_str()))
            .filter(rs::as_of.eq(slot))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        if !exists {
            let results = compute(
                conn,
                key,
                slot,
                SnapshotSource::Scheduled,
                Breakdowns::Declared,
            )?;
            store(conn, &results)?;
            stored += 1;
        }
        slot += TimeDelta::days(1);
    }
    Ok(stored)
}

/// The start of the scheduling slot containing `now`: slots of `interval`
/// aligned on the Unix epoch (midnight UTC for a day).
pub fn slot_start(now: NaiveDateTime, interval: std::time::Duration) -> NaiveDateTime {
    let secs = i64::try_from(interval.as_secs()).unwrap_or(i64::MAX).max(1);
    let t = now.and_utc().timestamp();
    DateTime::<Utc>::from_timestamp(t - t.rem_euclid(secs), 0).map_or(now, |d| d.naive_utc())
}

/// Outcome of one scheduler pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassReport {
    /// Experiments whose snapshot this pass computed.
    pub computed: Vec<String>,
    /// Experiments skipped because this slot's snapshot exists or is claimed.
    pub skipped: Vec<String>,
    /// Experiments whose computation failed, with the error.
    pub failed: Vec<(String, String)>,
}

/// One scheduler pass: for every running experiment without a snapshot for the
/// slot containing `now`, claims the slot and stores results up to the slot
/// start, queueing `srm.detected` / `guardrail.failed` /
/// `decision.deadline_reached` notifications with it, and the same alerts to
/// `telegram` when a chat is configured.
pub fn scheduled_pass(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    interval: std::time::Duration,
    telegram: Option<&TelegramChat>,
) -> Result<PassReport, ResultsError> {
    let slot = slot_start(now, interval);
    let mut report = PassReport::default();
    for exp in running(conn)? {
        let phase = phase_i32(exp.current_phase);
        let claim = diesel::insert_into(rs::table)
            .values((
                rs::experiment_key.eq(&exp.key),
                rs::phase.eq(phase),
                rs::source.eq(SnapshotSource::Scheduled.as_str()),
                rs::as_of.eq(slot),
                rs::computed_at.eq(now),
                rs::body.eq(None::<String>),
            ))
            .execute(conn);
        match claim {
            Ok(_) => {}
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                report.skipped.push(exp.key);
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        let row = rs::table
            .filter(rs::experiment_key.eq(&exp.key))
            .filter(rs::phase.eq(phase))
            .filter(rs::source.eq(SnapshotSource::Scheduled.as_str()))
            .filter(rs::as_of.eq(slot));
        let made = compute(
            conn,
            &exp.key,
            slot,
            SnapshotSource::Scheduled,
            Breakdowns::Declared,
        );
        let stored = made.and_then(|r| {
            let body = serde_json::to_string(&r).map_err(corrupt)?;
            write_transaction(conn, |conn| {
                diesel::update(row)
                    .set((
                        rs::body.eq(Some(body)),
                        rs::computed_at.eq(r.computed_at.naive_utc()),
                    ))
                    .execute(conn)?;
                notify(conn, &r, telegram)?;
                notify_deadline(conn, &exp, slot, telegram)
            })
        });
        match stored {
            Ok(()) => report.computed.push(exp.key),
            Err(e) => {
                // Release the claim so a later pass retries.
                diesel::delete(row).execute(conn)?;
                report.failed.push((exp.key, e.to_string()));
            }
        }
    }
    Ok(report)
}

/// Once per slot while a running experiment is past its target decision date,
/// queues `decision.deadline_reached` (a daily reminder with a daily interval).
fn notify_deadline(
    conn: &mut DbConnection,
    exp: &experiments::Experiment,
    slot: NaiveDateTime,
    telegram: Option<&TelegramChat>,
) -> Result<(), ResultsError> {
    let Some(target) = exp.target_decision_at().filter(|t| *t <= slot) else {
        return Ok(());
    };
    let days_overdue = (slot - target).num_hours() as f64 / 24.0;
    let event = webhooks::Event::DecisionDeadlineReached;
    webhooks::enqueue(
        conn,
        event,
        &json!({
            "experiment": exp.key, "owner": exp.definition.owner,
            "target_decision_at": target.and_utc(),
            "days_overdue": days_overdue,
        }),
    )?;
    if let Some(t) = telegram {
        let text = deadline_alert(
            &exp.key,
            &exp.definition.name,
            &exp.definition.owner,
            target,
            days_overdue,
            &t.view,
        );
        webhooks::enqueue_telegram(conn, event, &t.chat, &text)?;
    }
    Ok(())
}

/// Queues the `srm.detected` and `guardrail.failed` notifications a scheduled
/// snapshot calls for (once per snapshot), to `telegram` too when configured.
fn notify(
    conn: &mut DbConnection,
    r: &ExperimentResults,
    telegram: Option<&TelegramChat>,
) -> Result<(), ResultsError> {
    if r.srm.mismatch {
        webhooks::enqueue(
            conn,
            webhooks::Event::SrmDetected,
            &json!({
                "experiment": r.experiment, "phase": r.phase, "as_of": r.as_of,
                "chi_square": r.srm.chi_square, "p_value": r.srm.p_value,
                "units": r.arms.iter().map(|a| json!({"variant": a.variant, "weight": a.weight, "units": a.units})).collect::<Vec<_>>(),
            }),
        )?;
        if let Some(t) = telegram {
            let text = srm_alert(r, &t.view);
            webhooks::enqueue_telegram(conn, webhooks::Event::SrmDetected, &t.chat, &text)?;
        }
    }
    for g in r
        .guardrails
        .iter()
        .filter(|g| g.verdict == Some(GuardrailVerdict::Fail))
    {
        webhooks::enqueue(
            conn,
            webhooks::Event::GuardrailFailed,
            &json!({
                "experiment": r.experiment, "phase": r.phase, "as_of": r.as_of,
                "metric": g.metric, "variant": g.variant, "max_degradation": g.max_degradation,
                "margin_type": g.margin_type, "estimate": g.estimate, "bound": g.bound,
                "p_value": g.p_value,
            }),
        )?;
        if let Some(t) = telegram {
            let text = guardrail_alert(r, g, &t.view);
            webhooks::enqueue_telegram(conn, webhooks::Event::GuardrailFailed, &t.chat, &text)?;
        }
    }
    Ok(())
}

fn running(conn: &mut DbConnection) -> Result<Vec<experiments::Experiment>, DomainError> {
    experiments::list(
        conn,
        &ListFilter {
            status: Some(Status::Running),
            ..ListFilter::default()
        },
    )
}

/// Advances the stored per-unit values of every running experiment (see
/// [`advance_stored`]), so that on-request results only catch up on the last
/// few moments; returns the experiments whose advance failed, with the error.
pub fn advance_running(conn: &mut DbConnection) -> Result<Vec<(String, String)>, ResultsError> {
    Ok(running(conn)?
        .into_iter()
        .filter_map(|exp| {
            advance_stored(conn, &exp.key)
                .err()
                .map(|e| (exp.key, e.to_string()))
        })
        .collect())
}

/// Runs [`advance_running`] every `every`, forever (abort the task to stop).
pub async fn run_advancer(db: Db, every: std::time::Duration) {
    loop {
        match db.run(advance_running).await {
            Ok(failed) if !failed.is_empty() => {
                tracing::warn!(?failed, "advancing stored results failed");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "advancing stored results failed"),
        }
        tokio::time::sleep(every).await;
    }
}

/// Runs [`scheduled_pass`] now and then at every slot boundary of `interval`,
/// forever (abort the task to stop).
pub async fn run_scheduler(db: Db, interval: std::time::Duration, telegram: Option<TelegramChat>) {
    loop {
        let now = Utc::now().naive_utc();
        let chat = telegram.clone();
        let pass = db
            .run(move |conn| scheduled_pass(conn, now, interval, chat.as_ref()))
            .await;
        match pass {
            Ok(r) if !r.computed.is_empty() || !r.failed.is_empty() => {
                tracing::info!(computed = ?r.computed, failed = ?r.failed, "result snapshots");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "result snapshot pass failed"),
        }
        let next =
            slot_start(now, interval) + TimeDelta::from_std(interval).unwrap_or(TimeDelta::days(1));
        let wait = (next - Utc::now().naive_utc())
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(1));
        tokio::time::sleep(wait.max(std::time::Duration::from_secs(1))).await;
    }
}
