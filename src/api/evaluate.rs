//! Flag evaluation for apps (remote evaluation) and the ruleset download for
//! local-evaluation SDKs.

use actix_web::http::header::{ContentType, ETAG, IF_NONE_MATCH};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use verdict_core::{Context, Evaluation};

use super::evaluate_body::EvaluateBody;
use crate::auth::{Authorized, Client, Sdk};
use crate::evaluation::{record_exposure, snapshot_for};
use crate::http::{ApiError, Json};
use crate::state::AppState;

/// Evaluate every flag (or the listed ones) for a context.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"context": {"user_id": "42", "tier": "vip", "language": "ru"}}))]
pub struct EvaluateRequest {
    /// Attributes of the unit being evaluated; `user_id` is the default bucketing unit.
    #[schema(value_type = Object)]
    pub context: Context,
    /// Only these flags (default: all).
    #[serde(default)]
    pub flags: Option<Vec<String>>,
}

/// Evaluate one flag for a context.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"context": {"user_id": "42"}}))]
pub struct EvaluateOneRequest {
    /// Attributes of the unit being evaluated.
    #[schema(value_type = Object)]
    pub context: Context,
}

/// One flag's value for the context.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"key": "cta_copy", "value": "Pro trial ends today", "variant": "urgency", "reason": "SPLIT", "version": 3, "error_code": null, "rule_id": null}))]
pub struct FlagEvaluation<'a> {
    /// Flag key.
    pub key: &'a str,
    /// Served value.
    pub value: &'a Value,
    /// Served variant key.
    pub variant: Option<&'a str>,
    /// `STATIC`, `TARGETING_MATCH`, `SPLIT`, `DISABLED`, `DEFAULT` or `ERROR`.
    pub reason: &'static str,
    /// The flag's version.
    pub version: u64,
    /// `TARGETING_KEY_MISSING`, `PARSE_ERROR` or `GENERAL` when something was wrong.
    pub error_code: Option<&'static str>,
    /// The matched rule.
    pub rule_id: Option<&'a str>,
}

impl<'a> From<&Evaluation<'a>> for FlagEvaluation<'a> {
    fn from(e: &Evaluation<'a>) -> Self {
        Self {
            key: e.flag_key,
            value: e.value,
            variant: e.variant,
            reason: e.reason.as_ofrep_str(),
            version: e.flag_version,
            error_code: e.error.map(|c| c.as_ofrep_str()),
            rule_id: e.rule_id,
        }
    }
}

/// Every evaluated flag.
#[derive(Debug, Serialize, ToSchema)]
pub struct EvaluateResponse<'a> {
    /// The environment evaluated in (from the token).
    #[schema(example = "production")]
    pub environment: &'a str,
    /// One entry per flag, in key order.
    pub flags: Vec<FlagEvaluation<'a>>,
}

/// Evaluates every flag (or the listed ones) for a context, in the caller's
/// environment. Records experiment exposures. A Mini App (`tma`) is evaluated
/// as its verified Telegram user: `user_id` is that user's id whatever the
/// context says, and `language_code`, `is_premium` and `start_param` come
/// from initData.
#[utoipa::path(
    tag = "evaluation",
    security(("bearer" = ["sdk"]), ("tma" = [])),
    request_body = EvaluateRequest,
    responses((status = 200, description = "Evaluations", body = EvaluateResponse))
)]
#[post("/api/v1/evaluate")]
pub async fn evaluate_all(
    client: Client,
    state: web::Data<AppState>,
    body: Json<EvaluateRequest>,
) -> Result<HttpResponse, ApiError> {
    let snapshot = snapshot_for(&state.snapshots, &client.environment)?;
    let request = body.0;
    let mut ctx = request.context;
    client.vouch(&mut ctx);
    let wanted = request.flags;
    let mut out = EvaluateBody::new(&client.environment, snapshot.compiled.len());
    for (position, e) in snapshot
        .compiled
        .evaluate_all(&ctx)
        .enumerate()
        .filter(|(_, e)| {
            wanted
                .as_ref()
                .is_none_or(|w| w.iter().any(|k| k == e.flag_key))
        })
    {
        record_exposure(&state.exposures, &ctx, &e);
        out.push(&snapshot.rendered, position, &e);
    }
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(out.finish()))
}

/// Evaluates one flag for a context. Records the experiment exposure.
#[utoipa::path(
    tag = "evaluation",
    security(("bearer" = ["sdk"])),
    params(("key" = String, Path, description = "Flag key")),
    request_body = EvaluateOneRequest,
    responses(
        (status = 200, description = "Evaluation", body = FlagEvaluation),
        (status = 404, description = "No such flag in this environment", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/evaluate/{key}")]
pub async fn evaluate_one(
    auth: Authorized<Sdk>,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: Json<EvaluateOneRequest>,
) -> Result<HttpResponse, ApiError> {
    let snapshot = snapshot_for(&state.snapshots, &auth.environment)?;
    let ctx = body.0.context;
    let evaluation = snapshot.compiled.evaluate(&key, &ctx).ok_or_else(|| {
        ApiError::NotFound(format!(
            "flag `{key}` does not exist in environment `{}`",
            auth.environment
        ))
    })?;
    record_exposure(&state.exposures, &ctx, &evaluation);
    Ok(HttpResponse::Ok().json(FlagEvaluation::from(&evaluation)))
}

/// The token's environment's full ruleset (flags, segments, layers) for SDKs
/// that evaluate locally. Send `If-None-Match` with the last `ETag` to get 304
/// when nothing changed.
#[utoipa::path(
    tag = "evaluation",
    security(("bearer" = ["sdk"])),
    params(("If-None-Match" = Option<String>, Header, description = "ETag of the ruleset the caller has")),
    responses(
        (status = 200, description = "The ruleset", body = verdict_core::Ruleset,
            headers(("ETag" = String, description = "Content hash of the ruleset"))),
        (status = 304, description = "Unchanged since the given ETag"),
    )
)]
#[get("/api/v1/sdk/config")]
pub async fn sdk_config(
    auth: Authorized<Sdk>,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let snapshot = snapshot_for(&state.snapshots, &auth.environment)?;
    if etag_matches(&req, &snapshot.etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((ETAG, snapshot.etag.clone()))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((ETAG, snapshot.etag.clone()))
        .body(snapshot.config_json.clone()))
}

/// Whether `If-None-Match` lists `etag` (or `*`).
pub fn etag_matches(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        })
}
