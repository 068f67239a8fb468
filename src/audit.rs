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

/// A recorded change.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Entry {
    /// Position in the log (increasing).
    pub id: i64,
    /// When (UTC).
    pub at: chrono::NaiveDateTime,
    /// Who.
    pub actor: String,
    /// Kind of entity.
    pub entity_type: String,
    /// Entity key.
    pub entity_key: String,
    /// What happened.
    pub action: String,
    /// Before, as JSON.
    pub before_json: Option<String>,
    /// After, as JSON.
    pub after_json: Option<String>,
}

/// Which entries to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this kind of entity.
    pub entity_type: Option<String>,
    /// Only this entity.
    pub entity_key: Option<String>,
    /// Only changes by this actor.
    pub actor: Option<String>,
    /// Only changes at or after this time.
    pub from: Option<chrono::NaiveDateTime>,
    /// Only changes before this time.
    pub to: Option<chrono::NaiveDateTime>,
    /// Only entries older than this id (the previous page's cursor).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// Reads a page of entries matching `filter`, newest first.
pub fn read(conn: &mut DbConnection, filter: &Filter) -> Result<Vec<Entry>, DbError> {
    let mut query = audit_log::table.into_boxed();
    if let Some(v) = &filter.entity_type {
        query = query.filter(audit_log::entity_type.eq(v.clone()));
    }
    if let Some(v) = &filter.entity_key {
        query = query.filter(audit_log::entity_key.eq(v.clone()));
    }
    if let Some(v) = &filter.actor {
        query = query.filter(audit_log::actor.eq(v.clone()));
    }
    if let Some(v) = filter.from {
        query = query.filter(audit_log::at.ge(v));
    }
    if let Some(v) = filter.to {
        query = query.filter(audit_log::at.lt(v));
    }
    if let Some(v) = filter.before_id {
        query = query.filter(audit_log::id.lt(v));
    }
    Ok(query
        .order(audit_log::id.desc())
        .limit(filter.limit)
        .load(conn)?)
}
