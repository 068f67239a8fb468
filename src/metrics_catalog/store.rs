//! Metric catalogue storage; every change writes an audit entry.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::model::{Direction, Metric, validate_metric};
use crate::db::schema::metrics;
use crate::db::{DbConnection, write_transaction};
use crate::domain_error::DomainError;
use crate::experiments::audit;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = metrics)]
struct MetricRow {
    key: String,
    name: String,
    description: String,
    kind: String,
    direction: String,
    definition: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    data_source: Option<String>,
}

fn direction_str(d: Direction) -> &'static str {
    match d {
        Direction::HigherIsBetter => "higher_is_better",
        Direction::LowerIsBetter => "lower_is_better",
    }
}

impl MetricRow {
    fn from_metric(m: &Metric) -> Result<Self, DomainError> {
        Ok(Self {
            key: m.key.clone(),
            name: m.name.clone(),
            description: m.description.clone(),
            kind: m.definition.kind().to_owned(),
            direction: direction_str(m.direction).to_owned(),
            definition: serde_json::to_string(&m.definition)
                .map_err(|e| DomainError::invalid("definition", e.to_string()))?,
            created_at: m.created_at,
            updated_at: m.updated_at,
            data_source: m.data_source.clone(),
        })
    }

    fn into_metric(self) -> Result<Metric, DomainError> {
        let corrupt = |what: &str, e: serde_json::Error| {
            DomainError::Db(crate::db::DbError::Query(
                diesel::result::Error::DeserializationError(
                    format!("metric {}: stored {what} is unreadable: {e}", self.key).into(),
                ),
            ))
        };
        let direction = serde_json::from_value(serde_json::Value::String(self.direction.clone()))
            .map_err(|e| corrupt("direction", e))?;
        let definition =
            serde_json::from_str(&self.definition).map_err(|e| corrupt("definition", e))?;
        Ok(Metric {
            key: self.key,
            name: self.name,
            description: self.description,
            direction,
            definition,
            data_source: self.data_source,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Refuses (422) a metric computed on a data source that does not exist.
fn check_source(conn: &mut DbConnection, metric: &Metric) -> Result<(), DomainError> {
    match &metric.data_source {
        Some(source) if !crate::warehouse::store::exists(conn, source)? => {
            Err(DomainError::invalid(
                "data_source",
                format!("no data source `{source}` (create it with POST /api/v1/data-sources)"),
            ))
        }
        _ => Ok(()),
    }
}

/// Every metric, by key.
pub fn list(conn: &mut DbConnection) -> Result<Vec<Metric>, DomainError> {
    metrics::table
        .order(metrics::key)
        .select(MetricRow::as_select())
        .load(conn)?
        .into_iter()
        .map(MetricRow::into_metric)
        .collect()
}

/// The metric `key`.
pub fn get(conn: &mut DbConnection, key: &str) -> Result<Metric, DomainError> {
    metrics::table
        .find(key)
        .select(MetricRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| DomainError::NotFound(format!("no metric `{key}`")))?
        .into_metric()
}

/// Whether the metric `key` exists.
pub fn metric_exists(conn: &mut DbConnection, key: &str) -> QueryResult<bool> {
    Ok(metrics::table
        .find(key)
        .select(metrics::key)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// Adds a metric (409 when the key exists). `created_at`/`updated_at` of `metric` are ignored.
pub fn create(
    conn: &mut DbConnection,
    actor: &str,
    mut metric: Metric,
) -> Result<Metric, DomainError> {
    validate_metric(&metric.key, &metric.name, &metric.definition).map_err(DomainError::Invalid)?;
    let now = Utc::now().naive_utc();
    metric.created_at = now;
    metric.updated_at = now;
    write_transaction(conn, |conn| {
        check_source(conn, &metric)?;
        if metric_exists(conn, &metric.key)? {
            return Err(DomainError::Conflict(format!(
                "metric `{}` already exists",
                metric.key
            )));
        }
        diesel::insert_into(metrics::table)
            .values(MetricRow::from_metric(&metric)?)
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            "metric",
            &metric.key,
            "create",
            None::<&Metric>,
            Some(&metric),
        )?;
        Ok(metric)
    })
}

/// Replaces the definition of metric `metric.key`.
pub fn update(
    conn: &mut DbConnection,
    actor: &str,
    mut metric: Metric,
) -> Result<Metric, DomainError> {
    validate_metric(&metric.key, &metric.name, &metric.definition).map_err(DomainError::Invalid)?;
    write_transaction(conn, |conn| {
        let before = get(conn, &metric.key)?;
        check_source(conn, &metric)?;
        metric.created_at = before.created_at;
        metric.updated_at = Utc::now().naive_utc();
        diesel::update(metrics::table.find(&metric.key))
            .set(MetricRow::from_metric(&metric)?)
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            "metric",
            &metric.key,
            "update",
            Some(&before),
            Some(&metric),
        )?;
        Ok(metric)
    })
}

/// Deletes metric `key`; refused (409) while a non-archived experiment uses it.
pub fn delete(conn: &mut DbConnection, actor: &str, key: &str) -> Result<(), DomainError> {
    write_transaction(conn, |conn| {
        let before = get(conn, key)?;
        let users = crate::experiments::experiments_using_metric(conn, key)?;
        if !users.is_empty() {
            return Err(DomainError::Conflict(format!(
                "metric `{key}` is used by experiment(s) {}; archive them or change their metrics first",
                users.join(", ")
            )));
        }
        diesel::delete(metrics::table.find(key)).execute(conn)?;
        audit::record(
            conn,
            actor,
            "metric",
            key,
            "delete",
            Some(&before),
            None::<&Metric>,
        )?;
        Ok(())
    })
}

/// Which of `keys` name existing metrics, for checking references.
pub(crate) fn existing_keys(conn: &mut DbConnection, keys: &[&str]) -> QueryResult<Vec<String>> {
    metrics::table
        .filter(metrics::key.eq_any(keys))
        .select(metrics::key)
        .load(conn)
}
