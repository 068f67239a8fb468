//! OpenFeature Remote Evaluation Protocol (OFREP) v1: single and bulk evaluation,
//! with the protocol's own response and error shapes.

use actix_web::http::header::ETAG;
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use verdict_core::{Context, DEFAULT_BUCKET_BY, Evaluation};

use super::evaluate::etag_matches;
use super::evaluate_body::EvaluateBody;
use crate::auth::Client;
use crate::evaluation::{record_exposure, snapshot_for};
use crate::http::{ApiError, RawBody};
use crate::ruleset::ofrep_error_details;
use crate::state::AppState;

/// A successful evaluation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"key": "cta_copy", "value": "Pro trial ends today", "reason": "SPLIT", "variant": "urgency", "metadata": {"flagVersion": 3}}))]
pub struct OfrepSuccess<'a> {
    /// Flag key.
    pub key: &'a str,
    /// Served value.
    pub value: &'a Value,
    /// `STATIC`, `TARGETING_MATCH`, `SPLIT`, `DISABLED` or `DEFAULT`.
    pub reason: &'static str,
    /// Served variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<&'a str>,
    /// `flagVersion`, and `ruleId` when a rule matched.
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
}

/// A failed evaluation of one flag.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"key": "cta_copy", "errorCode": "TARGETING_KEY_MISSING", "errorDetails": "the context has no `user_id` (or `targetingKey`)"}))]
pub struct OfrepFailure {
    /// Flag key.
    pub key: String,
    /// `FLAG_NOT_FOUND`, `TARGETING_KEY_MISSING`, `INVALID_CONTEXT`, `PARSE_ERROR` or `GENERAL`.
    pub error_code: &'static str,
    /// What went wrong.
    pub error_details: String,
}

/// A request-level failure of bulk evaluation.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"errorCode": "PARSE_ERROR", "errorDetails": "malformed JSON: expected value at line 1 column 1"}))]
pub struct OfrepBulkFailure {
    /// `INVALID_CONTEXT` or `PARSE_ERROR`.
    pub error_code: &'static str,
    /// What went wrong.
    pub error_details: String,
}

/// One entry of a bulk response.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum OfrepBulkItem<'a> {
    /// Evaluated.
    Success(OfrepSuccess<'a>),
    /// Not evaluated.
    Failure(OfrepFailure),
}

/// Bulk evaluation result.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfrepBulkResponse<'a> {
    /// Every flag of the environment.
    pub flags: Vec<OfrepBulkItem<'a>>,
}

/// Why a request's context is unusable: (`PARSE_ERROR` | `INVALID_CONTEXT`, details).
type ContextError = (&'static str, String);

/// Parses the body into a context, mapping `targetingKey` to the default
/// bucketing attribute when that is absent.
fn parse_context(body: &[u8]) -> Result<Context, ContextError> {
    let request: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(body).map_err(|e| ("PARSE_ERROR", format!("malformed JSON: {e}")))?
    };
    let Value::Object(mut request) = request else {
        return Err((
            "PARSE_ERROR",
            "the request body must be a JSON object".into(),
        ));
    };
    let mut context = match request.remove("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(("INVALID_CONTEXT", "`context` must be a JSON object".into())),
    };
    match context.get("targetingKey") {
        None | Some(Value::Null) => {}
        Some(Value::String(key)) => {
            let key = key.clone();
            context
                .entry(DEFAULT_BUCKET_BY)
                .or_insert(Value::String(key));
        }
        Some(_) => {
            return Err(("INVALID_CONTEXT", "`targetingKey` must be a string".into()));
        }
    }
    Ok(Context::from_json_object(context))
}

/// The bulk entry of one evaluation (what the pre-rendered body writes).
pub(crate) fn outcome<'a>(evaluation: &Evaluation<'a>) -> OfrepBulkItem<'a> {
    match evaluation.error {
        Some(code) => OfrepBulkItem::Failure(OfrepFailure {
            key: evaluation.flag_key.to_owned(),
            error_code: code.as_ofrep_str(),
            error_details: ofrep_error_details(code).to_owned(),
        }),
        None => {
            let mut metadata = Map::new();
            metadata.insert("flagVersion".into(), evaluation.flag_version.into());
            if let Some(rule) = evaluation.rule_id {
                metadata.insert("ruleId".into(), rule.into());
            }
            OfrepBulkItem::Success(OfrepSuccess {
                key: evaluation.flag_key,
                value: evaluation.value,
                reason: evaluation.reason.as_ofrep_str(),
                variant: evaluation.variant,
                metadata,
            })
        }
    }
}

