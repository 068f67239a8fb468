//! Flag management: create, read, replace, delete, and per-environment targeting.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use verdict_core::{DEFAULT_BUCKET_BY, Rule, Serve, ValueType, Variant};

use super::meta::Meta;
use super::stored;
use crate::auth::{Analyst, Authorized, Pm};
use crate::definitions::{self, Stored, Write};
use crate::flags::{
    ENVIRONMENTS, EnvironmentConfig, FlagDefinition, save_flag, set_flag_environment,
};
use crate::http::{ApiError, Json};
use crate::state::AppState;

fn default_bucket_by() -> String {
    DEFAULT_BUCKET_BY.to_owned()
}

/// A flag definition as sent by a PM.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "key": "cta_copy",
    "description": "Main-menu call-to-action text",
    "value_type": "string",
    "variants": [
        {"key": "control", "value": "Try Pro free"},
        {"key": "urgency", "value": "Pro trial ends today"}
    ],
    "default_variant": "control",
    "bucket_by": "user_id",
    "environments": {
        "production": {
            "enabled": true,
            "rules": [{"id": "vips", "segments": ["vip_users"], "serve": {"variant": "control"}}],
            "fallthrough": {"split": {"rollout": 100.0, "weights": [
                {"variant": "control", "weight": 50.0}, {"variant": "urgency", "weight": 50.0}]}}
        }
    }
}))]
pub struct FlagRequest {
    /// Slug key (`[a-z0-9_-]`, starts with a letter or digit).
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub key: String,
    /// What the flag is for.
    #[serde(default)]
    pub description: String,
    /// Type of every variant's value.
    pub value_type: ValueType,
    /// Named values.
    #[schema(min_items = 1)]
    pub variants: Vec<Variant>,
    /// Served when disabled, outside a rollout, or on error.
    #[schema(min_length = 1)]
    pub default_variant: String,
    /// Context attribute units are bucketed by.
    #[serde(default = "default_bucket_by")]
    #[schema(min_length = 1)]
    pub bucket_by: String,
    /// Hash salt (default: the key). Changing it reshuffles assignment.
    #[serde(default)]
    pub salt: String,
    /// Targeting per environment. On create, omitted means every environment,
    /// disabled, serving the default variant; on replace, omitted keeps the
    /// current environments.
    #[serde(default)]
    pub environments: Option<BTreeMap<String, EnvironmentConfig>>,
    /// On replace: the version the change is based on (409 if it moved on).
    #[serde(default)]
    pub expected_version: Option<i64>,
}

impl FlagRequest {
    fn into_definition(self, current: Option<&FlagDefinition>) -> (FlagDefinition, Option<i64>) {
        let environments = match (self.environments, current) {
            (Some(envs), _) => envs,
            (None, Some(current)) => current.environments.clone(),
            (None, None) => ENVIRONMENTS
                .iter()
                .map(|env| {
                    (
                        (*env).to_owned(),
                        FlagDefinition::initial_environment(&self.default_variant),
                    )
                })
                .collect(),
        };
        let definition = FlagDefinition {
            key: self.key,
            description: self.description,
            value_type: self.value_type,
            variants: self.variants,
            default_variant: self.default_variant,
            bucket_by: self.bucket_by,
            salt: self.salt,
            environments,
        };
        (definition, self.expected_version)
    }
}

/// A stored flag.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlagResponse {
    /// Slug key.
    pub key: String,
    /// What the flag is for.
    pub description: String,
    /// Type of every variant's value.
    pub value_type: ValueType,
    /// Named values.
    pub variants: Vec<Variant>,
    /// Served when disabled, outside a rollout, or on error.
    pub default_variant: String,
    /// Context attribute units are bucketed by.
    pub bucket_by: String,
    /// Hash salt (empty: the key).
    pub salt: String,
    /// Targeting per environment.
    pub environments: BTreeMap<String, EnvironmentConfig>,
    /// Version and history.
    #[serde(flatten)]
    pub meta: Meta,
}

impl From<Stored<FlagDefinition>> for FlagResponse {
    fn from(stored: Stored<FlagDefinition>) -> Self {
        let (f, meta) = Meta::split(stored);
        Self {
            key: f.key,
            description: f.description,
            value_type: f.value_type,
            variants: f.variants,
            default_variant: f.default_variant,
            bucket_by: f.bucket_by,
            salt: f.salt,
            environments: f.environments,
            meta,
        }
    }
}

/// A partial change of a flag in one environment (e.g. the kill switch).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": false}))]
pub struct EnvironmentPatch {
    /// Kill switch.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// New targeting rules.
    #[serde(default)]
    pub rules: Option<Vec<Rule>>,
    /// New fallthrough.
    #[serde(default)]
    pub fallthrough: Option<Serve>,
}

