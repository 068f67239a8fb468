//! Revenue net of refunds on both paths, results as of a past instant that
//! reproduce a decision's frozen copy, and the demo's bot funnel in results.

mod common;

use actix_web::http::StatusCode;
use actix_web::test;
use chrono::{NaiveDateTime, TimeDelta, Utc};
use common::{Backend, TestApp};
use diesel::Connection;
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict::db::{DbConnection, ingest_clock, schema};
use verdict::events::NewEvent;
use verdict::exposures::{ExposureRecord, insert_batch};
use verdict::metrics_catalog::MetricDefinition;
use verdict::results::sql::MetricQuery;
use verdict::results::state::{self, StateMetric};
use verdict::results::{arm_sums, stored_arm_sums};
use verdict_testkit::{backend_tests, call};

fn at(base: NaiveDateTime, hours: f64) -> NaiveDateTime {
    base + TimeDelta::milliseconds((hours * 3_600_000.0) as i64)
}

fn events(conn: &mut DbConnection, list: &[(&str, &str, NaiveDateTime, f64)]) {
    let batch: Vec<NewEvent> = list
        .iter()
        .map(|(unit, name, ts, value)| NewEvent {
            event_id: uuid::Uuid::new_v4().to_string(),
            unit_id: (*unit).into(),
            name: (*name).into(),
            timestamp: *ts,
            value: Some(*value),
            properties: None,
        })
        .collect();
    verdict::events::insert_batch(conn, &batch).expect("events");
}

/// A sum metric with `subtract` counts payments net of refunds in the same
/// window: refunds before exposure only enter the CUPED pre-period, refunds
/// after the cut-off not at all. Direct and stored paths agree with the hand
/// computation.
async fn revenue_net_of_refunds(backend: Backend) {
    let ctx = TestApp::new(backend);
    let mut conn = ctx.pool().conn().expect("conn");
    let conn: &mut DbConnection = &mut conn;
    let base = (Utc::now() - TimeDelta::days(3)).naive_utc();
    let exposures: Vec<ExposureRecord> =
        [("u1", "control"), ("u2", "control"), ("u3", "treatment")]
            .into_iter()
            .map(|(unit, variant)| ExposureRecord {
                experiment_key: "fx".into(),
                phase: 1,
                unit_id: unit.into(),
                variant: variant.into(),
                first_seen: at(base, 1.0),
                dimensions: None,
            })
            .collect();
    insert_batch(conn, &exposures).expect("exposures");
    let cut_off = at(base, 48.0);
    events(
        conn,
        &[
            ("u1", "paid", at(base, 2.0), 100.0),
            ("u1", "refunded", at(base, 5.0), 100.0), // net 0
            ("u2", "refunded", at(base, 0.5), 20.0),  // before exposure: pre-period −20
            ("u2", "paid", at(base, 3.0), 50.0),
            ("u2", "paid", at(base, 4.0), 30.0),
            ("u2", "refunded", at(base, 30.0), 30.0), // net 50
            ("u3", "paid", at(base, 3.0), 200.0),
            ("u3", "refunded", at(base, 60.0), 200.0), // after the cut-off: net 200
        ],
    );
    let definition: MetricDefinition = serde_json::from_value(json!({
        "type": "sum", "event": "paid", "subtract": {"event": "refunded"}
    }))
    .expect("definition");
    let pre = Some(86_400.0);
    let q = MetricQuery {
        experiment: "fx",
        phase: 1,
        metric: &definition,
        as_of: cut_off,
        pre_period_secs: pre,
        slice: None,
        ingested_by_as_of: false,
    };
    let direct = arm_sums(conn, &q).expect("direct");
    let watermark = ingest_clock::watermark(conn).expect("watermark");
    let stored_metrics = [StateMetric {
        key: "net",
        definition: &definition,
        pre_period_secs: pre,
    }];
    conn.transaction(|conn| state::advance(conn, "fx", 1, &stored_metrics, watermark))
        .expect("advance");
    let stored = stored_arm_sums(
        conn,
        &MetricQuery {
            as_of: watermark,
            ..q.clone()
        },
        "net",
    )
    .expect("stored");
    // (variant, n, Σx, Σx², Σpre): control 0 + 50, squares 0 + 2500, pre −20.
    let want = [
        ("control", 2, 50.0, 2500.0, -20.0),
        ("treatment", 1, 200.0, 40000.0, 0.0),
    ];
    for (variant, n, s, ss, p) in want {
        let row = direct.iter().find(|r| r.variant == variant).expect("arm");
        assert_eq!(
            (row.n, row.s_x, row.s_xx, row.s_p),
            (n, Some(s), Some(ss), Some(p)),
            "direct {variant}"
        );
    }
    // At the watermark (now) the late refund counts too.
    let stored_treatment = stored
        .iter()
        .find(|r| r.variant == "treatment")
        .expect("arm");
    assert_eq!(stored_treatment.s_x, Some(0.0), "stored at now: refunded");
    let stored_control = stored.iter().find(|r| r.variant == "control").expect("arm");
    assert_eq!(
        (stored_control.s_x, stored_control.s_p),
        (Some(50.0), Some(-20.0))
    );
}

