//! Experiment results: SQL aggregation against hand-computed fixtures, the
//! results endpoint (SRM, guardrails, recommendation), snapshots and the
//! scheduler, on both backends.

mod common;

use std::time::Duration;
use verdict_testkit::{backend_tests, call};

use actix_web::http::StatusCode;
use actix_web::test;
use chrono::{NaiveDate, NaiveDateTime, TimeDelta};
use common::{Backend, TestApp};
use diesel::{Connection, ExpressionMethods, QueryDsl, RunQueryDsl};
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict::db::{DbConnection, ingest_clock, schema};
use verdict::events::NewEvent;
use verdict::exposures::{ExposureRecord, insert_batch};
use verdict::metrics_catalog::MetricDefinition;
use verdict::results::sql::MetricQuery;
use verdict::results::state::{self, StateMetric};
use verdict::results::{ArmSums, arm_sums, scheduled_pass, stored_arm_sums};

fn t0() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date")
}

fn at(hours: f64) -> NaiveDateTime {
    t0() + TimeDelta::milliseconds((hours * 3_600_000.0) as i64)
}

fn expose(conn: &mut DbConnection, key: &str, units: &[(&str, &str, f64)]) {
    expose_in_phase(conn, key, 1, units);
}

fn expose_in_phase(conn: &mut DbConnection, key: &str, phase: i32, units: &[(&str, &str, f64)]) {
    let records: Vec<ExposureRecord> = units
        .iter()
        .map(|(unit, variant, h)| ExposureRecord {
            experiment_key: key.into(),
            phase,
            unit_id: (*unit).into(),
            variant: (*variant).into(),
            first_seen: at(*h),
            dimensions: None,
        })
        .collect();
    insert_batch(conn, &records).expect("exposures");
}

struct Ev<'a>(&'a str, &'a str, f64, Option<f64>, Value);

