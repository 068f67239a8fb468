//! Warehouse-native metrics: a PostgreSQL database created by the test plays
//! the team's analytics warehouse (an `events` table in the OKR document's
//! shape and a dbt-style view on top). The demo's events live in Verdict's
//! own events table and, copied, in the warehouse; moving every demo metric
//! onto the warehouse must not change a single number (to 1e-9), on SQLite and
//! PostgreSQL as Verdict's database. A source that times out or is down makes
//! only its metrics unavailable.

mod common;

use actix_web::http::StatusCode;
use actix_web::test;
use common::{Backend, TestApp, TestDb, send};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict_testkit::backend_tests;

const EXPERIMENTS: [&str; 4] = [
    "cta_copy",
    "digest_layout",
    "import_hint",
    "vip_paywall_copy",
];

/// `GET uri` as an analyst, which must answer 200.
async fn read<S, B>(app: &S, ctx: &TestApp, uri: &str) -> Value
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let (status, body) = send(app, ctx.request("GET", uri, Role::Analyst, Value::Null)).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    body
}

/// An empty database to play the warehouse.
fn warehouse() -> TestDb {
    TestDb::new(Backend::Postgres)
}

/// The demo's events moved into the warehouse (what `verdict seed --demo
/// --warehouse URL` does), plus test traffic that its dbt view drops and that
/// would change every metric if counted, and a view that is slow on purpose.
fn move_demo_events(app: &TestApp, warehouse: &TestDb) -> usize {
    let mut conn = app.pool().conn().expect("conn");
    let moved = verdict::seed::warehouse::move_events(&mut conn, &warehouse.url).expect("move");
    PgConnection::establish(&warehouse.url)
        .expect("warehouse")
        .batch_execute(
            "INSERT INTO events (name, user_id, ts, props)
               SELECT name, user_id, ts, jsonb_build_object('test', true, 'value', 1000) FROM events;
             CREATE FUNCTION slow_row() RETURNS boolean LANGUAGE sql AS 'SELECT true FROM pg_sleep(0.5)';
             CREATE VIEW analytics.slow_events AS SELECT * FROM analytics.events_clean WHERE slow_row();",
        )
        .expect("test traffic");
    moved
}

fn source(key: &str, url: &str, relation: &str, timeout_ms: u32) -> Value {
    json!({
        "key": key, "url": url,
        "mapping": {"relation": relation, "unit_column": "user_id", "name_column": "name",
            "timestamp_column": "ts", "value_column": "value", "properties": {"json": "props"}},
        "limits": {"statement_timeout_ms": timeout_ms, "max_units": 1_000_000}
    })
}

fn close(a: &Value, b: &Value, path: &str) {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => assert!(
            (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
            "{path}: {x} vs {y}"
        ),
        _ => assert_eq!(a, b, "{path}"),
    }
}

/// Every number two results share, compared to 1e-9.
fn same_numbers(own: &Value, dwh: &Value, path: &str) {
    match (own, dwh) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                if ["computed_at", "as_of", "predicted_date"].contains(&k.as_str()) {
                    continue;
                }
                same_numbers(v, &b[k], &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: lengths");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                same_numbers(x, y, &format!("{path}[{i}]"));
            }
        }
        _ => close(own, dwh, path),
    }
}