/// Creates a flag.
#[utoipa::path(
    tag = "flags",
    security(("bearer" = ["pm"])),
    request_body = FlagRequest,
    responses(
        (status = 201, description = "Created", body = FlagResponse),
        (status = 409, description = "Key exists", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/flags")]
pub async fn create_flag(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    body: Json<FlagRequest>,
) -> Result<HttpResponse, ApiError> {
    let (definition, _) = body.0.into_definition(None);
    let key = definition.key.clone();
    let stored = stored::save(
        &state,
        auth.caller.subject,
        key,
        Write::Create(definition),
        save_flag,
    )
    .await?
    .ok_or_else(|| ApiError::internal("create returned nothing"))?;
    Ok(HttpResponse::Created().json(FlagResponse::from(stored)))
}

/// Lists every flag.
#[utoipa::path(
    tag = "flags",
    security(("bearer" = ["analyst"])),
    responses((status = 200, description = "All flags, by key", body = Vec<FlagResponse>))
)]
#[get("/api/v1/flags")]
pub async fn list_flags(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<FlagResponse>>, ApiError> {
    let flags = stored::list::<FlagDefinition>(&state).await?;
    Ok(web::Json(flags.into_iter().map(Into::into).collect()))
}

/// Reads one flag.
#[utoipa::path(
    tag = "flags",
    security(("bearer" = ["analyst"])),
    params(("key" = String, Path, description = "Flag key")),
    responses(
        (status = 200, description = "The flag", body = FlagResponse),
        (status = 404, description = "No such flag", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/flags/{key}")]
pub async fn get_flag(
    _auth: Authorized<Analyst>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<web::Json<FlagResponse>, ApiError> {
    let flag = stored::get::<FlagDefinition>(&state, key.into_inner()).await?;
    Ok(web::Json(flag.into()))
}

/// Replaces a flag's definition (the key in the body must match the path).
#[utoipa::path(
    tag = "flags",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = "Flag key")),
    request_body = FlagRequest,
    responses(
        (status = 200, description = "Replaced", body = FlagResponse),
        (status = 404, description = "No such flag", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Version moved on", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/flags/{key}")]
pub async fn replace_flag(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: Json<FlagRequest>,
) -> Result<web::Json<FlagResponse>, ApiError> {
    let key = key.into_inner();
    if body.0.key != key {
        return Err(ApiError::invalid(
            "key",
            format!("must equal the path key `{key}`"),
        ));
    }
    let actor = auth.caller.subject;
    let request = body.0;
    let stored = state
        .db
        .run(move |conn| {
            let current = definitions::get::<FlagDefinition>(conn, &key)?;
            let (definition, expected_version) =
                request.into_definition(current.as_ref().map(|c| &c.definition));
            save_flag(
                conn,
                &actor,
                &key,
                Write::Update {
                    definition,
                    expected_version,
                },
            )
        })
        .await?
        .ok_or_else(|| ApiError::internal("update returned nothing"))?;
    state.refresh_snapshot().await;
    Ok(web::Json(stored.into()))
}

/// Changes a flag in one environment: kill switch, rules, fallthrough.
#[utoipa::path(
    tag = "flags",
    security(("bearer" = ["pm"])),
    params(
        ("key" = String, Path, description = "Flag key"),
        ("environment" = String, Path, description = "`production` or `staging`"),
    ),
    request_body = EnvironmentPatch,
    responses(
        (status = 200, description = "Changed", body = FlagResponse),
        (status = 404, description = "No such flag or environment", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/api/v1/flags/{key}/environments/{environment}")]
pub async fn patch_flag_environment(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Json<EnvironmentPatch>,
) -> Result<web::Json<FlagResponse>, ApiError> {
    let (key, environment) = path.into_inner();
    if !ENVIRONMENTS.contains(&environment.as_str()) {
        return Err(ApiError::NotFound(format!(
            "environment `{environment}` does not exist; expected one of {}",
            ENVIRONMENTS.join(", ")
        )));
    }
    let actor = auth.caller.subject;
    let patch = body.0;
    let stored = state
        .db
        .run(move |conn| {
            set_flag_environment(conn, &actor, &key, &environment, |existing, flag| {
                let mut config = existing
                    .unwrap_or_else(|| FlagDefinition::initial_environment(&flag.default_variant));
                if let Some(enabled) = patch.enabled {
                    config.enabled = enabled;
                }
                if let Some(rules) = patch.rules {
                    config.rules = rules;
                }
                if let Some(fallthrough) = patch.fallthrough {
                    config.fallthrough = fallthrough;
                }
                config
            })
        })
        .await?;
    state.refresh_snapshot().await;
    Ok(web::Json(stored.into()))
}

/// Deletes a flag (refused while a layer lists it).
#[utoipa::path(
    tag = "flags",
    security(("bearer" = ["pm"])),
    params(("key" = String, Path, description = "Flag key")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such flag", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Still referenced", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/v1/flags/{key}")]
pub async fn delete_flag(
    auth: Authorized<Pm>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    stored::save(
        &state,
        auth.caller.subject,
        key.into_inner(),
        Write::Delete,
        save_flag,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