fn ingest(conn: &mut DbConnection, events: &[Ev<'_>]) {
    conn.transaction(|conn| {
        for (i, Ev(unit, name, h, value, props)) in events.iter().enumerate() {
            let id = format!("{unit}-{name}-{i}-{}", uuid::Uuid::new_v4());
            diesel::insert_into(schema::events::table)
                .values((
                    schema::events::event_id.eq(id),
                    schema::events::unit_id.eq(*unit),
                    schema::events::name.eq(*name),
                    schema::events::ts.eq(at(*h)),
                    schema::events::value.eq(*value),
                    schema::events::properties.eq((!props.is_null()).then(|| props.to_string())),
                    schema::events::received_at.eq(at(*h)),
                ))
                .execute(conn)?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .expect("events");
}

/// Six units (c1..c3 control, t1..t3 treatment) and their events; see the
/// per-metric expectations below for the hand computation.
fn fixture(conn: &mut DbConnection) {
    expose(
        conn,
        "fx",
        &[
            ("c1", "control", 1.0),
            ("c2", "control", 2.0),
            ("c3", "control", 3.0),
            ("t1", "treatment", 1.0),
            ("t2", "treatment", 2.0),
            ("t3", "treatment", 3.0),
        ],
    );
    let yes = json!({"auto_topup": true});
    let no = json!({"auto_topup": false});
    ingest(
        conn,
        &[
            // purchases (value = Stars)
            Ev("c1", "purchase", 2.0, Some(10.0), yes.clone()),
            Ev("c2", "purchase", 1.0, Some(5.0), yes.clone()), // before exposure: pre-period
            Ev("c2", "purchase", 30.0, Some(7.0), yes.clone()), // after the 24 h window
            Ev("c3", "purchase", 4.0, Some(3.0), no),
            Ev("c3", "purchase", 480.0, Some(100.0), yes.clone()), // after the cut-off
            Ev("t1", "purchase", 5.0, Some(20.0), yes.clone()),
            Ev(
                "t2",
                "purchase",
                3.0,
                Some(4.0),
                json!({"auto_topup": "true"}),
            ), // string: no match
            Ev("t2", "purchase", 4.0, Some(6.0), json!({"auto_topup": 1})), // number: no match
            Ev("t3", "purchase", 4.0, Some(30.0), yes.clone()),
            Ev("x9", "purchase", 4.0, Some(999.0), yes), // never exposed
            // sessions (no value: each counts 1 in a ratio denominator)
            Ev("c1", "session", 2.0, None, Value::Null),
            Ev("c1", "session", 26.0, None, Value::Null), // day 1
            Ev("c2", "session", 3.0, None, Value::Null),
            Ev("t1", "session", 30.0, None, Value::Null), // day 1
            Ev("t2", "session", 3.0, None, Value::Null),
            Ev("t2", "session", 50.0, None, Value::Null), // exactly 48 h: day 2, excluded
            Ev("t3", "session", 4.0, None, Value::Null),
            Ev("t3", "session", 5.0, None, Value::Null),
            Ev("t3", "session", 27.0, None, Value::Null), // exactly 24 h: day 1
            // NPS answers (value = 0–10 score)
            Ev("c1", "nps_survey", 2.0, Some(3.0), Value::Null),
            Ev("c1", "nps_survey", 5.0, Some(9.0), Value::Null), // latest: promoter
            Ev("c2", "nps_survey", 4.0, Some(8.0), Value::Null), // passive
            Ev("t1", "nps_survey", 4.0, Some(10.0), Value::Null), // promoter
            Ev("t2", "nps_survey", 4.0, Some(2.0), Value::Null), // detractor
            Ev("t3", "nps_survey", 1.0, Some(10.0), Value::Null), // before exposure
        ],
    );
}

fn metric(def: Value) -> MetricDefinition {
    serde_json::from_value(def).expect("metric definition")
}

fn sums(
    conn: &mut DbConnection,
    def: &MetricDefinition,
    as_of: NaiveDateTime,
    pre: Option<f64>,
) -> Vec<ArmSums> {
    arm_sums(
        conn,
        &MetricQuery {
            experiment: "fx",
            phase: 1,
            metric: def,
            as_of,
            pre_period_secs: pre,
            slice: None,
            ingested_by_as_of: false,
        },
    )
    .expect("aggregation")
}

/// `(variant, n, Σx, Σx²)` per arm.
fn basic(rows: &[ArmSums]) -> Vec<(String, i64, f64, f64)> {
    rows.iter()
        .map(|r| {
            (
                r.variant.clone(),
                r.n,
                r.s_x.unwrap_or(f64::NAN),
                r.s_xx.unwrap_or(f64::NAN),
            )
        })
        .collect()
}

fn row(v: &str, n: i64, s: f64, ss: f64) -> (String, i64, f64, f64) {
    (v.to_owned(), n, s, ss)
}

async fn aggregation_matches_hand_computed_fixtures(backend: Backend) {
    let ctx = TestApp::new(backend);
    let mut conn = ctx.pool().conn().expect("conn");
    let conn: &mut DbConnection = &mut conn;
    fixture(conn);
    let as_of = at(240.0);

    // Conversion with a typed boolean filter and a 24 h window: c1 | t1, t3.
    let conversion = metric(json!({"type": "conversion", "event": "purchase",
        "filters": [{"property": "auto_topup", "op": "eq", "value": true}], "window_hours": 24}));
    assert_eq!(
        basic(&sums(conn, &conversion, as_of, None)),
        [row("control", 3, 1.0, 1.0), row("treatment", 3, 2.0, 2.0)]
    );
    // Without the window c2's purchase at 30 h counts too.
    let unwindowed = metric(json!({"type": "conversion", "event": "purchase",
        "filters": [{"property": "auto_topup", "op": "eq", "value": true}]}));
    assert_eq!(
        basic(&sums(conn, &unwindowed, as_of, None)),
        [row("control", 3, 2.0, 2.0), row("treatment", 3, 2.0, 2.0)]
    );
    // `neq`/`in`/numeric comparisons: t2's string "true" is not `true`.
    let neq = metric(json!({"type": "count", "event": "purchase",
        "filters": [{"property": "auto_topup", "op": "neq", "value": true}]}));
    assert_eq!(
        basic(&sums(conn, &neq, as_of, None)),
        [row("control", 3, 1.0, 1.0), row("treatment", 3, 2.0, 4.0)]
    );
    let within = metric(json!({"type": "count", "event": "purchase",
        "filters": [{"property": "auto_topup", "op": "in", "value": ["true", 1]}]}));
    assert_eq!(
        basic(&sums(conn, &within, as_of, None)),
        [row("control", 3, 0.0, 0.0), row("treatment", 3, 2.0, 4.0)]
    );
    let numeric = metric(json!({"type": "count", "event": "purchase",
        "filters": [{"property": "auto_topup", "op": "gte", "value": 1}]}));
    assert_eq!(
        basic(&sums(conn, &numeric, as_of, None)),
        [row("control", 3, 0.0, 0.0), row("treatment", 3, 1.0, 1.0)]
    );

    // Count: c 1,1,1 | t 1,2,1.
    let count = metric(json!({"type": "count", "event": "purchase"}));
    assert_eq!(
        basic(&sums(conn, &count, as_of, None)),
        [row("control", 3, 3.0, 3.0), row("treatment", 3, 4.0, 6.0)]
    );

    // Sum: c 10,7,3 | t 20,10,30 (c2's pre-period 5 and c3's late 100 excluded).
    let revenue = metric(json!({"type": "sum", "event": "purchase"}));
    assert_eq!(
        basic(&sums(conn, &revenue, as_of, None)),
        [
            row("control", 3, 20.0, 158.0),
            row("treatment", 3, 60.0, 1400.0)
        ]
    );
    // CUPED: pre-period values c 0,5,0 | t 0,0,0 (t3's NPS is another event).
    let with_pre = sums(conn, &revenue, as_of, Some(14.0 * 86_400.0));
    assert_eq!(
        with_pre
            .iter()
            .map(|r| (r.s_p, r.s_pp, r.s_xp))
            .collect::<Vec<_>>(),
        [
            (Some(5.0), Some(25.0), Some(35.0)),
            (Some(0.0), Some(0.0), Some(0.0))
        ]
    );
    // A one-hour pre-period misses c2's purchase 1 h before its exposure? No:
    // it is exactly 1 h before, inside [−1 h, 0).
    let short_pre = sums(conn, &revenue, as_of, Some(3_600.0));
    assert_eq!(short_pre[0].s_p, Some(5.0));
    let shorter_pre = sums(conn, &revenue, as_of, Some(1_800.0));
    assert_eq!(shorter_pre[0].s_p, Some(0.0));

    // Winsorized at the 50th percentile of all units' values (3,7,10,10,20,30 → 10).
    let capped = metric(json!({"type": "sum", "event": "purchase", "winsorize_percentile": 50}));
    assert_eq!(
        basic(&sums(conn, &capped, as_of, None)),
        [
            row("control", 3, 20.0, 158.0),
            row("treatment", 3, 30.0, 300.0)
        ]
    );

    // Mean per unit: c 10,7,3 | t 20,5,30.
    let mean = metric(json!({"type": "mean", "event": "purchase"}));
    assert_eq!(
        basic(&sums(conn, &mean, as_of, None)),
        [
            row("control", 3, 20.0, 158.0),
            row("treatment", 3, 55.0, 1325.0)
        ]
    );

    // Ratio Stars per session: m c 10,7,3 / d 2,1,0 | m t 20,10,30 / d 1,2,3.
    let ratio = metric(json!({"type": "ratio", "numerator": {"event": "purchase"},
        "denominator": {"event": "session"}}));
    let r = sums(conn, &ratio, as_of, None);
    let ratio_sums: Vec<_> = r
        .iter()
        .map(|r| (r.n, r.s_x, r.s_xx, r.s_d, r.s_dd, r.s_xd))
        .collect();
    assert_eq!(
        ratio_sums,
        [
            (3, Some(20.0), Some(158.0), Some(3.0), Some(5.0), Some(27.0)),
            (
                3,
                Some(60.0),
                Some(1400.0),
                Some(6.0),
                Some(14.0),
                Some(130.0)
            ),
        ]
    );

    // Retention day 1 (24 h ≤ t − exposure < 48 h): c1 | t1, t3.
    let retention = metric(json!({"type": "retention", "events": ["session"],
        "from_day": 1, "to_day": 2}));
    assert_eq!(
        basic(&sums(conn, &retention, as_of, None)),
        [row("control", 3, 1.0, 1.0), row("treatment", 3, 2.0, 2.0)]
    );
    // At 49.5 h only units exposed by 1.5 h have a finished window: c1, t1.
    assert_eq!(
        basic(&sums(conn, &retention, at(49.5), None)),
        [row("control", 1, 1.0, 1.0), row("treatment", 1, 1.0, 1.0)]
    );

    // NPS from each respondent's latest post-exposure answer: c +100, 0 | t +100, −100.
    let nps = metric(json!({"type": "nps", "event": "nps_survey"}));
    assert_eq!(
        basic(&sums(conn, &nps, as_of, None)),
        [
            row("control", 2, 100.0, 10_000.0),
            row("treatment", 2, 0.0, 20_000.0)
        ]
    );

    // Exposures after the cut-off do not count.
    assert_eq!(
        basic(&sums(conn, &count, at(2.5), None)),
        [row("control", 2, 1.0, 1.0), row("treatment", 2, 0.0, 0.0)]
    );
}

/// Every metric kind over the fixture, with whether it takes a CUPED covariate.
fn fixture_metrics() -> Vec<(Value, bool)> {
    vec![
        (
            json!({"type": "conversion", "event": "purchase", "window_hours": 24,
            "filters": [{"property": "auto_topup", "op": "eq", "value": true}]}),
            false,
        ),
        (json!({"type": "count", "event": "purchase"}), true),
        (
            json!({"type": "count", "event": "purchase",
            "filters": [{"property": "auto_topup", "op": "in", "value": ["true", 1]}]}),
            false,
        ),
        (json!({"type": "sum", "event": "purchase"}), true),
        (json!({"type": "mean", "event": "purchase"}), false),
        (
            json!({"type": "ratio", "numerator": {"event": "purchase"},
            "denominator": {"event": "session"}}),
            true,
        ),
        (
            json!({"type": "retention", "events": ["session"], "from_day": 1, "to_day": 2}),
            false,
        ),
        (json!({"type": "nps", "event": "nps_survey"}), false),
    ]
}

/// The SQL aggregation agrees with the in-memory reference
/// (`verdict_testkit::reference`) on every fixture metric.
async fn aggregation_agrees_with_in_memory_reference(backend: Backend) {
    use verdict::metrics_catalog::{Direction, Metric};
    use verdict_testkit::reference::{arm_data, unit_values};
    let ctx = TestApp::new(backend);
    let mut conn = ctx.pool().conn().expect("conn");
    let conn: &mut DbConnection = &mut conn;
    fixture(conn);
    let as_of = at(240.0);
    let defs = fixture_metrics();
    let arms = ["control".to_owned(), "treatment".to_owned()];
    for (def, cuped) in defs {
        for pre_days in [None, Some(14u32)]
            .into_iter()
            .filter(|p| cuped || p.is_none())
        {
            let m = Metric {
                key: "m".into(),
                name: "m".into(),
                description: String::new(),
                direction: Direction::HigherIsBetter,
                definition: metric(def.clone()),
                data_source: None,
                created_at: t0(),
                updated_at: t0(),
            };
            let reference = arm_data(&unit_values(conn, "fx", 1, &m, as_of, pre_days), &arms);
            let rows = sums(
                conn,
                &m.definition,
                as_of,
                pre_days.map(|d| f64::from(d) * 86_400.0),
            );
            for (r, s) in reference.iter().zip(&rows) {
                let ctx = format!("{def} pre={pre_days:?}: {r:?} vs {s:?}");
                assert_eq!(r.n, s.n as f64, "{ctx}");
                let close = |a: Option<f64>, b: Option<f64>| {
                    (a.unwrap_or(0.0) - b.unwrap_or(0.0)).abs() < 1e-9
                };
                if r.numerator_sum.is_some() {
                    assert!(close(r.numerator_sum, s.s_x), "{ctx}");
                    assert!(close(r.numerator_sum_squares, s.s_xx), "{ctx}");
                    assert!(close(r.denominator_sum, s.s_d), "{ctx}");
                    assert!(close(r.denominator_sum_squares, s.s_dd), "{ctx}");
                    assert!(close(r.numerator_denominator_sum_product, s.s_xd), "{ctx}");
                    assert!(close(r.pre_numerator_sum, s.s_p), "{ctx}");
                    assert!(close(r.pre_denominator_sum, s.s_q), "{ctx}");
                    assert!(
                        close(r.numerator_pre_denominator_sum_product, s.s_xq),
                        "{ctx}"
                    );
                    assert!(
                        close(r.denominator_pre_numerator_sum_product, s.s_dp),
                        "{ctx}"
                    );
                } else {
                    assert!(close(r.sum, s.s_x), "{ctx}");
                    assert!(close(r.sum_squares, s.s_xx), "{ctx}");
                    assert!(close(r.pre_sum, s.s_p), "{ctx}");
                    assert!(close(r.post_pre_sum_product, s.s_xp), "{ctx}");
                }
            }
        }
    }
}

/// Stores `(unit, name, ts, value, properties)` through the ingestion path
/// (stamped now).
fn store(conn: &mut DbConnection, events: &[(&str, &str, NaiveDateTime, Option<f64>, Value)]) {
    let batch: Vec<NewEvent> = events
        .iter()
        .map(|(unit, name, ts, value, props)| NewEvent {
            event_id: uuid::Uuid::new_v4().to_string(),
            unit_id: (*unit).into(),
            name: (*name).into(),
            timestamp: *ts,
            value: *value,
            properties: (!props.is_null()).then(|| props.to_string()),
        })
        .collect();
    verdict::events::insert_batch(conn, &batch).expect("events");
}

/// Advances the stored values of `metrics` (`(key, definition, pre-period)`)
/// of experiment `fx`'s phase 1 and checks that each sums to what the direct
/// aggregation gives at the new watermark; returns the watermark and the sums.
fn advance_and_compare(
    conn: &mut DbConnection,
    metrics: &[(String, MetricDefinition, Option<f64>)],
) -> (NaiveDateTime, Vec<Vec<ArmSums>>) {
    advance_phase_and_compare(conn, 1, metrics)
}

/// [`advance_and_compare`] for `phase`.
fn advance_phase_and_compare(
    conn: &mut DbConnection,
    phase: u32,
    metrics: &[(String, MetricDefinition, Option<f64>)],
) -> (NaiveDateTime, Vec<Vec<ArmSums>>) {
    let stored: Vec<StateMetric<'_>> = metrics
        .iter()
        .map(|(key, definition, pre_period_secs)| StateMetric {
            key,
            definition,
            pre_period_secs: *pre_period_secs,
        })
        .collect();
    let read = ingest_clock::watermark(conn).expect("watermark");
    let watermark = conn
        .transaction(|conn| state::advance(conn, "fx", phase, &stored, read))
        .expect("advance");
    assert_eq!(watermark, read);
    let mut all = Vec::new();
    for (key, definition, pre_period_secs) in metrics {
        let q = MetricQuery {
            experiment: "fx",
            phase,
            metric: definition,
            as_of: watermark,
            pre_period_secs: *pre_period_secs,
            slice: None,
            ingested_by_as_of: false,
        };
        let direct = arm_sums(conn, &q).expect("direct");
        let from_stored = stored_arm_sums(conn, &q, key).expect("stored");
        let ctx = format!("{key}: direct {direct:?} vs stored {from_stored:?}");
        assert_eq!(direct.len(), from_stored.len(), "{ctx}");
        for (a, b) in direct.iter().zip(&from_stored) {
            assert_eq!((&a.variant, a.n), (&b.variant, b.n), "{ctx}");
            let fields = |r: &ArmSums| {
                [
                    r.s_x, r.s_xx, r.s_d, r.s_dd, r.s_xd, r.s_p, r.s_pp, r.s_xp, r.s_q, r.s_qq,
                    r.s_pq, r.s_xq, r.s_dp, r.s_dq,
                ]
            };
            // A sum of no values reads as 0 either way.
            for (x, y) in fields(a).into_iter().zip(fields(b)) {
                let (x, y) = (x.unwrap_or(0.0), y.unwrap_or(0.0));
                assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{ctx}");
            }
        }
        all.push(direct);
    }
    (watermark, all)
}

fn stored_rows(conn: &mut DbConnection, metric: &str) -> i64 {
    use diesel::sql_types::{BigInt, Text};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let sql = match conn {
        DbConnection::Postgresql(_) => {
            "SELECT COUNT(*) AS n FROM metric_unit_values WHERE metric_key = $1"
        }
        DbConnection::Sqlite(_) => {
            "SELECT COUNT(*) AS n FROM metric_unit_values WHERE metric_key = ?1"
        }
    };
    let rows: Vec<Count> = diesel::sql_query(sql)
        .bind::<Text, _>(metric)
        .load(conn)
        .expect("count");
    rows[0].n
}

fn arm<'a>(rows: &'a [ArmSums], variant: &str) -> &'a ArmSums {
    rows.iter().find(|r| r.variant == variant).expect("arm")
}

/// Stored per-unit values, advanced incrementally through late events, a unit
/// exposed after its events were stored, an event dated past the watermark and
/// metric changes, always sum to what the direct aggregation gives.
async fn stored_values_track_direct_aggregation(backend: Backend) {
    let ctx = TestApp::new(backend);
    let mut conn = ctx.pool().conn().expect("conn");
    let conn: &mut DbConnection = &mut conn;
    fixture(conn);
    let mut metrics: Vec<(String, MetricDefinition, Option<f64>)> = Vec::new();
    for (i, (def, cuped)) in fixture_metrics().into_iter().enumerate() {
        metrics.push((format!("m{i}"), metric(def.clone()), None));
        if cuped {
            metrics.push((format!("m{i}_pre"), metric(def), Some(14.0 * 86_400.0)));
        }
    }
    // Winsorized at a percentile that falls on a unit (6 × 0.5 = 3), between
    // units, and at the top.
    for (i, def) in [
        json!({"type": "sum", "event": "purchase", "winsorize_percentile": 50}),
        json!({"type": "mean", "event": "purchase", "winsorize_percentile": 75}),
        json!({"type": "sum", "event": "purchase", "winsorize_percentile": 99}),
    ]
    .into_iter()
    .enumerate()
    {
        metrics.push((format!("w{i}"), metric(def.clone()), None));
        metrics.push((format!("w{i}_pre"), metric(def), Some(14.0 * 86_400.0)));
    }
    let count = metrics
        .iter()
        .position(|(_, d, p)| {
            p.is_none() && *d == metric(json!({"type": "count", "event": "purchase"}))
        })
        .expect("count metric");
    let (first, before) = advance_and_compare(conn, &metrics);
    assert_eq!(
        stored_rows(conn, "m1"),
        6,
        "one stored row per exposed unit"
    );

    // Late data for known units, and the history of a unit not exposed yet.
    let yes = json!({"auto_topup": true});
    store(
        conn,
        &[
            ("c1", "purchase", at(6.0), Some(4.0), yes.clone()),
            ("t2", "session", at(7.0), None, Value::Null),
            ("c2", "nps_survey", at(9.0), Some(10.0), Value::Null),
            ("n1", "purchase", at(0.5), Some(8.0), yes.clone()),
            ("n1", "session", at(0.7), None, Value::Null),
            ("n1", "purchase", at(3.0), Some(2.0), yes.clone()),
        ],
    );
    let (second, after_late) = advance_and_compare(conn, &metrics);
    assert!(second > first);
    assert_eq!(
        arm(&after_late[count], "control").s_x,
        arm(&before[count], "control").s_x.map(|s| s + 1.0),
        "the late purchase counts"
    );

    // n1 is exposed after its events were stored: its whole history counts.
    expose(conn, "fx", &[("n1", "treatment", 2.0)]);
    let due = chrono::Utc::now().naive_utc() + TimeDelta::milliseconds(1500);
    store(conn, &[("t1", "purchase", due, Some(50.0), yes)]);
    let (third, with_n1) = advance_and_compare(conn, &metrics);
    assert_eq!(arm(&with_n1[count], "treatment").n, 4);
    assert_eq!(stored_rows(conn, "m1"), 7);

    // The event dated past that watermark counts once the clock passes it.
    let wait = (due - chrono::Utc::now().naive_utc()).num_milliseconds() + 50;
    std::thread::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0)));
    let (fourth, after_due) = advance_and_compare(conn, &metrics);
    assert!(third < due && due <= fourth, "{third} < {due} <= {fourth}");
    assert_eq!(
        arm(&after_due[count], "treatment").s_x,
        arm(&with_n1[count], "treatment").s_x.map(|s| s + 1.0)
    );

    // A changed definition is recomputed from scratch; a dropped metric's
    // values are removed.
    metrics[count].1 = metric(json!({"type": "count", "event": "session"}));
    let removed = metrics.pop().expect("a metric").0;
    advance_and_compare(conn, &metrics);
    assert_eq!(stored_rows(conn, &removed), 0);
}

