//! The one field-level validation error of every Verdict crate: the core's
//! definition checks, the statistics engine's request checks and the
//! service's domain checks all report offending fields with it, and the
//! service's problem+json lists them as they are.

use serde::{Deserialize, Serialize};

/// A validation failure. JSON: `{ "field": "rules[0].conditions[1].value", "message": "..." }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{field}: {message}")]
pub struct FieldError {
    /// JSON path of the offending field, e.g. `rules[0].serve.split.weights`.
    #[cfg_attr(feature = "openapi", schema(example = "weights"))]
    pub field: String,
    /// Human-readable explanation.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "weights must sum to 100, got 90")
    )]
    pub message: String,
}

impl FieldError {
    /// A field error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}
