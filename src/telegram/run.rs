//! The daily digest pass: claims the local day's slot (one replica wins it),
//! gathers the running experiments and queues the digest in the same
//! transaction, so that a claimed day always has its messages.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::message::{DigestEntry, LatestRecommendation, digest};
use super::{DigestSchedule, TelegramChat};
use crate::db::schema::digest_runs as dr;
use crate::db::{Db, DbConnection, write_transaction};
use crate::decisions::{decision_sla, timings};
use crate::experiments::{self, ListFilter, Status};
use crate::results::{ResultsError, latest};
use crate::webhooks::{Event, enqueue_telegram};

/// What a digest pass did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestPass {
    /// Today's digest time has not come yet.
    NotDue,
    /// This day's digest was already queued (by this or another replica).
    AlreadySent(NaiveDate),
    /// This pass queued the day's digest in `messages` messages.
    Sent {
        /// The local day.
        day: NaiveDate,
        /// Messages queued.
        messages: usize,
    },
}

/// The running experiments as the digest shows them at `now`: the decision
/// SLA's days left and the latest stored results' recommendation.
pub fn gather(
    conn: &mut DbConnection,
    now: NaiveDateTime,
) -> Result<Vec<DigestEntry>, ResultsError> {
    let running = experiments::list(
        conn,
        &ListFilter {
            status: Some(Status::Running),
            ..ListFilter::default()
        },
    )?;
    let sla = decision_sla(&timings(conn)?, now);
    let mut entries = Vec::with_capacity(sla.len());
    for standing in sla {
        let Some(exp) = running.iter().find(|e| e.key == standing.key) else {
            continue;
        };
        let latest = latest(conn, &exp.key, exp.current_phase)?.map(|r| LatestRecommendation {
            as_of: r.as_of,
            recommendation: r.recommendation,
        });
        entries.push(DigestEntry {
            key: standing.key,
            name: exp.definition.name.clone(),
            owner: exp.definition.owner.clone(),
            target_decision_at: standing.target_decision_at,
            days_left: standing.days_left,
            sla: standing.status,
            latest,
        });
    }
    Ok(entries)
}

/// Inserts `day`'s slot unless it exists; whether this call inserted it. (The
/// variant match: `ON CONFLICT DO NOTHING` is not portable through
/// MultiConnection, and a failed insert would abort a PostgreSQL transaction.)
fn claim(conn: &mut DbConnection, day: NaiveDate, now: NaiveDateTime) -> QueryResult<bool> {
    let row = (dr::day.eq(day), dr::created_at.eq(now));
    let inserted = match conn {
        DbConnection::Postgresql(pg) => diesel::insert_into(dr::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_or_ignore_into(dr::table)
            .values(row)
            .execute(sqlite)?,
    };
    Ok(inserted == 1)
}

/// Once today's digest time has come, claims today's slot and queues the
/// digest for `chat`; a day already claimed is left alone.
pub fn digest_pass(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    schedule: &DigestSchedule,
    chat: &TelegramChat,
) -> Result<DigestPass, ResultsError> {
    let Some(day) = schedule.due_day(now) else {
        return Ok(DigestPass::NotDue);
    };
    write_transaction(conn, |conn| {
        if !claim(conn, day, now.naive_utc())? {
            return Ok(DigestPass::AlreadySent(day));
        }
        let entries = gather(conn, now.naive_utc())?;
        let messages = digest(day, &entries, &chat.view);
        for text in &messages {
            enqueue_telegram(conn, Event::DailyDigest, &chat.chat, text)?;
        }
        Ok(DigestPass::Sent {
            day,
            messages: messages.len(),
        })
    })
}

/// Runs [`digest_pass`] now and at every digest time, forever (abort the
/// task to stop). It wakes at least hourly, so a changed clock or a suspended
/// host delays a digest by an hour at most; a failed pass is retried after a
/// minute.
pub async fn run_digest(db: Db, schedule: DigestSchedule, chat: TelegramChat) {
    loop {
        let now = Utc::now();
        let pass = {
            let chat = chat.clone();
            db.run(move |conn| digest_pass(conn, now, &schedule, &chat))
                .await
        };
        let wait = match pass {
            Ok(done) => {
                if let DigestPass::Sent { day, messages } = done {
                    tracing::info!(%day, messages, "Telegram digest queued");
                }
                (schedule.next_after(now) - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::from_secs(1))
            }
            Err(e) => {
                tracing::warn!(error = %e, "Telegram digest pass failed; retrying");
                Duration::from_secs(60)
            }
        };
        tokio::time::sleep(wait.clamp(Duration::from_secs(1), Duration::from_secs(3600))).await;
    }
}