/// Rows per phase of `fx` in each table of stored state.
fn state_rows_by_phase(conn: &mut DbConnection) -> Vec<(&'static str, i32, i64)> {
    use diesel::sql_types::{BigInt, Integer};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = Integer)]
        phase: i32,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let tables = [
        "result_state",
        "result_state_metrics",
        "metric_unit_values",
        "metric_arm_sums",
    ];
    let mut out = Vec::new();
    for table in tables {
        let sql = format!(
            "SELECT phase, COUNT(*) AS n FROM {table} WHERE experiment_key = 'fx' \
             GROUP BY phase ORDER BY phase"
        );
        let counts: Vec<Count> = diesel::sql_query(sql).load(conn).expect("count");
        out.extend(counts.into_iter().map(|c| (table, c.phase, c.n)));
    }
    out
}

async fn stored_values_of_earlier_phases_are_dropped(backend: Backend) {
    let ctx = TestApp::new(backend);
    let mut conn = ctx.pool().conn().expect("conn");
    let conn: &mut DbConnection = &mut conn;
    fixture(conn);
    let metrics: Vec<(String, MetricDefinition, Option<f64>)> = vec![
        (
            "sum".into(),
            metric(json!({"type": "sum", "event": "purchase"})),
            Some(14.0 * 86_400.0),
        ),
        (
            "p75".into(),
            metric(json!({"type": "sum", "event": "purchase", "winsorize_percentile": 75})),
            None,
        ),
    ];
    advance_and_compare(conn, &metrics);
    let phases = |rows: Vec<(&'static str, i32, i64)>| -> Vec<(&str, i32)> {
        rows.into_iter()
            .map(|(table, phase, _)| (table, phase))
            .collect()
    };
    // The sum keeps arm sums; the winsorized metric does not.
    let every_table = |phase| {
        vec![
            ("result_state", phase),
            ("result_state_metrics", phase),
            ("metric_unit_values", phase),
            ("metric_arm_sums", phase),
        ]
    };
    assert_eq!(phases(state_rows_by_phase(conn)), every_table(1));

    // A new phase re-exposes units; its first advance drops phase 1's state.
    expose_in_phase(
        conn,
        "fx",
        2,
        &[("c1", "treatment", 40.0), ("t1", "control", 41.0)],
    );
    store(
        conn,
        &[("c1", "purchase", at(42.0), Some(5.0), Value::Null)],
    );
    let (_, sums) = advance_phase_and_compare(conn, 2, &metrics);
    assert_eq!(phases(state_rows_by_phase(conn)), every_table(2));
    assert_eq!(
        sums[0].iter().map(|a| a.n).sum::<i64>(),
        2,
        "phase 2 counts its own exposures only"
    );
}

