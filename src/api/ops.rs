//! Operational endpoints: liveness, readiness, metrics, the OpenAPI document.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::{ApiError, HttpMetrics};
use crate::state::AppState;

/// Liveness or readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` when healthy.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process is up.
#[utoipa::path(tag = "operations", responses((status = 200, description = "The process is up", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// Readiness: the database answers.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "The database answers", body = Health),
        (status = 503, description = "Database unreachable", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Health>, ApiError> {
    use diesel::r2d2::R2D2Connection;
    state
        .db
        .run(|conn| conn.ping().map_err(crate::db::DbError::from))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "not ready");
            ApiError::Unavailable("not ready: the database is unreachable".into())
        })?;
    Ok(web::Json(Health { status: "ok" }))
}

/// Prometheus text exposition: request count and latency by route template and status.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String))
)]
#[get("/metrics")]
pub async fn metrics(metrics: web::Data<HttpMetrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(metrics.render())
}

/// The OpenAPI 3.1 document of this service.
#[utoipa::path(
    tag = "operations",
    responses((status = 200, description = "OpenAPI document", content_type = "application/json", body = Object))
)]
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    let doc = crate::openapi::document();
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.json.clone())
}
