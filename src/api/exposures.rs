//! Exposures reported by SDKs that evaluate locally.

use std::collections::BTreeMap;

use actix_web::{post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Authorized, Sdk};
use crate::exposures::{ExposureRecord, dimensions_json, insert_batch};
use crate::state::AppState;
use verdict_core::FieldError;

use crate::http::{ApiError, Json};

/// Largest number of exposures per request.
pub const MAX_EXPOSURES_PER_BATCH: usize = 1000;

/// One exposure seen by an SDK.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExposureInput {
    /// Experiment key.
    #[schema(example = "cta_copy")]
    #[schema(min_length = 1)]
    pub experiment: String,
    /// Experiment phase.
    #[schema(example = 1)]
    #[schema(maximum = 2147483647)]
    pub phase: u32,
    /// Served variant.
    #[schema(example = "urgency")]
    #[schema(min_length = 1)]
    pub variant: String,
    /// The unit (value of the flag's bucketing attribute).
    #[schema(example = "42")]
    #[schema(min_length = 1)]
    pub unit_id: String,
    /// When the variant was served.
    pub timestamp: DateTime<Utc>,
    /// The experiment's dimensions in the unit's context (its experiment
    /// reference in the ruleset lists them), e.g. `{"icp_segment": "high"}`.
    #[serde(default)]
    pub dimensions: Option<BTreeMap<String, String>>,
}

/// A batch of exposures.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExposureBatch {
    /// Up to 1000 exposures.
    pub exposures: Vec<ExposureInput>,
}

/// What was stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExposureReceipt {
    /// Exposures accepted (stored now or already known).
    pub accepted: usize,
    /// Units exposed for the first time in their experiment phase.
    pub first_exposures: usize,
}

/// Records exposures; only the first per unit and experiment phase is kept, so
/// re-sending a batch is harmless. Stored before the response is sent.
#[utoipa::path(
    tag = "evaluation",
    security(("bearer" = ["sdk"])),
    request_body = ExposureBatch,
    responses((status = 200, description = "Stored", body = ExposureReceipt))
)]
#[post("/api/v1/exposures")]
pub async fn record_exposures(
    _auth: Authorized<Sdk>,
    state: web::Data<AppState>,
    body: Json<ExposureBatch>,
) -> Result<web::Json<ExposureReceipt>, ApiError> {
    let batch = body.0.exposures;
    if batch.len() > MAX_EXPOSURES_PER_BATCH {
        return Err(ApiError::invalid(
            "exposures",
            format!(
                "at most {MAX_EXPOSURES_PER_BATCH} exposures per request, got {}",
                batch.len()
            ),
        ));
    }
    let mut errors = Vec::new();
    for (i, e) in batch.iter().enumerate() {
        for (field, value) in [
            ("experiment", &e.experiment),
            ("variant", &e.variant),
            ("unit_id", &e.unit_id),
        ] {
            if value.is_empty() {
                errors.push(FieldError::new(
                    format!("exposures[{i}].{field}"),
                    "must not be empty",
                ));
            }
        }
        if i32::try_from(e.phase).is_err() {
            errors.push(FieldError::new(
                format!("exposures[{i}].phase"),
                "is too large",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let records: Vec<ExposureRecord> = batch
        .into_iter()
        .map(|e| ExposureRecord {
            experiment_key: e.experiment,
            phase: i32::try_from(e.phase).unwrap_or(i32::MAX),
            unit_id: e.unit_id,
            variant: e.variant,
            first_seen: e.timestamp.naive_utc(),
            dimensions: e
                .dimensions
                .as_ref()
                .and_then(|d| dimensions_json(d.iter().map(|(k, v)| (k.as_str(), v.clone())))),
        })
        .collect();
    let accepted = records.len();
    let first_exposures = state
        .db
        .run(move |conn| insert_batch(conn, &records))
        .await?;
    Ok(web::Json(ExposureReceipt {
        accepted,
        first_exposures,
    }))
}