/// OFREP single flag evaluation.
#[utoipa::path(
    tag = "ofrep",
    security(("bearer" = ["sdk"]), ("api_key" = ["sdk"]), ("tma" = [])),
    params(("key" = String, Path, description = "Flag key")),
    request_body(
        content = Object,
        description = "`{\"context\": {...}}`; `targetingKey` is the default bucketing unit (`user_id`)",
        example = json!({"context": {"targetingKey": "42", "tier": "vip"}})
    ),
    responses(
        (status = 200, description = "Evaluated", body = OfrepSuccess),
        (status = 400, description = "Bad request or flag-level error", body = OfrepFailure),
        (status = 404, description = "FLAG_NOT_FOUND", body = OfrepFailure),
    )
)]
#[post("/ofrep/v1/evaluate/flags/{key}")]
pub async fn ofrep_evaluate_flag(
    client: Client,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner();
    let mut ctx = match parse_context(&body.0) {
        Ok(ctx) => ctx,
        Err((error_code, error_details)) => {
            return Ok(HttpResponse::BadRequest().json(OfrepFailure {
                key,
                error_code,
                error_details,
            }));
        }
    };
    client.vouch(&mut ctx);
    let snapshot = snapshot_for(&state.snapshots, &client.environment)?;
    let Some(evaluation) = snapshot.compiled.evaluate(&key, &ctx) else {
        return Ok(HttpResponse::NotFound().json(OfrepFailure {
            error_details: format!(
                "flag `{key}` does not exist in environment `{}`",
                client.environment
            ),
            key,
            error_code: "FLAG_NOT_FOUND",
        }));
    };
    record_exposure(&state.exposures, &ctx, &evaluation);
    Ok(match outcome(&evaluation) {
        OfrepBulkItem::Success(success) => HttpResponse::Ok().json(success),
        OfrepBulkItem::Failure(failure) => HttpResponse::BadRequest().json(failure),
    })
}

/// OFREP bulk evaluation of every flag; `ETag` / `If-None-Match` → 304.
#[utoipa::path(
    tag = "ofrep",
    security(("bearer" = ["sdk"]), ("api_key" = ["sdk"]), ("tma" = [])),
    params(("If-None-Match" = Option<String>, Header, description = "ETag of the caller's last bulk result")),
    request_body(
        content = Object,
        description = "`{\"context\": {...}}`; `targetingKey` is the default bucketing unit (`user_id`)",
        example = json!({"context": {"targetingKey": "42", "tier": "vip"}})
    ),
    responses(
        (status = 200, description = "Evaluated", body = OfrepBulkResponse,
            headers(("ETag" = String, description = "Hash of this result"))),
        (status = 304, description = "Unchanged since the given ETag"),
        (status = 400, description = "PARSE_ERROR or INVALID_CONTEXT", body = OfrepBulkFailure),
    )
)]
#[post("/ofrep/v1/evaluate/flags")]
pub async fn ofrep_evaluate_flags(
    client: Client,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: RawBody,
) -> Result<HttpResponse, ApiError> {
    let mut ctx = match parse_context(&body.0) {
        Ok(ctx) => ctx,
        Err((error_code, error_details)) => {
            return Ok(HttpResponse::BadRequest().json(OfrepBulkFailure {
                error_code,
                error_details,
            }));
        }
    };
    client.vouch(&mut ctx);
    let snapshot = snapshot_for(&state.snapshots, &client.environment)?;
    let mut out = EvaluateBody::ofrep(snapshot.compiled.len());
    for (position, e) in snapshot.compiled.evaluate_all(&ctx).enumerate() {
        record_exposure(&state.exposures, &ctx, &e);
        out.push(&snapshot.rendered, position, &e);
    }
    let body = out.finish();
    let etag = format!("\"{:032x}\"", xxhash_rust::xxh3::xxh3_128(&body));
    if etag_matches(&req, &etag) {
        return Ok(HttpResponse::NotModified()
            .insert_header((ETAG, etag))
            .finish());
    }
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((ETAG, etag))
        .body(body))
}
