//! Reading and writing definitions.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::audit::{self, Change};
use crate::db::schema::{config_version as cv, definitions as defs};
use crate::db::{DbConnection, DbError, write_transaction};

/// What kind of definition a row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A feature flag.
    Flag,
    /// A reusable audience segment.
    Segment,
    /// A mutual-exclusion layer.
    Layer,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Flag => "flag",
            Kind::Segment => "segment",
            Kind::Layer => "layer",
        }
    }
}

/// A definition type stored as JSON under a kind.
pub trait Definition: Serialize + DeserializeOwned {
    /// Its kind.
    const KIND: Kind;
}

/// A definition with its bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    /// The definition.
    pub definition: T,
    /// Increases by one on every change.
    pub version: i64,
    /// When it was created.
    pub created_at: NaiveDateTime,
    /// When it last changed.
    pub updated_at: NaiveDateTime,
    /// Who changed it last.
    pub updated_by: String,
}

/// Why a definition could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// No such definition.
    #[error("{kind} `{key}` does not exist")]
    NotFound {
        /// Kind.
        kind: &'static str,
        /// Key.
        key: String,
    },
    /// Creating a key that exists.
    #[error("{kind} `{key}` already exists")]
    AlreadyExists {
        /// Kind.
        kind: &'static str,
        /// Key.
        key: String,
    },
    /// Optimistic concurrency check failed.
    #[error("{kind} `{key}` is at version {actual}, not {expected}: reload and retry")]
    VersionMismatch {
        /// Kind.
        kind: &'static str,
        /// Key.
        key: String,
        /// The version the caller based its change on.
        expected: i64,
        /// The stored version.
        actual: i64,
    },
    /// A stored document no longer parses (written by an incompatible version).
    #[error("stored {kind} `{key}` is unreadable: {source}")]
    Corrupt {
        /// Kind.
        kind: &'static str,
        /// Key.
        key: String,
        /// The parse error.
        source: serde_json::Error,
    },
    /// A definition could not be encoded as JSON.
    #[error("cannot encode definition: {0}")]
    Encode(serde_json::Error),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for DefinitionError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

/// A change to one definition.
#[derive(Debug)]
pub enum Write<T> {
    /// Create; fails if the key exists.
    Create(T),
    /// Replace; fails if missing, or if `expected_version` is given and differs.
    Update {
        /// The new definition.
        definition: T,
        /// The version the change is based on, if the caller checks it.
        expected_version: Option<i64>,
    },
    /// Delete; fails if missing.
    Delete,
}

type Row = (String, i64, NaiveDateTime, NaiveDateTime, String);

fn parse<T: Definition>(key: &str, row: Row) -> Result<Stored<T>, DefinitionError> {
    let (json, version, created_at, updated_at, updated_by) = row;
    let definition = serde_json::from_str(&json).map_err(|source| DefinitionError::Corrupt {
        kind: T::KIND.as_str(),
        key: key.to_owned(),
        source,
    })?;
    Ok(Stored {
        definition,
        version,
        created_at,
        updated_at,
        updated_by,
    })
}

const COLUMNS: (
    defs::definition,
    defs::version,
    defs::created_at,
    defs::updated_at,
    defs::updated_by,
) = (
    defs::definition,
    defs::version,
    defs::created_at,
    defs::updated_at,
    defs::updated_by,
);

/// Every definition of kind `T`, ordered by key.
pub fn list<T: Definition>(
    conn: &mut DbConnection,
) -> Result<Vec<(String, Stored<T>)>, DefinitionError> {
    let rows: Vec<(String, Row)> = defs::table
        .filter(defs::kind.eq(T::KIND.as_str()))
        .order(defs::key.asc())
        .select((defs::key, COLUMNS))
        .load(conn)?;
    rows.into_iter()
        .map(|(key, row)| parse(&key, row).map(|stored| (key, stored)))
        .collect()
}

