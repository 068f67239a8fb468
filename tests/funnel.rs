//! Funnel metrics: per-unit step times, on the direct and the incremental
//! path of both backends, against a hand computation and the in-memory
//! reference.

mod common;

use chrono::{NaiveDateTime, TimeDelta, Utc};
use common::{Backend, TestApp};
use diesel::Connection;
use serde_json::{Value, json};
use verdict::db::{DbConnection, ingest_clock};
use verdict::events::NewEvent;
use verdict::exposures::{ExposureRecord, insert_batch};
use verdict::metrics_catalog::{Direction, Metric, MetricDefinition};
use verdict::results::funnel::StepCount;
use verdict::results::sql::MetricQuery;
use verdict::results::state::{self, StateMetric};
use verdict::results::{funnel_counts, stored_funnel_counts};
use verdict_testkit::backend_tests;
use verdict_testkit::reference::funnel_units;

/// Step A, then B with `ok = true`, then C, within 10 hours of exposure.
fn funnel() -> MetricDefinition {
    serde_json::from_value(json!({"type": "funnel", "window_hours": 10, "steps": [
        {"event": "a"},
        {"event": "b", "filters": [{"property": "ok", "op": "eq", "value": true}]},
        {"event": "c"}
    ]}))
    .expect("funnel")
}

fn at(base: NaiveDateTime, hours: f64) -> NaiveDateTime {
    base + TimeDelta::milliseconds((hours * 3_600_000.0) as i64)
}

fn events(conn: &mut DbConnection, base: NaiveDateTime, list: &[(&str, &str, f64, Value)]) {
    let batch: Vec<NewEvent> = list
        .iter()
        .map(|(unit, name, h, props)| NewEvent {
            event_id: uuid::Uuid::new_v4().to_string(),
            unit_id: (*unit).into(),
            name: (*name).into(),
            timestamp: at(base, *h),
            value: None,
            properties: (!props.is_null()).then(|| props.to_string()),
        })
        .collect();
    verdict::events::insert_batch(conn, &batch).expect("events");
}

/// Units per arm that reached at least each step, from `(variant, steps, n)` rows.
fn per_step(rows: &[StepCount], variant: &str, steps: usize) -> Vec<i64> {
    (0..=steps)
        .map(|j| {
            rows.iter()
                .filter(|r| r.variant == variant && r.steps as usize >= j)
                .map(|r| r.n)
                .sum()
        })
        .collect()
}

fn reference_per_step(units: &[(String, String, usize)], variant: &str, steps: usize) -> Vec<i64> {
    (0..=steps)
        .map(|j| {
            units
                .iter()
                .filter(|(_, v, s)| v == variant && *s >= j)
                .count() as i64
        })
        .collect()
}

async fn funnel_steps_follow_first_exposure(backend: Backend) {
    let ctx = TestApp::new(backend);
    let mut conn = ctx.pool().conn().expect("conn");
    let conn: &mut DbConnection = &mut conn;
    let base = (Utc::now() - TimeDelta::days(2)).naive_utc();
    let exposures: Vec<ExposureRecord> = [
        ("u1", "control", 1.0),
        ("u2", "control", 1.0),
        ("u3", "control", 1.0),
        ("u4", "treatment", 2.0),
        ("u5", "treatment", 2.0),
        ("u6", "treatment", 2.0),
        ("u7", "treatment", 2.0),
    ]
    .into_iter()
    .map(|(unit, variant, h)| ExposureRecord {
        experiment_key: "fx".into(),
        phase: 1,
        unit_id: unit.into(),
        variant: variant.into(),
        first_seen: at(base, h),
        dimensions: None,
    })
    .collect();
    insert_batch(conn, &exposures).expect("exposures");
    let ok = json!({"ok": true});
    let null = Value::Null;
    events(
        conn,
        base,
        &[
            // u1: every step in order → 3
            ("u1", "a", 2.0, null.clone()),
            ("u1", "b", 3.0, ok.clone()),
            ("u1", "c", 4.0, null.clone()),
            // u2: an A before exposure does not count; B ties A; C after the window → 2
            ("u2", "a", 0.5, null.clone()),
            ("u2", "a", 2.0, null.clone()),
            ("u2", "b", 2.0, ok.clone()),
            ("u2", "c", 12.0, null.clone()),
            // u3: B before A (out of order) → 1
            ("u3", "b", 2.0, ok.clone()),
            ("u3", "a", 3.0, null.clone()),
            ("u3", "c", 4.0, null.clone()),
            // u4: A at the exposure instant; B failing its filter, then B and C tied → 3
            ("u4", "a", 2.0, null.clone()),
            ("u4", "b", 3.0, json!({"ok": false})),
            ("u4", "b", 5.0, ok.clone()),
            ("u4", "c", 5.0, null.clone()),
            // u6: C first (ignored), then A, then B and C exactly at the window's end → 3
            ("u6", "c", 3.0, null.clone()),
            ("u6", "a", 4.0, null.clone()),
            ("u6", "b", 12.0, ok.clone()),
            ("u6", "c", 12.0, null.clone()),
            // u7: B after the window → 1
            ("u7", "a", 11.5, null.clone()),
            ("u7", "b", 12.5, ok.clone()),
            // never exposed
            ("x9", "a", 2.0, null.clone()),
            ("x9", "b", 3.0, ok.clone()),
            ("x9", "c", 4.0, null.clone()),
        ],
    );
    let definition = funnel();
    let metric = Metric {
        key: "f".into(),
        name: "f".into(),
        description: String::new(),
        direction: Direction::HigherIsBetter,
        definition: definition.clone(),
        data_source: None,
        created_at: base,
        updated_at: base,
    };
    let stored = [StateMetric {
        key: "f",
        definition: &definition,
        pre_period_secs: None,
    }];
    // Hand computation above: (steps reached ≥ 0, 1, 2, 3) per arm.
    let expected = [
        ("control", vec![3, 3, 2, 1]),
        ("treatment", vec![4, 3, 2, 2]),
    ];
    let check = |conn: &mut DbConnection, expected: &[(&str, Vec<i64>)]| {
        let watermark = ingest_clock::watermark(conn).expect("watermark");
        conn.transaction(|conn| state::advance(conn, "fx", 1, &stored, watermark))
            .expect("advance");
        let q = MetricQuery {
            experiment: "fx",
            phase: 1,
            metric: &definition,
            as_of: watermark,
            pre_period_secs: None,
            slice: None,
            ingested_by_as_of: false,
        };
        let direct = funnel_counts(conn, &q).expect("direct");
        let incremental = stored_funnel_counts(conn, &q, "f").expect("stored");
        let reference = funnel_units(conn, "fx", 1, &metric, watermark);
        for (variant, want) in expected {
            assert_eq!(&per_step(&direct, variant, 3), want, "direct {variant}");
            assert_eq!(
                &per_step(&incremental, variant, 3),
                want,
                "stored {variant}"
            );
            assert_eq!(
                &reference_per_step(&reference, variant, 3),
                want,
                "reference {variant}"
            );
        }
    };
    check(conn, &expected);

    // New events: u5 reaches two steps; u3's late B (after its A) takes it
    // to two as well, and its earlier C (at 4 h, before that B) does not count.
    events(
        conn,
        base,
        &[
            ("u5", "a", 3.0, null.clone()),
            ("u5", "b", 4.0, ok.clone()),
            ("u3", "b", 5.0, ok),
        ],
    );
    check(
        conn,
        &[
            ("control", vec![3, 3, 3, 1]),
            ("treatment", vec![4, 4, 3, 2]),
        ],
    );
}

backend_tests!(funnel_steps_follow_first_exposure);
