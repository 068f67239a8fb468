//! Reusable audience segments (e.g. `vip_users`: `tier in [vip]`).

use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::Serialize;
use utoipa::ToSchema;
use verdict_core::Segment;

use super::meta::Meta;
use super::stored;
use crate::app::AppState;
use crate::auth::{Analyst, Authorized, Pm};
use crate::definitions::{Stored, Write};
use crate::flags::save_segment;
use crate::http::{ApiError, Json};

/// A stored segment.
#[derive(Debug, Serialize, ToSchema)]
pub struct SegmentResponse {
    /// The segment.
    #[serde(flatten)]
    pub segment: Segment,
    /// Version and history.
    #[serde(flatten)]
    pub meta: Meta,
}

impl From<Stored<Segment>> for SegmentResponse {
    fn from(stored: Stored<Segment>) -> Self {
        let (segment, meta) = Meta::split(stored);
        Self { segment, meta }
    }
}

/// Creates a segment.
#[utoipa::path(
    tag = "segments",
    security(("bearer" = ["pm"])),
    request_body(content = Segment, example = json!({"key": "vip_users", "conditions": [{"attribute": "tier", "op": "in", "value": ["vip"]}]})),
    responses(
        (status = 201, description = "Created", body = SegmentResponse),
        (status = 409, description = "Key exists", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/segments")]
pub async fn create_segment(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    body: Json<Segment>,
) -> Result<HttpResponse, ApiError> {
    let key = body.0.key.clone();
    let stored = stored::save(
        &state,
        auth.caller.subject,
        key,
        Write::Create(body.0),
        save_segment,
    )
    .await?
    .ok_or_else(|| ApiError::internal("create returned nothing"))?;
    Ok(HttpResponse::Created().json(SegmentResponse::from(stored)))
}

/// Lists every segment.
#[utoipa::path(
    tag = "segments",
    security(("bearer" = ["analyst"])),
    responses((status = 200, description = "All segments, by key", body = Vec<SegmentResponse>))
)]
#[get("/api/v1/segments")]
pub async fn list_segments(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<SegmentResponse>>, ApiError> {
    let all = stored::list::<Segment>(&state).await?;
    Ok(web::Json(all.into_iter().map(Into::into).collect()))
}

/// Reads one segment.
#[utoipa::path(
    tag = "segments",
    security(("bearer" = ["analyst"])),
    params(("key" = String, Path, description = "Segment key")),
    responses(
        (status = 200, description = "The segment", body = SegmentResponse),
        (status = 404, description = "No such segment", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/segments/{key}")]
pub async fn get_segment(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<web::Json<SegmentResponse>, ApiError> {
    Ok(web::Json(
        stored::get::<Segment>(&state, key.into_inner())
            .await?
            .into(),
    ))
}

/// Replaces a segment (the key in the body must match the path).
#[utoipa::path(
    tag = "segments",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = "Segment key")),
    request_body = Segment,
    responses(
        (status = 200, description = "Replaced", body = SegmentResponse),
        (status = 404, description = "No such segment", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/segments/{key}")]
pub async fn replace_segment(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: Json<Segment>,
) -> Result<web::Json<SegmentResponse>, ApiError> {
    let key = key.into_inner();
    if body.0.key != key {
        return Err(ApiError::invalid(
            "key",
            format!("must equal the path key `{key}`"),
        ));
    }
    let change = Write::Update {
        definition: body.0,
        expected_version: None,
    };
    let stored = stored::save(&state, auth.caller.subject, key, change, save_segment)
        .await?
        .ok_or_else(|| ApiError::internal("update returned nothing"))?;
    Ok(web::Json(stored.into()))
}

/// Deletes a segment (refused while a flag rule uses it).
#[utoipa::path(
    tag = "segments",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = "Segment key")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such segment", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still used by a flag", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/v1/segments/{key}")]
pub async fn delete_segment(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    stored::save::<Segment>(
        &state,
        auth.caller.subject,
        key.into_inner(),
        Write::Delete,
        save_segment,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