/// `?as_of=` computes from what had been ingested by then: it reproduces a
/// decision's frozen results even after late events dated before it arrive,
/// is never stored, and cannot be in the future.
async fn results_as_of_reproduce_a_decision(backend: Backend) {
    let ctx = TestApp::new(backend);
    {
        let now = Utc::now().naive_utc();
        let mut conn = ctx.pool().conn().expect("conn");
        verdict::seed::seed_demo(&mut conn, now).expect("seed");
        verdict::seed::simulate_users(&mut conn, 800, 3, now).expect("simulate");
    }
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let key = "cta_copy";
    let (status, decision) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        format!("/api/v1/experiments/{key}/decisions"),
        json!({"outcome": "iterate", "rationale": "audit later"})
    );
    assert_eq!(status, StatusCode::CREATED, "{decision}");
    let frozen = decision["results_snapshot"].clone();
    let as_of = frozen["as_of"].as_str().expect("as_of").to_owned();
    // A late click, dated before the decision's cut-off, arrives afterwards.
    {
        let mut conn = ctx.pool().conn().expect("conn");
        let unit: String = {
            use diesel::prelude::*;
            schema::exposures::table
                .filter(schema::exposures::experiment_key.eq(key))
                .order(schema::exposures::first_seen.asc())
                .select(schema::exposures::unit_id)
                .first(&mut *conn)
                .expect("a unit")
        };
        let cut_off: chrono::DateTime<Utc> = as_of.parse().expect("as_of");
        let dated = (cut_off - TimeDelta::seconds(1)).naive_utc();
        events(
            &mut conn,
            &[
                (&unit, "cta_click", dated, 1.0),
                (&unit, "alerts_push_sent", dated, 1.0),
            ],
        );
    }
    let count_snapshots = || {
        use diesel::prelude::*;
        let mut conn = ctx.pool().conn().expect("conn");
        schema::result_snapshots::table
            .count()
            .get_result::<i64>(&mut *conn)
            .expect("count")
    };
    let before = count_snapshots();
    let uri = format!(
        "/api/v1/experiments/{key}/results?as_of={}",
        as_of.replace('+', "%2B")
    );
    let (status, again) = call!(app, ctx, Role::Analyst, get, uri);
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["source"], "historical");
    assert_eq!(again["as_of"], frozen["as_of"]);
    assert_eq!(
        count_snapshots(),
        before,
        "historical results are not stored"
    );
    let strip = |mut v: Value| {
        for field in ["computed_at", "source", "breakdowns"] {
            v.as_object_mut().expect("object").remove(field);
        }
        v
    };
    assert_eq!(
        strip(again),
        strip(frozen.clone()),
        "the decision's evidence is reproduced"
    );
    let uri = format!(
        "/api/v1/experiments/{key}/results?dimension=icp_segment&as_of={}",
        as_of.replace('+', "%2B")
    );
    let (status, sliced) = call!(app, ctx, Role::Analyst, get, uri);
    assert_eq!(status, StatusCode::OK, "{sliced}");
    let frozen_slices = frozen["breakdowns"]
        .as_array()
        .expect("breakdowns")
        .iter()
        .find(|b| b["dimension"] == "icp_segment")
        .expect("the decision froze every declared breakdown");
    assert_eq!(
        &sliced["breakdowns"][0], frozen_slices,
        "and its breakdowns"
    );
    let future = (Utc::now() + TimeDelta::days(1)).format("%Y-%m-%d");
    let (status, problem) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        format!("/api/v1/experiments/{key}/results?as_of={future}")
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "as_of");
}

/// The demo's VIP paywall experiment reports the bot's funnel step by step:
/// each step's units never exceed the step before, its conversion is their
/// ratio, and each treatment is compared on it.
async fn demo_funnel_steps_in_results(backend: Backend) {
    let ctx = TestApp::new(backend);
    {
        let now = Utc::now().naive_utc();
        let mut conn = ctx.pool().conn().expect("conn");
        verdict::seed::seed_demo(&mut conn, now).expect("seed");
        verdict::seed::simulate_users(&mut conn, 2000, 5, now).expect("simulate");
    }
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let (status, results) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments/vip_paywall_copy/results"
    );
    assert_eq!(status, StatusCode::OK, "{results}");
    let funnel = results["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["kind"] == "funnel")
        .expect("a funnel metric");
    let steps = funnel["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 6);
    assert_eq!(steps[0]["event"], "bot_start");
    for (a, arm) in funnel["arms"].as_array().expect("arms").iter().enumerate() {
        let mut before = arm["units"].as_u64().expect("units");
        for step in steps {
            let units = step["arms"][a]["units"].as_u64().expect("units");
            assert!(units <= before, "{step}");
            let conversion = step["arms"][a]["conversion"].as_f64().expect("conversion");
            assert!((conversion - units as f64 / before as f64).abs() < 1e-12);
            let drop_off = step["arms"][a]["drop_off"].as_f64().expect("drop off");
            assert!((conversion + drop_off - 1.0).abs() < 1e-12);
            before = units;
        }
        let converted = funnel["arms"][a]["mean"].as_f64().expect("mean");
        let exposed = arm["units"].as_f64().expect("units");
        assert!(
            (converted - before as f64 / exposed).abs() < 1e-12,
            "value = share reaching the end"
        );
    }
    for step in steps {
        let c = &step["comparisons"][0];
        assert_eq!(c["arm"], "bold");
        assert!(c["estimate"].is_number() || c["error"].is_string(), "{c}");
    }
}

backend_tests!(
    revenue_net_of_refunds,
    results_as_of_reproduce_a_decision,
    demo_funnel_steps_in_results,
);