/// A watermark waits for ingestion transactions that stamped their rows before
/// it: when it is returned, such a row is committed and visible.
async fn watermark_waits_for_inflight_ingestion(backend: Backend) {
    let ctx = TestApp::new(backend);
    let pool = ctx.pool().clone();
    let (stamped, was_stamped) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        // Stamps and inserts an event, then holds the transaction open.
        macro_rules! hold {
            ($conn:expr, $stamp:expr) => {{
                let at = $stamp;
                diesel::insert_into(schema::events::table)
                    .values((
                        schema::events::event_id.eq("inflight"),
                        schema::events::unit_id.eq("c1"),
                        schema::events::name.eq("purchase"),
                        schema::events::ts.eq(t0()),
                        schema::events::received_at.eq(at),
                    ))
                    .execute($conn)?;
                stamped.send(at).expect("send");
                std::thread::sleep(Duration::from_millis(300));
                Ok::<_, diesel::result::Error>(())
            }};
        }
        let mut conn = pool.conn().expect("conn");
        match &mut *conn {
            DbConnection::Postgresql(pg) => {
                pg.transaction(|pg| hold!(pg, ingest_clock::stamp_pg(pg)?))
            }
            DbConnection::Sqlite(lite) => {
                lite.immediate_transaction(|lite| hold!(lite, ingest_clock::stamp_sqlite()))
            }
        }
        .expect("ingestion");
    });
    let stamp = was_stamped.recv().expect("stamped");
    let mut conn = ctx.pool().conn().expect("conn");
    let conn: &mut DbConnection = &mut conn;
    let watermark = ingest_clock::watermark(conn).expect("watermark");
    assert!(stamp < watermark);
    let committed: i64 = schema::events::table
        .filter(schema::events::received_at.lt(watermark))
        .count()
        .get_result(conn)
        .expect("count");
    assert_eq!(
        committed, 1,
        "the advance returned before a row stamped earlier committed"
    );
    holder.join().expect("holder");
}

