//! Runs the aggregation SQL on the connection's backend and reads per-arm
//! sufficient statistics back.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Integer, Nullable, Text, Timestamp};
use diesel::sqlite::Sqlite;
use serde::{Deserialize, Serialize};

use super::sql::{Dialect, MetricQuery, Param, Query, metric_query};
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
    match conn {
        DbConnection::Postgresql(pg) => {
            let query = metric_query(Dialect::Postgres, q);
            pg.transaction(|pg| {
                diesel::sql_query("SET LOCAL work_mem = '256MB'").execute(pg)?;
                bind_all::<Pg>(&query).load(pg)
            })
        }
        DbConnection::Sqlite(sqlite) => {
            let query = metric_query(Dialect::Sqlite, q);
            bind_all::<Sqlite>(&query).load(sqlite)
        }
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
