//! Results over time for the experiment page: cumulative exposures per arm by
//! day, and the primary metric's lift and interval in each stored daily
//! snapshot.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use serde::Deserialize;

use crate::db::schema::result_snapshots as rs;
use crate::db::{DbConnection, DbError};
use crate::results::SnapshotSource;

/// New exposures of one arm on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct DailyExposures {
    /// Variant key.
    #[diesel(sql_type = Text)]
    pub variant: String,
    /// Days since the Unix epoch (UTC).
    #[diesel(sql_type = BigInt)]
    pub day: i64,
    /// Units first exposed that day.
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

const SQLITE_DAILY: &str = "SELECT variant, CAST(strftime('%s', first_seen) AS INTEGER) / 86400 AS day, \
     COUNT(*) AS n FROM exposures WHERE experiment_key = ? AND phase = ? \
     GROUP BY variant, day ORDER BY day, variant";
const PG_DAILY: &str = "SELECT variant, CAST(floor(extract(epoch FROM first_seen) / 86400) AS BIGINT) AS day, \
     COUNT(*) AS n FROM exposures WHERE experiment_key = $1 AND phase = $2 \
     GROUP BY variant, day ORDER BY day, variant";

/// New exposures per arm and UTC day in `phase` (counted in the database).
pub fn daily_exposures(
    conn: &mut DbConnection,
    key: &str,
    phase: u32,
) -> Result<Vec<DailyExposures>, DbError> {
    let phase = i32::try_from(phase).unwrap_or(i32::MAX);
    Ok(match conn {
        DbConnection::Sqlite(c) => diesel::sql_query(SQLITE_DAILY)
            .bind::<Text, _>(key)
            .bind::<Integer, _>(phase)
            .load(c)?,
        DbConnection::Postgresql(c) => diesel::sql_query(PG_DAILY)
            .bind::<Text, _>(key)
            .bind::<Integer, _>(phase)
            .load(c)?,
    })
}

/// Running totals per arm: for each arm (in `arms` order), `(day, total)` at
/// the end of every day from the first to the last with exposures.
pub fn cumulative(rows: &[DailyExposures], arms: &[String]) -> Vec<Vec<(i64, u64)>> {
    let (Some(first), Some(last)) = (
        rows.iter().map(|r| r.day).min(),
        rows.iter().map(|r| r.day).max(),
    ) else {
        return arms.iter().map(|_| Vec::new()).collect();
    };
    arms.iter()
        .map(|arm| {
            let mut total = 0u64;
            (first..=last)
                .map(|day| {
                    total += rows
                        .iter()
                        .filter(|r| r.day == day && &r.variant == arm)
                        .map(|r| r.n.max(0) as u64)
                        .sum::<u64>();
                    (day - first, total)
                })
                .collect()
        })
        .collect()
}

/// The primary metric's lift for one treatment in one snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct LiftPoint {
    /// The snapshot's data instant.
    pub as_of: DateTime<Utc>,
    /// Treatment variant.
    pub arm: String,
    /// Relative lift.
    pub estimate: f64,
    /// Interval lower bound.
    pub lower: f64,
    /// Interval upper bound.
    pub upper: f64,
}

/// The few fields of a stored snapshot this needs (the rest is not parsed).
#[derive(Deserialize)]
struct Thin {
    as_of: DateTime<Utc>,
    metrics: Vec<ThinMetric>,
}

#[derive(Deserialize)]
struct ThinMetric {
    metric: String,
    comparisons: Vec<ThinComparison>,
}

#[derive(Deserialize)]
struct ThinComparison {
    arm: String,
    estimate: Option<f64>,
    ci_lower: Option<f64>,
    ci_upper: Option<f64>,
}

/// `metric`'s lift per treatment in each stored daily snapshot of `phase`,
/// oldest first.
pub fn lift_over_time(
    conn: &mut DbConnection,
    key: &str,
    phase: u32,
    metric: &str,
) -> Result<Vec<LiftPoint>, DbError> {
    let bodies: Vec<(NaiveDateTime, Option<String>)> = rs::table
        .filter(rs::experiment_key.eq(key))
        .filter(rs::phase.eq(i32::try_from(phase).unwrap_or(i32::MAX)))
        .filter(rs::source.eq(SnapshotSource::Scheduled.as_str()))
        .filter(rs::body.is_not_null())
        .order(rs::as_of.asc())
        .select((rs::as_of, rs::body))
        .load(conn)?;
    Ok(bodies
        .into_iter()
        .filter_map(|(_, body)| body.and_then(|b| serde_json::from_str::<Thin>(&b).ok()))
        .flat_map(|snapshot| {
            let as_of = snapshot.as_of;
            snapshot
                .metrics
                .into_iter()
                .filter(|m| m.metric == metric)
                .flat_map(|m| m.comparisons)
                .filter_map(move |c| {
                    Some(LiftPoint {
                        as_of,
                        arm: c.arm,
                        estimate: c.estimate?,
                        lower: c.ci_lower?,
                        upper: c.ci_upper?,
                    })
                })
                .collect::<Vec<_>>()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(variant: &str, day: i64, n: i64) -> DailyExposures {
        DailyExposures {
            variant: variant.into(),
            day,
            n,
        }
    }

    #[test]
    fn cumulative_fills_days_without_exposures() {
        let rows = [
            row("a", 100, 3),
            row("b", 100, 1),
            row("a", 102, 2),
            row("b", 101, 4),
        ];
        let arms = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let got = cumulative(&rows, &arms);
        assert_eq!(got[0], vec![(0, 3), (1, 3), (2, 5)]);
        assert_eq!(got[1], vec![(0, 1), (1, 5), (2, 5)]);
        assert_eq!(got[2], vec![(0, 0), (1, 0), (2, 0)]);
        assert_eq!(cumulative(&[], &arms), vec![vec![], vec![], vec![]]);
    }
}