// ---- the endpoint ----------------------------------------------------------

macro_rules! create_metric {
    ($app:expr, $ctx:expr, $body:expr) => {{
        let (status, created) = call!($app, $ctx, Role::Pm, post, "/api/v1/metrics", $body);
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }};
}

/// Marks draft `key` running in phase 1 since `started` with 50/50 arms.
fn start(conn: &mut DbConnection, key: &str, started: NaiveDateTime) {
    diesel::update(schema::experiments::table.find(key))
        .set((
            schema::experiments::status.eq("running"),
            schema::experiments::current_phase.eq(1),
            schema::experiments::started_at.eq(Some(started)),
        ))
        .execute(conn)
        .expect("start");
    diesel::insert_into(schema::experiment_phases::table)
        .values((
            schema::experiment_phases::experiment_key.eq(key),
            schema::experiment_phases::phase.eq(1),
            schema::experiment_phases::salt.eq(format!("{key}:1")),
            schema::experiment_phases::allocation.eq(100.0),
            schema::experiment_phases::arms.eq(
                json!([{"variant": "control", "weight": 50.0}, {"variant": "treatment", "weight": 50.0}])
                    .to_string(),
            ),
            schema::experiment_phases::audience.eq(json!({"conditions": [], "segments": []}).to_string()),
            schema::experiment_phases::reason.eq("launch"),
            schema::experiment_phases::started_by.eq("test"),
            schema::experiment_phases::started_at.eq(started),
        ))
        .execute(conn)
        .expect("phase");
}

