//! The metric catalogue over REST: analysts read, PMs write.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Analyst, Authorized, Pm};
use crate::http::{ApiError, Json};
use crate::metrics_catalog::{self as catalog, Direction, Metric, MetricDefinition};
use crate::state::AppState;

/// A metric definition as written by a PM.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "key": "auto_topup_conversion",
    "name": "Auto top-up payment",
    "description": "Paid with Stars with auto top-up on, within 7 days of exposure",
    "direction": "higher_is_better",
    "definition": {"type": "conversion", "event": "stars_payment_succeeded",
        "filters": [{"property": "auto_topup", "op": "eq", "value": true}], "window_hours": 168}
}))]
pub struct MetricIn {
    /// Slug; required on create, must match the path (or be omitted) on update.
    #[serde(default)]
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub key: Option<String>,
    /// Display name.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// What it measures.
    #[serde(default)]
    pub description: String,
    /// Which direction is an improvement.
    pub direction: Direction,
    /// How it is computed from events.
    pub definition: MetricDefinition,
    /// Compute it on this data source's events relation instead of Verdict's
    /// own events (an admin configures sources).
    #[serde(default)]
    #[schema(min_length = 1)]
    pub data_source: Option<String>,
}

/// A catalogue entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricOut {
    /// Slug.
    pub key: String,
    /// Display name.
    pub name: String,
    /// What it measures.
    pub description: String,
    /// Which direction is an improvement.
    pub direction: Direction,
    /// How it is computed from events.
    pub definition: MetricDefinition,
    /// The data source it is computed on (absent: Verdict's own events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Metric> for MetricOut {
    fn from(m: Metric) -> Self {
        Self {
            key: m.key,
            name: m.name,
            description: m.description,
            direction: m.direction,
            definition: m.definition,
            data_source: m.data_source,
            created_at: m.created_at.and_utc(),
            updated_at: m.updated_at.and_utc(),
        }
    }
}

impl MetricIn {
    fn into_metric(self, key: String) -> Metric {
        let now = Utc::now().naive_utc();
        Metric {
            key,
            name: self.name,
            description: self.description,
            direction: self.direction,
            definition: self.definition,
            data_source: self.data_source,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Lists the metric catalogue.
#[utoipa::path(
    tag = "metrics",
    security(("bearer" = ["analyst"])),
    responses((status = 200, description = "Every metric, by key", body = Vec<MetricOut>))
)]
#[get("/api/v1/metrics")]
pub async fn list_metrics(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<MetricOut>>, ApiError> {
    let metrics = state.db.run(catalog::list).await?;
    Ok(web::Json(
        metrics.into_iter().map(MetricOut::from).collect(),
    ))
}

/// Reads one metric definition.
#[utoipa::path(
    tag = "metrics",
    security(("bearer" = ["analyst"])),
    params(("key" = String, Path, description = "Metric key")),
    responses(
        (status = 200, description = "The metric", body = MetricOut),
        (status = 404, description = "No such metric", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/metrics/{key}")]
pub async fn get_metric(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<web::Json<MetricOut>, ApiError> {
    let key = key.into_inner();
    let metric = state.db.run(move |conn| catalog::get(conn, &key)).await?;
    Ok(web::Json(metric.into()))
}

/// Adds a metric to the catalogue.
#[utoipa::path(
    tag = "metrics",
    security(("bearer" = ["pm"])),
    request_body = MetricIn,
    responses(
        (status = 201, description = "Created", body = MetricOut),
        (status = 409, description = "The key is taken", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/metrics")]
pub async fn create_metric(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    body: Json<MetricIn>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let key = body
        .key
        .clone()
        .ok_or_else(|| ApiError::invalid("key", "a new metric needs a key"))?;
    let metric = body.into_metric(key);
    let actor = auth.caller.subject;
    let created = state
        .db
        .run(move |conn| catalog::create(conn, &actor, metric))
        .await?;
    Ok(HttpResponse::Created().json(MetricOut::from(created)))
}

/// Replaces a metric's definition (experiments using it are analysed with the new one).
#[utoipa::path(
    tag = "metrics",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = "Metric key")),
    request_body = MetricIn,
    responses(
        (status = 200, description = "Updated", body = MetricOut),
        (status = 404, description = "No such metric", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/metrics/{key}")]
pub async fn update_metric(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: Json<MetricIn>,
) -> Result<web::Json<MetricOut>, ApiError> {
    let key = key.into_inner();
    let body = body.0;
    if body.key.as_ref().is_some_and(|k| *k != key) {
        return Err(ApiError::invalid(
            "key",
            "the key cannot change; it must match the path or be omitted",
        ));
    }
    let metric = body.into_metric(key);
    let actor = auth.caller.subject;
    let updated = state
        .db
        .run(move |conn| catalog::update(conn, &actor, metric))
        .await?;
    Ok(web::Json(updated.into()))
}

/// Deletes a metric no non-archived experiment uses.
#[utoipa::path(
    tag = "metrics",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = "Metric key")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such metric", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "An experiment uses it", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/v1/metrics/{key}")]
pub async fn delete_metric(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner();
    let actor = auth.caller.subject;
    state
        .db
        .run(move |conn| catalog::delete(conn, &actor, &key))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
