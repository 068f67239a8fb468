//! The outbox's delivery log, webhook and Telegram (admins only).

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Admin, Authorized};
use crate::http::query::DEFAULT_PAGE;
use crate::http::{ApiError, Query};
use crate::state::AppState;
use crate::webhooks::{Channel, Delivery, DeliveryStatus, list_deliveries};

/// Filters and paging for the delivery log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only deliveries of this channel.
    pub channel: Option<Channel>,
    /// Only deliveries in this state.
    pub status: Option<DeliveryStatus>,
    /// Page size, 1–500 (default 100).
    #[serde(default, deserialize_with = "crate::http::query::page_limit")]
    #[param(minimum = 1, maximum = 500, default = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "crate::http::query::page_cursor")]
    #[param(minimum = 1)]
    pub cursor: Option<i64>,
}

/// One notification and how its delivery went.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Delivery id (`X-Verdict-Delivery`).
    pub id: i64,
    /// How it is sent.
    pub channel: Channel,
    /// Event name, e.g. `decision.recorded` (`digest.daily` for the Telegram digest).
    pub event: String,
    /// The body sent (for Telegram, the `sendMessage` body; the token is in
    /// the URL only, never stored).
    #[schema(value_type = Object)]
    pub payload: Value,
    /// Delivery state.
    pub status: DeliveryStatus,
    /// Attempts so far.
    pub attempts: i32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: DateTime<Utc>,
    /// HTTP status of the last attempt.
    pub last_status: Option<i32>,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            channel: Channel::parse(&d.channel).unwrap_or(Channel::Webhook),
            event: d.event,
            payload: serde_json::from_str(&d.payload).unwrap_or(Value::Null),
            status: DeliveryStatus::parse(&d.status).unwrap_or(DeliveryStatus::Pending),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.and_utc(),
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: d.created_at.and_utc(),
            delivered_at: d.delivered_at.map(|t| t.and_utc()),
        }
    }
}

/// A page of the delivery log.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    /// Deliveries, newest first.
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<i64>,
}

/// Lists outbox deliveries (webhook and Telegram), newest first.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = ["admin"])),
    params(DeliveryQuery),
    responses((status = 200, description = "A page of deliveries", body = DeliveryPage))
)]
#[get("/api/v1/webhooks/deliveries")]
pub async fn list_webhook_deliveries(
    _auth: Authorized<Admin>,
    state: web::Data<AppState>,
    query: Query<DeliveryQuery>,
) -> Result<web::Json<DeliveryPage>, ApiError> {
    let q = query.into_inner();
    let limit = i64::from(q.limit.unwrap_or(DEFAULT_PAGE));
    let (channel, status, cursor) = (q.channel, q.status, q.cursor);
    let mut rows = state
        .db
        .run(move |conn| {
            list_deliveries(
                conn,
                channel,
                status.map(DeliveryStatus::as_str),
                cursor,
                limit + 1,
            )
        })
        .await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|d| d.id)
    } else {
        None
    };
    Ok(web::Json(DeliveryPage {
        deliveries: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}
