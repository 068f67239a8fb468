//! Event ingestion: idempotency, per-event errors, limits, durability.

mod common;

use verdict::state::Settings;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use chrono::{Duration, Utc};
use common::{Backend, TestApp};
use diesel::{QueryDsl, RunQueryDsl};
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict::db::{DbConnection, schema};
use verdict_testkit::backend_tests;

fn event(i: usize) -> Value {
    json!({
        "event_id": format!("evt-{i}"),
        "unit_id": format!("{}", i % 17),
        "name": "cta_click",
        "timestamp": (Utc::now() - Duration::minutes(i as i64)).to_rfc3339(),
        "value": 1.0,
        "properties": {"tier": "pro", "auto_topup": i.is_multiple_of(2)}
    })
}

fn stored(ctx: &TestApp) -> i64 {
    let mut conn = ctx.pool().conn().expect("conn");
    schema::events::table
        .count()
        .get_result(&mut *conn as &mut DbConnection)
        .expect("count")
}

/// Sends `$body` to `POST /api/v1/events` as an `sdk` caller; evaluates to
/// `(status, json body)`.
macro_rules! post {
    ($app:expr, $ctx:expr, $body:expr $(,)?) => {{
        let req = TestRequest::post()
            .uri("/api/v1/events")
            .insert_header($ctx.bearer(Role::Sdk))
            .insert_header(("Content-Type", "application/json"))
            .set_payload($body)
            .to_request();
        let res = test::call_service(&$app, req).await;
        let status = res.status();
        let body: Value =
            serde_json::from_slice(&test::read_body(res).await).unwrap_or(Value::Null);
        (status, body)
    }};
}

async fn reposting_a_batch_stores_nothing_new(backend: Backend) {
    let ctx = TestApp::with_settings(
        backend,
        Settings {
            max_body_bytes: 1024 * 1024,
            ..Settings::default()
        },
    );
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let batch = json!({"events": (0..1000).map(event).collect::<Vec<_>>()}).to_string();
    let (status, body) = post!(app, ctx, batch.clone());
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"accepted": 1000, "duplicates": 0, "rejected": []})
    );
    let (status, body) = post!(app, ctx, batch);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"accepted": 0, "duplicates": 1000, "rejected": []})
    );
    assert_eq!(stored(&ctx), 1000);
}

async fn three_bad_events_of_100_are_named_and_97_stored(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let mut events: Vec<Value> = (0..100).map(event).collect();
    events[7]["timestamp"] = json!((Utc::now() + Duration::days(2)).to_rfc3339());
    events[42]
        .as_object_mut()
        .expect("object")
        .remove("unit_id");
    events[99]["value"] = json!("lots");
    let (status, body) = post!(app, ctx, json!({ "events": events }).to_string());
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 97);
    assert_eq!(body["duplicates"], 0);
    let rejected: Vec<(u64, &str, &str)> = body["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| {
            (
                r["index"].as_u64().expect("index"),
                r["event_id"].as_str().expect("event_id"),
                r["field"].as_str().expect("field"),
            )
        })
        .collect();
    assert_eq!(
        rejected,
        [
            (7, "evt-7", "timestamp"),
            (42, "evt-42", "unit_id"),
            (99, "evt-99", "value")
        ]
    );
    assert_eq!(stored(&ctx), 97);
}

async fn per_event_checks(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let now = Utc::now().to_rfc3339();
    let ok =
        |id: &str| json!({"event_id": id, "unit_id": "1", "name": "cta_click", "timestamp": now});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"event_id": "a", "unit_id": "1", "name": "bad name", "timestamp": now}),
            "name",
        ),
        (
            json!({"event_id": "b", "unit_id": "1", "name": "x", "timestamp": "yesterday"}),
            "timestamp",
        ),
        (
            json!({"event_id": "c", "unit_id": "1", "name": "x", "timestamp": (Utc::now() - Duration::days(31)).to_rfc3339()}),
            "timestamp",
        ),
        (
            json!({"event_id": "d", "unit_id": "1", "name": "x", "timestamp": now, "extra": 1}),
            "extra",
        ),
        (
            json!({"event_id": "e", "unit_id": "1", "name": "x", "timestamp": now, "properties": [1]}),
            "properties",
        ),
        (
            json!({"event_id": "x".repeat(129), "unit_id": "1", "name": "x", "timestamp": now}),
            "event_id",
        ),
        (
            json!({"event_id": "", "unit_id": "1", "name": "x", "timestamp": now}),
            "event_id",
        ),
        (json!("not an object"), "event"),
    ];
    let mut events: Vec<Value> = cases.iter().map(|(e, _)| e.clone()).collect();
    events.push(ok("good"));
    events.push(ok("good"));
    events.push(json!({"event_id": "nulls", "unit_id": "1", "name": "x", "timestamp": now, "value": null, "properties": null}));
    let (status, body) = post!(app, ctx, json!({ "events": events }).to_string());
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 2, "{body}");
    assert_eq!(body["duplicates"], 1, "the repeated id counts once");
    let fields: Vec<&str> = body["rejected"]
        .as_array()
        .expect("rejected")
        .iter()
        .map(|r| r["field"].as_str().expect("field"))
        .collect();
    let expected: Vec<&str> = cases.iter().map(|(_, f)| *f).collect();
    assert_eq!(fields, expected, "{body}");
}

async fn malformed_envelopes_and_oversized_batches(backend: Backend) {
    let ctx = TestApp::with_settings(
        backend,
        Settings {
            ingest: verdict::events::IngestLimits {
                max_batch: 10,
                ..Default::default()
            },
            ..Settings::default()
        },
    );
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    for body in [
        "{}",
        "[]",
        r#"{"events": 5}"#,
        r#"{"events": [], "more": 1}"#,
        "not json",
    ] {
        let (status, problem) = post!(app, ctx, body.to_owned());
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {problem}");
    }
    let (status, problem) = post!(
        app,
        ctx,
        json!({"events": (0..11).map(event).collect::<Vec<_>>()}).to_string(),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["field"], "events");
    let (status, body) = post!(app, ctx, r#"{"events": []}"#.to_owned());
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["accepted"], 0);
    assert_eq!(stored(&ctx), 0);
}

backend_tests!(
    reposting_a_batch_stores_nothing_new,
    three_bad_events_of_100_are_named_and_97_stored,
    per_event_checks,
    malformed_envelopes_and_oversized_batches,
);
