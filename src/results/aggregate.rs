//! Runs the aggregation SQL on the connection's backend and reads per-arm
//! sufficient statistics back.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;
use serde::{Deserialize, Serialize};

use super::funnel::StepCount;
use super::sql::{
    MetricQuery, Param, Query, funnel_steps_query, metric_query, state_sums_query,
    stored_funnel_steps_query,
};
use super::state::dialect;
use crate::db::DbConnection;

/// Per-arm sums of per-unit values: `x` is the metric value (ratio numerator),
/// `d` the ratio denominator, `p`/`q` their CUPED pre-period counterparts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, QueryableByName)]
pub struct ArmSums {
    /// Variant key.
    #[diesel(sql_type = Text)]
    pub variant: String,
    /// Units counted.
    #[diesel(sql_type = BigInt)]
    pub n: i64,
    /// Σx.
    #[diesel(sql_type = Nullable<Double>)]
    pub s_x: Option<f64>,
    /// Σx².
    #[diesel(sql_type = Nullable<Double>)]
    pub s_xx: Option<f64>,
    /// Σd.
    #[diesel(sql_type = Nullable<Double>)]
    pub s_d: Option<f64>,
    /// Σd².
    #[diesel(sql_type = Nullable<Double>)]
    pub s_dd: Option<f64>,
    /// Σx·d.
    #[diesel(sql_type = Nullable<Double>)]
    pub s_xd: Option<f64>,
    /// Σp (pre-period x).
    #[diesel(sql_type = Nullable<Double>)]
    pub s_p: Option<f64>,
    /// Σp².
    #[diesel(sql_type = Nullable<Double>)]
    pub s_pp: Option<f64>,
    /// Σx·p.
    #[diesel(sql_type = Nullable<Double>)]
    pub s_xp: Option<f64>,
    /// Σq (pre-period d).
    #[diesel(sql_type = Nullable<Double>)]
    pub s_q: Option<f64>,
    /// Σq².
    #[diesel(sql_type = Nullable<Double>)]
    pub s_qq: Option<f64>,
    /// Σp·q.
    #[diesel(sql_type = Nullable<Double>)]
    pub s_pq: Option<f64>,
    /// Σx·q.
    #[diesel(sql_type = Nullable<Double>)]
    pub s_xq: Option<f64>,
    /// Σd·p.
    #[diesel(sql_type = Nullable<Double>)]
    pub s_dp: Option<f64>,
    /// Σd·q.
    #[diesel(sql_type = Nullable<Double>)]
    pub s_dq: Option<f64>,
}

/// Computes `q`'s per-variant sums in the database (variants without counted
/// units are absent). PostgreSQL gets a larger `work_mem` for the per-unit
/// aggregation, scoped to a transaction.
pub fn arm_sums(conn: &mut DbConnection, q: &MetricQuery<'_>) -> QueryResult<Vec<ArmSums>> {
    let query = metric_query(dialect(conn), q);
    conn.transaction(|conn| {
        more_work_mem(conn)?;
        load(conn, &query)
    })
}

/// `q`'s per-variant sums from the stored per-unit values of `metric_key`,
/// which must be as of `q.as_of` (see [`super::state::advance`]).
pub fn stored_arm_sums(
    conn: &mut DbConnection,
    q: &MetricQuery<'_>,
    metric_key: &str,
) -> QueryResult<Vec<ArmSums>> {
    let query = state_sums_query(dialect(conn), q, metric_key);
    load(conn, &query)
}

/// A funnel's units per arm by steps reached, straight from the raw rows.
pub fn funnel_counts(conn: &mut DbConnection, q: &MetricQuery<'_>) -> QueryResult<Vec<StepCount>> {
    let query = funnel_steps_query(dialect(conn), q);
    conn.transaction(|conn| {
        more_work_mem(conn)?;
        load(conn, &query)
    })
}

/// The same from the stored per-unit values of `metric_key`.
pub fn stored_funnel_counts(
    conn: &mut DbConnection,
    q: &MetricQuery<'_>,
    metric_key: &str,
) -> QueryResult<Vec<StepCount>> {
    load(
        conn,
        &stored_funnel_steps_query(dialect(conn), q, metric_key),
    )
}

/// Gives PostgreSQL's per-unit aggregations and sorts room in memory for the
/// rest of the current transaction (no-op on SQLite).
pub fn more_work_mem(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("SET LOCAL work_mem = '256MB'").execute(pg)?;
    }
    Ok(())
}

/// Turns PostgreSQL's JIT compilation off for the rest of the current
/// transaction: the incremental statements are short scans and lookups, for
/// which compiling costs more (up to ~70 ms per statement) than it saves.
pub fn no_jit(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("SET LOCAL jit = off").execute(pg)?;
    }
    Ok(())
}

/// Runs `query` on `conn`'s backend.
pub fn execute(conn: &mut DbConnection, query: &Query) -> QueryResult<usize> {
    match conn {
        DbConnection::Postgresql(pg) => bind_all::<Pg>(query).execute(pg),
        DbConnection::Sqlite(sqlite) => bind_all::<Sqlite>(query).execute(sqlite),
    }
}

/// Runs `query` on `conn`'s backend and reads its rows.
pub fn load<T>(conn: &mut DbConnection, query: &Query) -> QueryResult<Vec<T>>
where
    T: QueryableByName<Pg> + QueryableByName<Sqlite> + 'static,
{
    match conn {
        DbConnection::Postgresql(pg) => bind_all::<Pg>(query).load(pg),
        DbConnection::Sqlite(sqlite) => bind_all::<Sqlite>(query).load(sqlite),
    }
}

type Boxed<'a, DB> = diesel::query_builder::BoxedSqlQuery<'a, DB, diesel::query_builder::SqlQuery>;

fn bind_all<'a, DB>(query: &'a Query) -> Boxed<'a, DB>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<Text>
        + diesel::sql_types::HasSqlType<Integer>
        + diesel::sql_types::HasSqlType<Double>
        + diesel::sql_types::HasSqlType<Timestamp>,
    String: diesel::serialize::ToSql<Text, DB>,
    i32: diesel::serialize::ToSql<Integer, DB>,
    f64: diesel::serialize::ToSql<Double, DB>,
    chrono::NaiveDateTime: diesel::serialize::ToSql<Timestamp, DB>,
{
    let mut boxed = diesel::sql_query(query.sql.clone()).into_boxed::<DB>();
    for p in &query.params {
        boxed = match p {
            Param::Text(s) => boxed.bind::<Text, _>(s.clone()),
            Param::Int(i) => boxed.bind::<Integer, _>(*i),
            Param::Double(d) => boxed.bind::<Double, _>(*d),
            Param::Timestamp(t) => boxed.bind::<Timestamp, _>(*t),
        };
    }
    boxed
}