async fn every_metric_kind_gives_the_same_results_on_the_warehouse(backend: Backend) {
    let ctx = TestApp::new(backend);
    let now = chrono::Utc::now().naive_utc();
    {
        let mut conn = ctx.pool().conn().expect("conn");
        verdict::seed::seed_demo(&mut conn, now).expect("seed");
        verdict::seed::simulate_users(&mut conn, 1_500, 9, now).expect("simulate");
    }
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;

    let mut own = Vec::new();
    for key in EXPERIMENTS {
        let r = read(
            &app,
            &ctx,
            &format!("/api/v1/experiments/{key}/results?refresh=true"),
        )
        .await;
        own.push(r);
    }

    let metrics = read(&app, &ctx, "/api/v1/metrics").await;
    let kinds: std::collections::BTreeSet<&str> = metrics
        .as_array()
        .expect("metrics")
        .iter()
        .filter_map(|m| m["definition"]["type"].as_str())
        .collect();
    for kind in [
        "conversion",
        "count",
        "sum",
        "ratio",
        "retention",
        "nps",
        "funnel",
    ] {
        assert!(
            kinds.contains(kind),
            "the demo has a {kind} metric: {kinds:?}"
        );
    }

    let dwh = warehouse();
    let moved = move_demo_events(&ctx, &dwh);
    assert!(moved > 5_000, "{moved}");
    let metrics = read(&app, &ctx, "/api/v1/metrics").await;
    assert!(
        metrics
            .as_array()
            .expect("metrics")
            .iter()
            .all(|m| m["data_source"] == "analytics"),
        "{metrics}"
    );

    let mut on_dwh = Vec::new();
    for (key, own) in EXPERIMENTS.iter().zip(&own) {
        let dwh = read(
            &app,
            &ctx,
            &format!("/api/v1/experiments/{key}/results?refresh=true"),
        )
        .await;
        for m in dwh["metrics"].as_array().expect("metrics") {
            assert!(m["error"].is_null(), "{key}: {m}");
        }
        let analysed = own["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .filter(|m| !m["arms"].as_array().is_none_or(Vec::is_empty))
            .count();
        assert!(analysed >= 3, "{key}: metrics with data");
        same_numbers(&own["metrics"], &dwh["metrics"], &format!("{key}.metrics"));
        same_numbers(
            &own["guardrails"],
            &dwh["guardrails"],
            &format!("{key}.guardrails"),
        );
        assert_eq!(own["recommendation"], dwh["recommendation"], "{key}");
        on_dwh.push(dwh);
    }

    // The metrics above were read two at a time, on two sessions; one session
    // reading them in turn gives the same numbers.
    let (status, analytics) = send(
        &app,
        ctx.request(
            "GET",
            "/api/v1/data-sources/analytics",
            Role::Admin,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{analytics}");
    let mut limits = analytics["limits"].clone();
    assert_eq!(limits["max_concurrent_queries"], 2, "{analytics}");
    limits["max_concurrent_queries"] = json!(1);
    let (status, body) = send(
        &app,
        ctx.request(
            "PUT",
            "/api/v1/data-sources/analytics",
            Role::Admin,
            json!({"mapping": analytics["mapping"], "limits": limits}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["limits"]["max_concurrent_queries"], 1, "{body}");
    for (key, concurrent) in EXPERIMENTS.iter().zip(&on_dwh) {
        let in_turn = read(
            &app,
            &ctx,
            &format!("/api/v1/experiments/{key}/results?refresh=true"),
        )
        .await;
        same_numbers(
            &concurrent["metrics"],
            &in_turn["metrics"],
            &format!("{key}.metrics"),
        );
    }

    let cta = read(
        &app,
        &ctx,
        "/api/v1/experiments/cta_copy/results?dimension=icp_segment&refresh=true",
    )
    .await;
    let slices = cta["breakdowns"][0]["slices"].as_array().expect("slices");
    assert!(slices.len() > 1);
    assert!(
        slices.iter().all(|s| s["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .all(|m| m["error"].is_null())),
        "breakdowns run on the warehouse too"
    );

    // The numbers above came from the warehouse: emptied, it has nothing to count.
    PgConnection::establish(&dwh.url)
        .expect("warehouse")
        .batch_execute("TRUNCATE events")
        .expect("truncate");
    let empty = read(
        &app,
        &ctx,
        "/api/v1/experiments/cta_copy/results?refresh=true",
    )
    .await;
    let means: Vec<f64> = empty["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .flat_map(|m| m["arms"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["mean"].as_f64())
        .collect();
    assert!(means.iter().all(|m| *m == 0.0), "{means:?}");
    assert!(
        own[0]["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .flat_map(|m| m["arms"].as_array().cloned().unwrap_or_default())
            .any(|a| a["mean"].as_f64().is_some_and(|m| m > 0.0)),
        "Verdict's own data had events"
    );
}

async fn a_slow_or_down_source_fails_only_its_metrics(backend: Backend) {
    let ctx = TestApp::new(backend);
    let now = chrono::Utc::now().naive_utc();
    {
        let mut conn = ctx.pool().conn().expect("conn");
        verdict::seed::seed_demo(&mut conn, now).expect("seed");
        verdict::seed::simulate_users(&mut conn, 300, 4, now).expect("simulate");
    }
    let dwh = warehouse();
    move_demo_events(&ctx, &dwh);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let call = |method: &str, uri: &str, role, body: Value| ctx.request(method, uri, role, body);
    for body in [
        source("slow", &dwh.url, "analytics.slow_events", 300),
        source(
            "down",
            "postgres://reader:hunter2@127.0.0.1:1/analytics",
            "events",
            1_000,
        ),
    ] {
        let (status, created) = send(
            &app,
            call("POST", "/api/v1/data-sources", Role::Admin, body),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
    }
    for (metric, source) in [("cta_clicks", "slow"), ("churn", "down")] {
        let mut m = read(&app, &ctx, &format!("/api/v1/metrics/{metric}")).await;
        let obj = m.as_object_mut().expect("metric");
        for k in ["created_at", "updated_at", "key"] {
            obj.remove(k);
        }
        obj.insert("data_source".into(), json!(source));
        let (status, body) = send(
            &app,
            call("PUT", &format!("/api/v1/metrics/{metric}"), Role::Pm, m),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let r = read(
        &app,
        &ctx,
        "/api/v1/experiments/digest_layout/results?refresh=true",
    )
    .await;
    let by_key = |k: &str| {
        r["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .find(|m| m["metric"] == k)
            .cloned()
            .expect(k)
    };
    let slow = by_key("cta_clicks");
    assert!(
        slow["error"]
            .as_str()
            .is_some_and(|e| e.contains("data source `slow`") && e.contains("statement timeout")),
        "{slow}"
    );
    assert_eq!(
        slow["name"], "CTA clicks per user",
        "the result still names the metric"
    );
    let down = by_key("churn");
    assert!(
        down["error"]
            .as_str()
            .is_some_and(|e| e.contains("data source `down`") && e.contains("cannot connect")),
        "{down}"
    );
    assert!(!r.to_string().contains("hunter2"), "no password in results");
    let fine = by_key("retention_d1_d7");
    assert!(
        fine["error"].is_null()
            && !fine["comparisons"]
                .as_array()
                .expect("comparisons")
                .is_empty(),
        "{fine}"
    );
}

async fn data_sources_are_admin_only_and_keep_their_secret(backend: Backend) {
    let ctx = TestApp::new(backend);
    {
        let mut conn = ctx.pool().conn().expect("conn");
        verdict::seed::seed_demo(&mut conn, chrono::Utc::now().naive_utc()).expect("seed");
    }
    let dwh = warehouse();
    move_demo_events(&ctx, &dwh);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let call = |method: &str, uri: &str, role, body: Value| ctx.request(method, uri, role, body);
    let with_password = dwh.url.replacen(
        "postgres://postgres@",
        "postgres://postgres:not-a-real-password@",
        1,
    );
    assert_ne!(with_password, dwh.url, "{}", dwh.url);
    for role in [Role::Sdk, Role::Analyst, Role::Pm] {
        let (status, _) = send(
            &app,
            call(
                "POST",
                "/api/v1/data-sources",
                role,
                source("dwh", &with_password, "analytics.events_clean", 5_000),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
        let (status, _) = send(&app, call("GET", "/api/v1/data-sources", role, Value::Null)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{role}");
    }
    let (status, created) = send(
        &app,
        call(
            "POST",
            "/api/v1/data-sources",
            Role::Admin,
            source("dwh", &with_password, "analytics.events_clean", 5_000),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["url"],
        with_password.replace("not-a-real-password", "***")
    );
    let (_, listed) = send(
        &app,
        call("GET", "/api/v1/data-sources", Role::Admin, Value::Null),
    )
    .await;
    let (_, audit) = send(&app, call("GET", "/api/v1/audit", Role::Admin, Value::Null)).await;
    for body in [&created, &listed, &audit] {
        assert!(!body.to_string().contains("not-a-real-password"), "{body}");
    }
    assert!(audit.to_string().contains("data_source"), "audited");

    let (status, test) = send(
        &app,
        call(
            "POST",
            "/api/v1/data-sources/dwh/test",
            Role::Admin,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{test}");
    assert_eq!(test["ok"], true, "{test}");
    let columns: Vec<(String, String)> = test["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_owned(),
                c["type"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        columns.contains(&("ts".into(), "timestamp with time zone".into())),
        "{columns:?}"
    );
    assert!(
        columns.contains(&("props".into(), "jsonb".into())),
        "{columns:?}"
    );
    assert!(
        columns.contains(&("value".into(), "double precision".into())),
        "{columns:?}"
    );

    let mut wrong = source("dwh", &with_password, "analytics.events_clean", 5_000);
    wrong["mapping"]["value_column"] = json!("stars");
    wrong.as_object_mut().expect("body").remove("url");
    let (status, replaced) = send(
        &app,
        call("PUT", "/api/v1/data-sources/dwh", Role::Admin, wrong),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    let (_, test) = send(
        &app,
        call(
            "POST",
            "/api/v1/data-sources/dwh/test",
            Role::Admin,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(test["ok"], false);
    assert_eq!(test["missing_columns"], json!(["stars"]), "{test}");

    let mut bad = source("bad", "mysql://x", "a.b.c", 0);
    bad["mapping"]["unit_column"] = json!("id\"; DROP TABLE events; --");
    let (status, problem) =
        send(&app, call("POST", "/api/v1/data-sources", Role::Admin, bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "url",
            "mapping.relation",
            "mapping.unit_column",
            "limits.statement_timeout_ms"
        ]
    );

    let metric = json!({"key": "imports", "name": "Imports", "direction": "higher_is_better",
        "definition": {"type": "count", "event": "portfolio_import"}, "data_source": "nowhere"});
    let (status, problem) = send(
        &app,
        call("POST", "/api/v1/metrics", Role::Pm, metric.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["field"], "data_source");
    let mut metric = metric;
    metric["data_source"] = json!("dwh");
    let (status, _) = send(&app, call("POST", "/api/v1/metrics", Role::Pm, metric)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, problem) = send(
        &app,
        call(
            "DELETE",
            "/api/v1/data-sources/dwh",
            Role::Admin,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("imports"))
    );
}

backend_tests!(
    every_metric_kind_gives_the_same_results_on_the_warehouse,
    a_slow_or_down_source_fails_only_its_metrics,
    data_sources_are_admin_only_and_keep_their_secret,
);
