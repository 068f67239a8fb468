//! `POST /api/v1/events`: batched, idempotent event ingestion with per-event errors.

use actix_web::{post, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::auth::{Authorized, Sdk};
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
#[utoipa::path(
    tag = "events",
    security(("bearer" = ["sdk"])),
    request_body = EventBatch,
    responses((status = 200, description = "What was accepted, ignored and rejected", body = IngestResult))
)]
#[post("/api/v1/events")]
pub async fn ingest(
    _auth: Authorized<Sdk>,
    state: web::Data<AppState>,
    body: Json<EventBatch>,
) -> Result<web::Json<IngestResult>, ApiError> {
    let limits = state.settings.ingest;
    let raw = body.0.events;
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
