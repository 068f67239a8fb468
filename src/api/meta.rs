//! Bookkeeping fields every stored definition carries in responses.

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use crate::definitions::Stored;

/// Version and change history of a stored definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct Meta {
    /// Increases by one on every change.
    #[schema(example = 3)]
    pub version: i64,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
    /// Who changed it last.
    #[schema(example = "alice")]
    pub updated_by: String,
}

impl Meta {
    /// Splits a stored definition into its definition and bookkeeping.
    pub fn split<T>(stored: Stored<T>) -> (T, Meta) {
        (
            stored.definition,
            Meta {
                version: stored.version,
                created_at: stored.created_at,
                updated_at: stored.updated_at,
                updated_by: stored.updated_by,
            },
        )
    }
}
