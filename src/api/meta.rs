//! Bookkeeping fields every stored definition carries in responses.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::definitions::Stored;

/// Version and change history of a stored definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct Meta {
    /// Increases by one on every change.
    #[schema(example = 3)]
    pub version: i64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
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
                created_at: stored.created_at.and_utc(),
                updated_at: stored.updated_at.and_utc(),
                updated_by: stored.updated_by,
            },
        )
    }
}