/// `n_control`/`n_treatment` units exposed over the first day; a share of each
/// arm converts (one `purchase` worth 10) and a share has a `refund`.
fn population(conn: &mut DbConnection, key: &str, arms: [(&str, usize, f64, f64); 2]) {
    let mut units = Vec::new();
    let mut events = Vec::new();
    for (variant, n, conversion, refunds) in arms {
        for i in 0..n {
            let unit = format!("{key}-{variant}-{i}");
            let h = (i % 24) as f64;
            units.push((unit.clone(), variant, h));
            if (i as f64) < conversion * n as f64 {
                events.push((
                    unit.clone(),
                    "purchase",
                    h + 1.0,
                    Some(10.0 + (i % 7) as f64),
                ));
            }
            if (i as f64) < refunds * n as f64 {
                events.push((unit.clone(), "refund", h + 2.0, None));
            }
        }
    }
    let records: Vec<ExposureRecord> = units
        .iter()
        .map(|(unit, variant, h)| ExposureRecord {
            experiment_key: key.into(),
            phase: 1,
            unit_id: unit.clone(),
            variant: (*variant).into(),
            first_seen: at(*h),
            dimensions: None,
        })
        .collect();
    insert_batch(conn, &records).expect("exposures");
    let evs: Vec<Ev<'_>> = events
        .iter()
        .map(|(u, name, h, v)| Ev(u, name, *h, *v, Value::Null))
        .collect();
    ingest(conn, &evs);
}

fn experiment(key: &str, guardrail: &str, margin: f64) -> Value {
    json!({
        "key": key,
        "name": key,
        "hypothesis": "the treatment converts better",
        "flag": "checkout",
        "arms": [{"variant": "control", "weight": 50}, {"variant": "treatment", "weight": 50}],
        "primary_metric": "converted",
        "secondary_metrics": ["stars"],
        "guardrails": [{"metric": guardrail, "max_degradation": margin, "margin_type": "absolute"}],
        // Planned for about 200 units per arm: reached by the 600 each arm gets,
        // so the fixed-horizon engine's primary metric may decide.
        "minimum_detectable_effect": 1.0,
        "target_decision_date": "2027-01-01T00:00:00Z"
    })
}

