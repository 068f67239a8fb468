//! Audit entries for experiment and metric changes (the `audit_log` table).

use chrono::Utc;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::schema::audit_log;

/// Appends one audit entry: `actor` did `action` to `entity_type`/`entity_key`,
/// with the entity's state before and after as JSON.
pub fn record<B: Serialize, A: Serialize>(
    conn: &mut DbConnection,
    actor: &str,
    entity_type: &str,
    entity_key: &str,
    action: &str,
    before: Option<&B>,
    after: Option<&A>,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(Utc::now().naive_utc()),
            audit_log::actor.eq(actor),
            audit_log::entity_type.eq(entity_type),
            audit_log::entity_key.eq(entity_key),
            audit_log::action.eq(action),
            audit_log::before_json.eq(before.and_then(|b| serde_json::to_string(b).ok())),
            audit_log::after_json.eq(after.and_then(|a| serde_json::to_string(a).ok())),
        ))
        .execute(conn)?;
    Ok(())
}
