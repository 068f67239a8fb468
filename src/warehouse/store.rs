//! Data source storage; every change is audited with the URL's password hidden.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::model::{DataSource, Limits, Mapping, SourceUrl, validate};
use crate::db::schema::{data_sources as ds, metrics};
use crate::db::{DbConnection, write_transaction};
use crate::domain_error::DomainError;
use crate::experiments::audit;

/// A stored data source with its bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSource {
    /// The source.
    pub source: DataSource,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
    /// Who changed it last.
    pub updated_by: String,
}

/// What is stored in `definition`.
#[derive(Serialize, Deserialize)]
struct Definition {
    mapping: Mapping,
    limits: Limits,
}

/// What the audit log keeps of a source: everything but the password.
#[derive(Serialize)]
struct Audited<'a> {
    url: String,
    mapping: &'a Mapping,
    limits: &'a Limits,
}

fn audited(s: &DataSource) -> Audited<'_> {
    Audited {
        url: s.url.redacted(),
        mapping: &s.mapping,
        limits: &s.limits,
    }
}

type Row = (String, String, String, NaiveDateTime, NaiveDateTime, String);

fn from_row(
    (key, url, definition, created_at, updated_at, updated_by): Row,
) -> Result<StoredSource, DomainError> {
    let d: Definition = serde_json::from_str(&definition).map_err(|e| {
        DomainError::Db(crate::db::DbError::Query(
            diesel::result::Error::DeserializationError(
                format!("data source {key}: stored definition is unreadable: {e}").into(),
            ),
        ))
    })?;
    Ok(StoredSource {
        source: DataSource {
            key,
            url: SourceUrl::new(url),
            mapping: d.mapping,
            limits: d.limits,
        },
        created_at,
        updated_at,
        updated_by,
    })
}

const COLUMNS: (
    ds::key,
    ds::url,
    ds::definition,
    ds::created_at,
    ds::updated_at,
    ds::updated_by,
) = (
    ds::key,
    ds::url,
    ds::definition,
    ds::created_at,
    ds::updated_at,
    ds::updated_by,
);

fn definition(s: &DataSource) -> Result<String, DomainError> {
    serde_json::to_string(&Definition {
        mapping: s.mapping.clone(),
        limits: s.limits,
    })
    .map_err(|e| DomainError::invalid("mapping", e.to_string()))
}

/// Every data source, by key.
pub fn list(conn: &mut DbConnection) -> Result<Vec<StoredSource>, DomainError> {
    ds::table
        .order(ds::key)
        .select(COLUMNS)
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect()
}

/// The data source `key`.
pub fn get(conn: &mut DbConnection, key: &str) -> Result<StoredSource, DomainError> {
    let row: Option<Row> = ds::table.find(key).select(COLUMNS).first(conn).optional()?;
    from_row(row.ok_or_else(|| DomainError::NotFound(format!("no data source `{key}`")))?)
}

/// Whether data source `key` exists.
pub fn exists(conn: &mut DbConnection, key: &str) -> QueryResult<bool> {
    Ok(ds::table
        .find(key)
        .select(ds::key)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Adds a data source (409 when the key exists).
pub fn create(
    conn: &mut DbConnection,
    actor: &str,
    source: DataSource,
) -> Result<StoredSource, DomainError> {
    validate(&source).map_err(DomainError::Invalid)?;
    let now = Utc::now().naive_utc();
    write_transaction(conn, |conn| {
        if exists(conn, &source.key)? {
            return Err(DomainError::Conflict(format!(
                "data source `{}` already exists",
                source.key
            )));
        }
        diesel::insert_into(ds::table)
            .values((
                ds::key.eq(&source.key),
                ds::url.eq(source.url.expose()),
                ds::definition.eq(definition(&source)?),
                ds::created_at.eq(now),
                ds::updated_at.eq(now),
                ds::updated_by.eq(actor),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            "data_source",
            &source.key,
            "create",
            None::<&Audited<'_>>,
            Some(&audited(&source)),
        )?;
        Ok(StoredSource {
            source: source.clone(),
            created_at: now,
            updated_at: now,
            updated_by: actor.to_owned(),
        })
    })
}

/// Replaces data source `source.key`.
pub fn replace(
    conn: &mut DbConnection,
    actor: &str,
    source: DataSource,
) -> Result<StoredSource, DomainError> {
    validate(&source).map_err(DomainError::Invalid)?;
    let now = Utc::now().naive_utc();
    write_transaction(conn, |conn| {
        let before = get(conn, &source.key)?;
        diesel::update(ds::table.find(&source.key))
            .set((
                ds::url.eq(source.url.expose()),
                ds::definition.eq(definition(&source)?),
                ds::updated_at.eq(now),
                ds::updated_by.eq(actor),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            "data_source",
            &source.key,
            "update",
            Some(&audited(&before.source)),
            Some(&audited(&source)),
        )?;
        Ok(StoredSource {
            source: source.clone(),
            created_at: before.created_at,
            updated_at: now,
            updated_by: actor.to_owned(),
        })
    })
}

/// Deletes data source `key`; refused (409) while a metric is computed on it.
pub fn delete(conn: &mut DbConnection, actor: &str, key: &str) -> Result<(), DomainError> {
    write_transaction(conn, |conn| {
        let before = get(conn, key)?;
        let users: Vec<String> = metrics::table
            .filter(metrics::data_source.eq(key))
            .select(metrics::key)
            .order(metrics::key)
            .load(conn)?;
        if !users.is_empty() {
            return Err(DomainError::Conflict(format!(
                "data source `{key}` is used by metric(s) {}; move them first",
                users.join(", ")
            )));
        }
        diesel::delete(ds::table.find(key)).execute(conn)?;
        audit::record(
            conn,
            actor,
            "data_source",
            key,
            "delete",
            Some(&audited(&before.source)),
            None::<&Audited<'_>>,
        )?;
        Ok(())
    })
}
