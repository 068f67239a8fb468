//! Audit entries for experiment and metric changes, through the shared audit log.

use serde::Serialize;

use crate::audit::{self, Change};
use crate::db::{DbConnection, DbError};

/// Appends one audit entry: `actor` did `action` to `entity_type`/`entity_key`,
/// with the entity's state before and after serialized as JSON.
pub fn record<B: Serialize, A: Serialize>(
    conn: &mut DbConnection,
    actor: &str,
    entity_type: &str,
    entity_key: &str,
    action: &str,
    before: Option<&B>,
    after: Option<&A>,
) -> Result<(), DbError> {
    audit::record(
        conn,
        Change {
            actor,
            entity_type,
            entity_key,
            action,
            before: before.and_then(|b| serde_json::to_string(b).ok()),
            after: after.and_then(|a| serde_json::to_string(a).ok()),
        },
    )
}
