//! The audit log of configuration changes (admins only).

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::audit::{self, Entry, Filter};
use crate::auth::{Admin, Authorized};
use crate::http::query::DEFAULT_PAGE;
use crate::http::{ApiError, Moment, Query};
use crate::state::AppState;

/// Filters and paging for the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this kind of entity (`flag`, `segment`, `layer`, `experiment`, …).
    pub entity_type: Option<String>,
    /// Only this entity key.
    pub entity_key: Option<String>,
    /// Only changes by this actor (token subject).
    pub actor: Option<String>,
    /// Only changes at or after this time (a date or an RFC 3339 timestamp).
    pub from: Option<Moment>,
    /// Only changes before this time (a date or an RFC 3339 timestamp).
    pub to: Option<Moment>,
    /// Page size, 1–500 (default 100).
    #[serde(default, deserialize_with = "crate::http::query::page_limit")]
    #[param(minimum = 1, maximum = 500, default = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    #[serde(default, deserialize_with = "crate::http::query::page_cursor")]
    #[param(minimum = 1)]
    pub cursor: Option<i64>,
}

/// One change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Position in the log.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (token subject).
    #[schema(example = "alice")]
    pub actor: String,
    /// Kind of entity.
    #[schema(example = "flag")]
    pub entity_type: String,
    /// Entity key.
    #[schema(example = "cta_copy")]
    pub entity_key: String,
    /// What happened.
    #[schema(example = "update")]
    pub action: String,
    /// The entity before the change.
    #[schema(value_type = Option<Object>)]
    pub before: Option<Value>,
    /// The entity after the change.
    #[schema(value_type = Option<Object>)]
    pub after: Option<Value>,
}

impl From<Entry> for AuditEntry {
    fn from(e: Entry) -> Self {
        let parse = |json: Option<String>| json.and_then(|j| serde_json::from_str(&j).ok());
        Self {
            id: e.id,
            at: e.at.and_utc(),
            actor: e.actor,
            entity_type: e.entity_type,
            entity_key: e.entity_key,
            action: e.action,
            before: parse(e.before_json),
            after: parse(e.after_json),
        }
    }
}

/// A page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// The entries.
    pub entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<i64>,
}

/// Reads the audit log of configuration changes, newest first.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = ["admin"])),
    params(AuditQuery),
    responses((status = 200, description = "A page of entries", body = AuditPage))
)]
#[get("/api/v1/audit")]
pub async fn list_audit(
    _auth: Authorized<Admin>,
    state: web::Data<AppState>,
    query: Query<AuditQuery>,
) -> Result<web::Json<AuditPage>, ApiError> {
    let q = query.into_inner();
    let limit = i64::from(q.limit.unwrap_or(DEFAULT_PAGE));
    let filter = Filter {
        entity_type: q.entity_type,
        entity_key: q.entity_key,
        actor: q.actor,
        from: q.from.map(|t| t.0.naive_utc()),
        to: q.to.map(|t| t.0.naive_utc()),
        before_id: q.cursor,
        limit: limit + 1,
    };
    let mut entries = state.db.run(move |conn| audit::read(conn, &filter)).await?;
    let next_cursor = if entries.len() as i64 > limit {
        entries.truncate(limit as usize);
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(web::Json(AuditPage {
        entries: entries.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}