async fn results_endpoint_recommends(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    for m in [
        json!({"key": "converted", "name": "Converted", "direction": "higher_is_better",
            "definition": {"type": "conversion", "event": "purchase"}}),
        json!({"key": "stars", "name": "Stars", "direction": "higher_is_better",
            "definition": {"type": "sum", "event": "purchase"}}),
        json!({"key": "refunds", "name": "Refunds", "direction": "lower_is_better",
            "definition": {"type": "conversion", "event": "refund"}}),
    ] {
        create_metric!(app, ctx, m);
    }
    for (key, guardrail, margin) in [
        ("ship", "stars", 5.0),
        ("srm", "stars", 5.0),
        ("rollback", "refunds", 0.01),
    ] {
        let (status, body) = call!(
            app,
            ctx,
            Role::Pm,
            post,
            "/api/v1/experiments",
            experiment(key, guardrail, margin)
        );
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // Draft: no results yet.
    let (status, body) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments/ship/results"
    );
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    {
        let mut conn = ctx.pool().conn().expect("conn");
        let conn: &mut DbConnection = &mut conn;
        for key in ["ship", "srm", "rollback"] {
            start(conn, key, t0());
        }
        population(
            conn,
            "ship",
            [("control", 600, 0.10, 0.05), ("treatment", 600, 0.30, 0.05)],
        );
        population(
            conn,
            "srm",
            [("control", 600, 0.10, 0.05), ("treatment", 480, 0.30, 0.05)],
        );
        population(
            conn,
            "rollback",
            [("control", 600, 0.10, 0.02), ("treatment", 600, 0.30, 0.40)],
        );
    }

    let (status, body) = call!(app, ctx, Role::Sdk, get, "/api/v1/experiments/ship/results");
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments/nope/results"
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments/ship/results?metric_correction=bonferroni"
    );
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    let (status, ship) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments/ship/results"
    );
    assert_eq!(status, StatusCode::OK, "{ship}");
    assert_eq!(ship["source"], "manual");
    assert_eq!(ship["srm"]["trustworthy"], true, "{ship}");
    assert_eq!(ship["arms"][0]["units"], 600);
    assert_eq!(ship["arms"][1]["units"], 600);
    let primary = &ship["metrics"][0];
    assert_eq!(primary["metric"], "converted");
    assert_eq!(primary["role"], "primary");
    assert_eq!(primary["arms"][0]["mean"], 0.1);
    assert_eq!(primary["arms"][1]["mean"], 0.3);
    let c = &primary["comparisons"][0];
    assert!(
        (c["estimate"].as_f64().expect("estimate") - 2.0).abs() < 1e-9,
        "{c}"
    );
    assert!(c["p_value"].as_f64().expect("p") < 1e-4, "{c}");
    assert!(c["p_value_adjusted"].as_f64() >= c["p_value"].as_f64());
    assert_eq!(c["improved"], true);
    assert_eq!(ship["metrics"][1]["metric"], "stars");
    assert_eq!(ship["metrics"].as_array().map(Vec::len), Some(2));
    assert_eq!(ship["guardrails"][0]["metric"], "stars");
    assert_eq!(ship["guardrails"][0]["verdict"], "pass", "{ship}");
    assert_eq!(ship["recommendation"]["action"], "ship", "{ship}");
    assert_eq!(ship["recommendation"]["variant"], "treatment");
    let forecast = &ship["forecast"];
    assert!(forecast["n_per_arm"].as_u64().expect("n") > 0, "{forecast}");
    assert!(forecast["predicted_date"].is_string());

    let (_, srm) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments/srm/results"
    );
    assert_eq!(srm["srm"]["mismatch"], true, "{srm}");
    assert_eq!(srm["srm"]["trustworthy"], false);
    assert_eq!(srm["recommendation"]["action"], "inconclusive");
    assert!(
        srm["recommendation"]["reasons"][0]
            .as_str()
            .expect("reason")
            .contains("sample ratio mismatch")
    );

    let (_, rollback) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments/rollback/results"
    );
    assert_eq!(rollback["guardrails"][0]["verdict"], "fail", "{rollback}");
    assert_eq!(rollback["metrics"][2]["metric"], "refunds");
    assert_eq!(rollback["metrics"][2]["role"], "guardrail");
    assert_eq!(rollback["recommendation"]["action"], "roll_back");
    assert_eq!(rollback["recommendation"]["variant"], "treatment");

    // Snapshots: served until refreshed; a refresh sees new data.
    let (_, again) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments/ship/results"
    );
    assert_eq!(again["computed_at"], ship["computed_at"]);
    {
        let mut conn = ctx.pool().conn().expect("conn");
        let conn: &mut DbConnection = &mut conn;
        expose(conn, "ship", &[("late", "control", 30.0)]);
    }
    let (_, stale) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments/ship/results"
    );
    assert_eq!(stale["arms"][0]["units"], 600);
    let (_, fresh) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments/ship/results?refresh=true&metric_correction=none"
    );
    assert_eq!(fresh["arms"][0]["units"], 601);
    assert_eq!(fresh["metric_correction"], "none");
    let c = &fresh["metrics"][1]["comparisons"][0];
    assert_eq!(c["p_value_adjusted"], c["p_value_holm"]);
}

