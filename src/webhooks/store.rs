//! The outbox table: enqueueing, claiming, recording outcomes, the delivery log.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::webhook_deliveries as wd;
use crate::db::{DbConnection, DbError};

/// What a notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A decision was appended to the decision log.
    DecisionRecorded,
    /// An experiment's exposures mismatch its planned weights.
    SrmDetected,
    /// A guardrail metric degraded beyond its tolerance.
    GuardrailFailed,
    /// A running experiment reached its target decision date undecided.
    DecisionDeadlineReached,
    /// The daily digest (Telegram only).
    DailyDigest,
}

impl Event {
    /// The event name sent in `X-Verdict-Event` and the body.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::DecisionRecorded => "decision.recorded",
            Event::SrmDetected => "srm.detected",
            Event::GuardrailFailed => "guardrail.failed",
            Event::DecisionDeadlineReached => "decision.deadline_reached",
            Event::DailyDigest => "digest.daily",
        }
    }
}

/// How a delivery goes out; each dispatcher claims only its own channel's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A signed JSON POST to the webhook URL.
    Webhook,
    /// A Telegram `sendMessage`.
    Telegram,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Telegram => "telegram",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Webhook, Self::Telegram]
            .into_iter()
            .find(|c| c.as_str() == raw)
    }
}

/// Where a notification's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet; retried with backoff.
    Pending,
    /// Delivered (a 2xx answer).
    Delivered,
    /// Given up on after the last attempt.
    Failed,
}

impl DeliveryStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// One notification and its delivery state.
#[derive(Debug, Clone, PartialEq, Queryable, Serialize)]
pub struct Delivery {
    /// Delivery id (also sent as `X-Verdict-Delivery`).
    pub id: i64,
    /// Event name.
    pub event: String,
    /// The JSON body sent.
    pub payload: String,
    /// `pending`, `delivered` or `failed` (gave up).
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// When the next attempt is due.
    pub next_attempt_at: NaiveDateTime,
    /// Lease of the replica currently sending it.
    pub claimed_until: Option<NaiveDateTime>,
    /// HTTP status of the last attempt.
    pub last_status: Option<i32>,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: NaiveDateTime,
    /// When it was delivered.
    pub delivered_at: Option<NaiveDateTime>,
    /// `webhook` or `telegram`.
    pub channel: String,
}

/// Writes a webhook notification to the outbox; call inside the transaction of the
/// change it reports so that neither exists without the other.
pub fn enqueue(
    conn: &mut DbConnection,
    event: Event,
    data: &serde_json::Value,
) -> Result<(), DbError> {
    let now = Utc::now();
    let payload = serde_json::json!({
        "event": event.as_str(),
        "occurred_at": now.to_rfc3339(),
        "data": data,
    });
    insert(conn, Channel::Webhook, event, &payload)
}

/// Writes a Telegram message (HTML `text` to `chat`) to the outbox; like
/// [`enqueue`], inside the transaction of what it reports.
pub fn enqueue_telegram(
    conn: &mut DbConnection,
    event: Event,
    chat: &str,
    text: &str,
) -> Result<(), DbError> {
    insert(
        conn,
        Channel::Telegram,
        event,
        &super::telegram::send_message_body(chat, text),
    )
}

fn insert(
    conn: &mut DbConnection,
    channel: Channel,
    event: Event,
    payload: &serde_json::Value,
) -> Result<(), DbError> {
    let now = Utc::now().naive_utc();
    diesel::insert_into(wd::table)
        .values((
            wd::channel.eq(channel.as_str()),
            wd::event.eq(event.as_str()),
            wd::payload.eq(payload.to_string()),
            wd::status.eq(DeliveryStatus::Pending.as_str()),
            wd::attempts.eq(0),
            wd::next_attempt_at.eq(now),
            wd::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Claims up to `limit` due deliveries of `channel` for `lease`, so that other
/// replicas skip them meanwhile. A row is claimed only if nobody holds a live
/// lease on it.
pub fn claim_due(
    conn: &mut DbConnection,
    channel: Channel,
    limit: i64,
    lease: chrono::Duration,
) -> Result<Vec<Delivery>, DbError> {
    let now = Utc::now().naive_utc();
    let free = wd::claimed_until.is_null().or(wd::claimed_until.lt(now));
    let candidates: Vec<i64> = wd::table
        .filter(wd::channel.eq(channel.as_str()))
        .filter(wd::status.eq(DeliveryStatus::Pending.as_str()))
        .filter(wd::next_attempt_at.le(now))
        .filter(free)
        .order(wd::id.asc())
        .limit(limit)
        .select(wd::id)
        .load(conn)?;
    let mut claimed = Vec::new();
    for id in candidates {
        let won = diesel::update(
            wd::table
                .find(id)
                .filter(wd::claimed_until.is_null().or(wd::claimed_until.lt(now))),
        )
        .set(wd::claimed_until.eq(now + lease))
        .execute(conn)?;
        if won == 1 {
            claimed.push(wd::table.find(id).first(conn)?);
        }
    }
    Ok(claimed)
}

/// Records an attempt's outcome: delivered, retry at `retry_at`, or give up.
pub fn record_attempt(
    conn: &mut DbConnection,
    id: i64,
    http_status: Option<u16>,
    error: Option<String>,
    retry_at: Option<NaiveDateTime>,
) -> Result<(), DbError> {
    let now = Utc::now().naive_utc();
    let delivered = error.is_none();
    let status = match (delivered, retry_at) {
        (true, _) => DeliveryStatus::Delivered.as_str(),
        (false, Some(_)) => DeliveryStatus::Pending.as_str(),
        (false, None) => DeliveryStatus::Failed.as_str(),
    };
    diesel::update(wd::table.find(id))
        .set((
            wd::status.eq(status),
            wd::attempts.eq(wd::attempts + 1),
            wd::next_attempt_at.eq(retry_at.unwrap_or(now)),
            wd::claimed_until.eq(None::<NaiveDateTime>),
            wd::last_status.eq(http_status.map(i32::from)),
            wd::last_error.eq(error),
            wd::delivered_at.eq(delivered.then_some(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The delivery log, newest first.
pub fn list(
    conn: &mut DbConnection,
    channel: Option<Channel>,
    status: Option<&str>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>, DbError> {
    let mut query = wd::table.into_boxed();
    if let Some(channel) = channel {
        query = query.filter(wd::channel.eq(channel.as_str()));
    }
    if let Some(status) = status {
        query = query.filter(wd::status.eq(status.to_owned()));
    }
    if let Some(id) = before_id {
        query = query.filter(wd::id.lt(id));
    }
    Ok(query.order(wd::id.desc()).limit(limit).load(conn)?)
}
