//! `POST /api/v1/events`: batched, idempotent event ingestion with per-event errors.

use std::time::Instant;

use actix_web::{post, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use verdict_core::FieldError;

use crate::auth::{Client, MiniApps};
use crate::db::DbError;
use crate::events::{NewEvent, RawEvent, dedupe, insert_batch};
use crate::http::{ApiError, Json};
use crate::state::AppState;

/// A batch of events. Each element is checked on its own: a bad event is listed
/// in `rejected` while the others are stored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBatch {
    /// The events (at most the configured batch size, 1000 by default).
    #[schema(value_type = Vec<EventIn>)]
    pub events: Vec<Value>,
}

/// One event as sent by an application.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    /// Idempotency key (≤ 128 characters): an id already stored is ignored.
    #[schema(example = "7f9c2ba4-e88f-4b7e-9c1b-2a3d4e5f6a7b")]
    #[schema(min_length = 1, max_length = 128, pattern = "\\S")]
    pub event_id: String,
    /// The unit (user) the event belongs to.
    #[schema(example = "42")]
    #[schema(min_length = 1, max_length = 256, pattern = "\\S")]
    pub unit_id: String,
    /// Event name, `[A-Za-z0-9_.:-]`.
    #[schema(example = "cta_click")]
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
    pub name: String,
    /// When it happened (RFC 3339). Too far in the future or too old is rejected.
    #[schema(example = "2026-11-21T12:00:00Z")]
    #[schema(format = DateTime)]
    pub timestamp: String,
    /// Optional numeric value (e.g. revenue in Stars, a survey score).
    #[serde(default)]
    pub value: Option<f64>,
    /// Optional properties (a JSON object).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub properties: Option<Map<String, Value>>,
}

/// One refused event.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedEvent {
    /// Position in the batch.
    pub index: usize,
    /// Its `event_id`, when readable.
    pub event_id: Option<String>,
    /// The offending field.
    #[schema(example = "timestamp")]
    pub field: String,
    /// What is wrong.
    #[schema(example = "timestamp is more than 1h in the future")]
    pub message: String,
}

/// What happened to a batch.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestResult {
    /// Events stored by this request.
    pub accepted: usize,
    /// Valid events ignored because their `event_id` was already stored (or repeated in the batch).
    pub duplicates: usize,
    /// Invalid events, none of which were stored.
    pub rejected: Vec<RejectedEvent>,
}

/// Reads one element of the batch into a [`RawEvent`] (moving, not copying, its
/// strings), naming the offending field.
fn read_event(value: Value) -> Result<RawEvent, (String, String)> {
    let event: EventIn = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = if path == "." {
            // Missing and unknown fields are reported at the object: take the name from the message.
            message.split('`').nth(1).unwrap_or("event").to_owned()
        } else {
            path
        };
        (field, message)
    })?;
    Ok(RawEvent {
        event_id: event.event_id,
        unit_id: event.unit_id,
        name: event.name,
        timestamp: event.timestamp,
        value: event.value,
        properties: event.properties,
    })
}