/// One definition by key.
pub fn get<T: Definition>(
    conn: &mut DbConnection,
    key: &str,
) -> Result<Option<Stored<T>>, DefinitionError> {
    let row: Option<Row> = defs::table
        .filter(defs::kind.eq(T::KIND.as_str()))
        .filter(defs::key.eq(key))
        .select(COLUMNS)
        .first(conn)
        .optional()?;
    row.map(|row| parse(key, row)).transpose()
}

/// The configuration version: bumped by every write of any definition.
pub fn config_version(conn: &mut DbConnection) -> Result<i64, DbError> {
    Ok(cv::table.select(cv::version).first(conn)?)
}

/// Applies `change` to definition `key` in one transaction with its audit entry
/// and a configuration version bump. `check` runs inside the transaction (after
/// the current state is read) to enforce cross-definition rules; an `Err` from it
/// aborts the write. Returns the stored result
/// (`None` after a delete).
pub fn write<T: Definition, E>(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    change: Write<T>,
    check: impl FnOnce(&mut DbConnection, Option<&T>) -> Result<(), E>,
) -> Result<Option<Stored<T>>, E>
where
    E: From<DefinitionError> + From<diesel::result::Error>,
{
    let kind = T::KIND.as_str();
    write_transaction(conn, |conn| {
        let before = get::<T>(conn, key)?;
        check(conn, before.as_ref().map(|s| &s.definition))?;
        let now = Utc::now().naive_utc();
        let before_json = before
            .as_ref()
            .map(|s| to_json(&s.definition))
            .transpose()?;
        let (action, after) = match (change, &before) {
            (Write::Create(_), Some(_)) => {
                return Err(DefinitionError::AlreadyExists {
                    kind,
                    key: key.to_owned(),
                }
                .into());
            }
            (Write::Update { .. } | Write::Delete, None) => {
                return Err(DefinitionError::NotFound {
                    kind,
                    key: key.to_owned(),
                }
                .into());
            }
            (Write::Create(definition), None) => {
                let json = to_json(&definition)?;
                diesel::insert_into(defs::table)
                    .values((
                        defs::kind.eq(kind),
                        defs::key.eq(key),
                        defs::definition.eq(&json),
                        defs::version.eq(1i64),
                        defs::created_at.eq(now),
                        defs::updated_at.eq(now),
                        defs::updated_by.eq(actor),
                    ))
                    .execute(conn)?;
                let stored = Stored {
                    definition,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                    updated_by: actor.to_owned(),
                };
                ("create", Some((json, stored)))
            }
            (
                Write::Update {
                    definition,
                    expected_version,
                },
                Some(current),
            ) => {
                if let Some(expected) = expected_version.filter(|v| *v != current.version) {
                    return Err(DefinitionError::VersionMismatch {
                        kind,
                        key: key.to_owned(),
                        expected,
                        actual: current.version,
                    }
                    .into());
                }
                let json = to_json(&definition)?;
                let version = current.version + 1;
                diesel::update(defs::table.find((kind, key)))
                    .set((
                        defs::definition.eq(&json),
                        defs::version.eq(version),
                        defs::updated_at.eq(now),
                        defs::updated_by.eq(actor),
                    ))
                    .execute(conn)?;
                let stored = Stored {
                    definition,
                    version,
                    created_at: current.created_at,
                    updated_at: now,
                    updated_by: actor.to_owned(),
                };
                ("update", Some((json, stored)))
            }
            (Write::Delete, Some(_)) => {
                diesel::delete(defs::table.find((kind, key))).execute(conn)?;
                ("delete", None)
            }
        };
        audit::record(
            conn,
            Change {
                actor,
                entity_type: kind,
                entity_key: key,
                action,
                before: before_json,
                after: after.as_ref().map(|(json, _)| json.clone()),
            },
        )
        .map_err(DefinitionError::from)?;
        diesel::update(cv::table)
            .set(cv::version.eq(cv::version + 1))
            .execute(conn)?;
        Ok(after.map(|(_, stored)| stored))
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<String, DefinitionError> {
    serde_json::to_string(value).map_err(DefinitionError::Encode)
}
