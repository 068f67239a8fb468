//! The audit log: every configuration change with its actor and before/after JSON.

use chrono::Utc;
use diesel::prelude::*;

use crate::db::{DbConnection, DbError, schema::audit_log};

/// One configuration change to record.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    /// Who made it (the token subject).
    pub actor: &'a str,
    /// What kind of entity changed (`flag`, `segment`, `experiment`, …).
    pub entity_type: &'a str,
    /// The entity's key.
    pub entity_key: &'a str,
    /// What happened (`create`, `update`, `delete`, `launch`, …).
    pub action: &'a str,
    /// The entity before, as JSON.
    pub before: Option<String>,
    /// The entity after, as JSON.
    pub after: Option<String>,
}

/// Appends `change` to the audit log (call it inside the change's transaction).
pub fn record(conn: &mut DbConnection, change: Change<'_>) -> Result<(), DbError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(Utc::now().naive_utc()),
            audit_log::actor.eq(change.actor),
            audit_log::entity_type.eq(change.entity_type),
            audit_log::entity_key.eq(change.entity_key),
            audit_log::action.eq(change.action),
            audit_log::before_json.eq(change.before),
            audit_log::after_json.eq(change.after),
        ))
        .execute(conn)?;
    Ok(())
}