async fn scheduler_snapshots_once_per_slot(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    create_metric!(
        app,
        ctx,
        json!({"key": "converted", "name": "Converted", "direction": "higher_is_better",
            "definition": {"type": "conversion", "event": "purchase"}})
    );
    create_metric!(
        app,
        ctx,
        json!({"key": "stars", "name": "Stars", "direction": "higher_is_better",
            "definition": {"type": "sum", "event": "purchase"}})
    );
    let (status, body) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments",
        experiment("daily", "stars", 5.0)
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments",
        experiment("skewed", "stars", 5.0)
    );
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let now = at(50.0);
    let day = Duration::from_secs(86_400);
    {
        let mut conn = ctx.pool().conn().expect("conn");
        let conn: &mut DbConnection = &mut conn;
        start(conn, "daily", t0());
        population(
            conn,
            "daily",
            [("control", 100, 0.1, 0.0), ("treatment", 100, 0.2, 0.0)],
        );
        start(conn, "skewed", t0());
        population(
            conn,
            "skewed",
            [("control", 100, 0.1, 0.0), ("treatment", 40, 0.2, 0.0)],
        );
        // Two replicas' passes for the same slot: only the first computes.
        let mut first = scheduled_pass(conn, now, day, None).expect("pass");
        first.computed.sort();
        assert_eq!(first.computed, ["daily", "skewed"]);
        let second = scheduled_pass(conn, now + TimeDelta::hours(3), day, None).expect("pass");
        assert_eq!(second.skipped.len(), 2);
        assert!(second.computed.is_empty());
        let next_day = scheduled_pass(conn, now + TimeDelta::days(1), day, None).expect("pass");
        assert_eq!(next_day.computed.len(), 2);
        // Each scheduled snapshot of the mismatched experiment notifies once.
        let notified: Vec<String> = schema::webhook_deliveries::table
            .select(schema::webhook_deliveries::event)
            .load(conn)
            .expect("outbox");
        assert_eq!(notified, ["srm.detected", "srm.detected"]);
        let stored: i64 = schema::result_snapshots::table
            .filter(schema::result_snapshots::experiment_key.eq("daily"))
            .count()
            .get_result(conn)
            .expect("count");
        assert_eq!(stored, 2);
    }
    // The endpoint serves the latest scheduled snapshot: data up to midnight (T+1).
    let (status, body) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments/daily/results"
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["source"], "scheduled");
    assert_eq!(body["as_of"], "2026-11-04T00:00:00Z");
    assert_eq!(body["arms"][0]["units"], 100);
    // Past the target decision date (2027-01-01 in the fixture), each pass also reminds.
    let mut conn = ctx.pool().conn().expect("conn");
    let conn: &mut DbConnection = &mut conn;
    let deadline_events = |conn: &mut DbConnection| -> Vec<String> {
        schema::webhook_deliveries::table
            .filter(schema::webhook_deliveries::event.eq("decision.deadline_reached"))
            .select(schema::webhook_deliveries::payload)
            .load(conn)
            .expect("outbox")
    };
    let target = NaiveDate::from_ymd_opt(2027, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date");
    scheduled_pass(conn, target - TimeDelta::hours(1), day, None).expect("pass");
    assert!(deadline_events(conn).is_empty(), "not yet due");
    scheduled_pass(conn, target + TimeDelta::hours(25), day, None).expect("pass");
    let due = deadline_events(conn);
    assert_eq!(due.len(), 2, "one reminder per overdue experiment");
    assert!(
        due.iter().all(|p| p.contains("\"days_overdue\":1.0")),
        "{due:?}"
    );
}

/// The demo data (`verdict seed --demo --simulate-users`) shows results with
/// SRM, guardrails and a recommendation for each of its experiments.
async fn demo_experiments_have_results(backend: Backend) {
    let ctx = TestApp::new(backend);
    {
        let mut conn = ctx.pool().conn().expect("conn");
        let conn: &mut DbConnection = &mut conn;
        verdict::seed::seed_demo(conn, chrono::Utc::now().naive_utc()).expect("seed");
        verdict::seed::simulate_users(conn, 300, 7, chrono::Utc::now().naive_utc())
            .expect("simulate");
    }
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    for key in [
        "cta_copy",
        "digest_layout",
        "import_hint",
        "vip_paywall_copy",
    ] {
        let (status, body) = call!(
            app,
            ctx,
            Role::Analyst,
            get,
            format!("/api/v1/experiments/{key}/results")
        );
        assert_eq!(status, StatusCode::OK, "{key}: {body}");
        assert!(body["srm"]["p_value"].is_number(), "{key}: {body}");
        assert!(
            !body["guardrails"]
                .as_array()
                .expect("guardrails")
                .is_empty(),
            "{key}: {body}"
        );
        assert!(
            body["guardrails"]
                .as_array()
                .expect("guardrails")
                .iter()
                .all(|g| g["verdict"].is_string() || g["error"].is_string()),
            "{key}: {body}"
        );
        let action = body["recommendation"]["action"].as_str().expect("action");
        assert!(
            ["ship", "roll_back", "keep_running", "inconclusive"].contains(&action),
            "{key}: {body}"
        );
        assert!(
            !body["recommendation"]["reasons"]
                .as_array()
                .expect("reasons")
                .is_empty()
        );
        let primary = &body["metrics"][0];
        assert_eq!(primary["role"], "primary", "{key}: {body}");
        assert!(
            primary["arms"][0]["units"].as_u64() > Some(0),
            "{key}: {body}"
        );
    }
}

backend_tests!(
    demo_experiments_have_results,
    aggregation_matches_hand_computed_fixtures,
    aggregation_agrees_with_in_memory_reference,
    stored_values_track_direct_aggregation,
    stored_values_of_earlier_phases_are_dropped,
    watermark_waits_for_inflight_ingestion,
    results_endpoint_recommends,
    scheduler_snapshots_once_per_slot,
);