/// Ingests a batch of events.
///
/// Each event is validated on its own; invalid events are listed in `rejected`
/// and the valid ones are stored. Events whose `event_id` is already stored are
/// counted in `duplicates` and not stored again, so a retried batch never double
/// counts. Accepted events are committed before the response is sent. A batch
/// larger than the configured limit (`VERDICT_MAX_EVENTS_PER_BATCH`, default 1000)
/// is refused whole with 422 (field `events`).
///
/// A Mini App (`tma`) sends events of its verified Telegram user only: each
/// event's `unit_id` is that user's id whatever the page sent (it may be
/// left out). Its batch is all or nothing: an event name off the
/// environment's allow-list (`VERDICT_TMA_EVENTS`) or any invalid event
/// refuses the whole batch with 422, and more events than the user's rate
/// (`VERDICT_TMA_EVENTS_PER_MINUTE`) with 429 and `Retry-After`; nothing of a
/// refused batch is stored.
#[utoipa::path(
    tag = "events",
    security(("bearer" = ["sdk"]), ("tma" = [])),
    request_body = EventBatch,
    responses(
        (status = 200, description = "What was accepted, ignored and rejected", body = IngestResult),
        (status = 429, description = "A Mini App user sent more events than the rate allows",
            body = crate::http::Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the batch would fit"))),
    )
)]
#[post("/api/v1/events")]
pub async fn ingest(
    client: Client,
    state: web::Data<AppState>,
    body: Json<EventBatch>,
) -> Result<web::Json<IngestResult>, ApiError> {
    let limits = state.settings.ingest;
    let mut raw = body.0.events;
    if raw.len() > limits.max_batch {
        return Err(ApiError::invalid(
            "events",
            format!(
                "batch has {} events; at most {} are accepted per request",
                raw.len(),
                limits.max_batch
            ),
        ));
    }
    let mini_app = match (&client.telegram, state.settings.mini_apps.as_ref()) {
        (Some(user), Some(apps)) => {
            let allowed = apps
                .environment(&client.environment)
                .map(|env| env.events.as_slice())
                .unwrap_or_default();
            vouch_events(&mut raw, &user.id, allowed)?;
            Some((apps, user))
        }
        _ => None,
    };
    let now = Utc::now();
    let mut valid: Vec<NewEvent> = Vec::with_capacity(raw.len());
    let mut rejected = Vec::new();
    for (index, value) in raw.into_iter().enumerate() {
        let event_id = value
            .get("event_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match read_event(value).and_then(|event| event.validate(now, &limits)) {
            Ok(event) => valid.push(event),
            Err((field, message)) => rejected.push(RejectedEvent {
                index,
                event_id,
                field,
                message,
            }),
        }
    }
    if let Some((apps, user)) = mini_app {
        if !rejected.is_empty() {
            return Err(ApiError::Validation(
                rejected
                    .into_iter()
                    .map(|r| FieldError::new(format!("events[{}].{}", r.index, r.field), r.message))
                    .collect(),
            ));
        }
        admit(
            apps,
            &format!("{}:{}", client.environment, user.id),
            valid.len(),
        )?;
    }
    let repeated = dedupe(&mut valid);
    let candidates = valid.len();
    let accepted = state
        .db
        .run(move |conn| insert_batch(conn, &valid).map_err(DbError::from))
        .await?;
    Ok(web::Json(IngestResult {
        accepted,
        duplicates: repeated + (candidates - accepted),
        rejected,
    }))
}

/// Takes `n` events from the Mini App user's rate allowance.
fn admit(apps: &MiniApps, user: &str, n: usize) -> Result<(), ApiError> {
    let per_minute = apps.events.allowance();
    apps.events
        .take(user, n, Instant::now())
        .map_err(|wait| match wait {
            Some(wait) => {
                let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                ApiError::TooManyRequests {
                    message: format!(
                        "a Mini App user may send {per_minute} events per minute; retry in {secs}s"
                    ),
                    retry_after_secs: secs,
                }
            }
            None => ApiError::invalid(
                "events",
                format!(
                    "batch has {n} events; a Mini App user may send at most {per_minute} per minute"
                ),
            ),
        })
}

/// Sets every event's `unit_id` to the verified user's id, after checking
/// every name is on the allow-list (else the whole batch is refused).
fn vouch_events(events: &mut [Value], user_id: &str, allowed: &[String]) -> Result<(), ApiError> {
    let mut refused = Vec::new();
    for (index, event) in events.iter_mut().enumerate() {
        let Value::Object(event) = event else {
            continue;
        };
        if let Some(Value::String(name)) = event.get("name")
            && !allowed.iter().any(|a| a == name)
        {
            refused.push(FieldError::new(
                format!("events[{index}].name"),
                format!(
                    "a Mini App may not send `{name}`; allowed here: {}",
                    if allowed.is_empty() {
                        "none".to_owned()
                    } else {
                        allowed.join(", ")
                    }
                ),
            ));
        }
        event.insert("unit_id".into(), Value::String(user_id.to_owned()));
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(refused))
    }
}
