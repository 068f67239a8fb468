//! Mutual-exclusion layers: disjoint bucket ranges per member flag, plus an optional holdout.

use actix_web::{HttpResponse, delete, get, post, put, web};
use serde::Serialize;
use utoipa::ToSchema;
use verdict_core::Layer;

use super::meta::Meta;
use super::stored;
use crate::app::AppState;
use crate::auth::{Analyst, Authorized, Pm};
use crate::definitions::{Stored, Write};
use crate::flags::save_layer;
use crate::http::{ApiError, Json};

/// A stored layer.
#[derive(Debug, Serialize, ToSchema)]
pub struct LayerResponse {
    /// The layer.
    #[serde(flatten)]
    pub layer: Layer,
    /// Version and history.
    #[serde(flatten)]
    pub meta: Meta,
}

impl From<Stored<Layer>> for LayerResponse {
    fn from(stored: Stored<Layer>) -> Self {
        let (layer, meta) = Meta::split(stored);
        Self { layer, meta }
    }
}

/// Creates a layer.
#[utoipa::path(
    tag = "layers",
    security(("bearer" = ["pm"])),
    request_body(content = Layer, example = json!({"key": "monetization", "holdout": {"start": 0, "end": 1000}, "members": [{"flag": "vip_paywall_copy", "range": {"start": 1000, "end": 5500}}, {"flag": "cta_copy", "range": {"start": 5500, "end": 10000}}]})),
    responses(
        (status = 201, description = "Created", body = LayerResponse),
        (status = 409, description = "Key exists", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/layers")]
pub async fn create_layer(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    body: Json<Layer>,
) -> Result<HttpResponse, ApiError> {
    let key = body.0.key.clone();
    let stored = stored::save(
        &state,
        auth.caller.subject,
        key,
        Write::Create(body.0),
        save_layer,
    )
    .await?
    .ok_or_else(|| ApiError::internal("create returned nothing"))?;
    Ok(HttpResponse::Created().json(LayerResponse::from(stored)))
}

/// Lists every layer.
#[utoipa::path(
    tag = "layers",
    security(("bearer" = ["analyst"])),
    responses((status = 200, description = "All layers, by key", body = Vec<LayerResponse>))
)]
#[get("/api/v1/layers")]
pub async fn list_layers(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<LayerResponse>>, ApiError> {
    let all = stored::list::<Layer>(&state).await?;
    Ok(web::Json(all.into_iter().map(Into::into).collect()))
}

/// Reads one layer.
#[utoipa::path(
    tag = "layers",
    security(("bearer" = ["analyst"])),
    params(("key" = String, Path, description = "Layer key")),
    responses(
        (status = 200, description = "The layer", body = LayerResponse),
        (status = 404, description = "No such layer", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/layers/{key}")]
pub async fn get_layer(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<web::Json<LayerResponse>, ApiError> {
    Ok(web::Json(
        stored::get::<Layer>(&state, key.into_inner()).await?.into(),
    ))
}

/// Replaces a layer (the key in the body must match the path).
#[utoipa::path(
    tag = "layers",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = "Layer key")),
    request_body = Layer,
    responses(
        (status = 200, description = "Replaced", body = LayerResponse),
        (status = 404, description = "No such layer", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/layers/{key}")]
pub async fn replace_layer(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: Json<Layer>,
) -> Result<web::Json<LayerResponse>, ApiError> {
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
    let stored = stored::save(&state, auth.caller.subject, key, change, save_layer)
        .await?
        .ok_or_else(|| ApiError::internal("update returned nothing"))?;
    Ok(web::Json(stored.into()))
}

/// Deletes a layer (its flags return to normal targeting).
#[utoipa::path(
    tag = "layers",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = "Layer key")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such layer", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/v1/layers/{key}")]
pub async fn delete_layer(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    stored::save::<Layer>(
        &state,
        auth.caller.subject,
        key.into_inner(),
        Write::Delete,
        save_layer,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
