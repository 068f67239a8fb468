//! Defects found trying the service as a new user would: a decision recorded
//! right after the demo seed, report periods as PMs type them, writes during a
//! database outage, the demo's forecast and SLA against its own traffic, and
//! undeclared methods.

mod common;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use chrono::{DateTime, NaiveDateTime, Utc};
use common::{Backend, TestApp, send};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict::db::{DbConnection, schema};
use verdict_testkit::{backend_tests, call};

fn seed_demo(ctx: &TestApp, users: usize) -> NaiveDateTime {
    let now = Utc::now().naive_utc();
    let mut conn = ctx.pool().conn().expect("conn");
    verdict::seed::seed_demo(&mut conn, now).expect("seed");
    verdict::seed::simulate_users(&mut conn, users, 7, now).expect("simulate");
    now
}

/// Right after `seed --demo`, with no results snapshot stored yet, a decision
/// freezes the full typed results, and they are what `GET …/results` serves
/// at that moment (on SQLite the refresh used to run inside the decision's
/// transaction and froze `{"unavailable": …}`).
async fn decision_right_after_seed_freezes_results(backend: Backend) {
    let ctx = TestApp::new(backend);
    seed_demo(&ctx, 300);
    {
        let mut conn = ctx.pool().conn().expect("conn");
        let stored: i64 = schema::result_snapshots::table
            .count()
            .get_result(&mut *conn)
            .expect("count");
        assert_eq!(stored, 0, "no snapshot before the decision");
    }
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let (status, decision) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/vip_paywall_copy/decisions",
        json!({"outcome": "iterate", "rationale": "too early to tell"})
    );
    assert_eq!(status, StatusCode::CREATED, "{decision}");
    let frozen = &decision["results_snapshot"];
    assert_eq!(frozen["schema_version"], 2, "{decision}");
    assert_eq!(frozen["experiment"], "vip_paywall_copy");
    assert!(decision.get("results_unavailable").is_none(), "{decision}");
    let metrics = frozen["metrics"].as_array().expect("metrics");
    assert_eq!(metrics.len(), 6, "{frozen}");
    assert!(
        metrics
            .iter()
            .all(|m| m["comparisons"][0]["p_value"].is_number()),
        "{frozen}"
    );
    let (status, served) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments/vip_paywall_copy/results"
    );
    assert_eq!(status, StatusCode::OK, "{served}");
    assert_eq!(
        &served, frozen,
        "the frozen copy is what the results route serves"
    );
    let id = decision["id"].as_i64().expect("id");
    let (status, read) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        format!("/api/v1/decisions/{id}")
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        &read["results_snapshot"], frozen,
        "and it reads back the same"
    );
}

/// The OKR report takes dates as PMs type them, and RFC 3339 timestamps; a
/// malformed bound is a 400 that names the parameter and the format.
async fn report_periods_as_typed(backend: Backend) {
    let ctx = TestApp::new(backend);
    seed_demo(&ctx, 50);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    for query in [
        "from=2000-01-01&to=2100-01-01",
        "from=2000-01-01T00:00:00Z&to=2100-01-01",
        "from=2000-01-01T03:00:00%2B03:00&to=2100-01-01T00:00:00Z",
    ] {
        let uri = format!("/api/v1/reports/experimentation?{query}");
        let (status, report) = call!(app, ctx, Role::Analyst, get, uri);
        assert_eq!(status, StatusCode::OK, "{query}: {report}");
        assert_eq!(
            report["launched"].as_array().map(Vec::len),
            Some(4),
            "{query}"
        );
        assert_eq!(report["from"], "2000-01-01T00:00:00Z", "{query}");
    }
    for (query, field) in [
        ("from=01.12.2026&to=2100-01-01", "from"),
        ("from=2000-01-01&to=tomorrow", "to"),
        ("from=2000-01-01", "to"),
    ] {
        let uri = format!("/api/v1/reports/experimentation?{query}");
        let (status, problem) = call!(app, ctx, Role::Analyst, get, uri);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {problem}");
        assert_eq!(problem["field"], field, "{query}: {problem}");
        let detail = problem["detail"].as_str().expect("detail");
        assert!(detail.contains(field), "{query}: {detail}");
    }
    let (_, problem) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/reports/experimentation?from=yesterday&to=2100-01-01"
    );
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("YYYY-MM-DD") && detail.contains("RFC 3339"),
        "{detail}"
    );
}

/// Makes the database unusable for the app: SQLite stays write-locked by
/// another connection (returned: drop it to release), PostgreSQL's database
/// is dropped.
fn outage(ctx: &mut TestApp, backend: Backend) -> Option<DbConnection> {
    match backend {
        Backend::Sqlite => {
            let path = ctx.db.url.trim_start_matches("sqlite://").to_owned();
            let mut lock = SqliteConnection::establish(&path).expect("second connection");
            lock.batch_execute("BEGIN EXCLUSIVE").expect("lock");
            Some(DbConnection::Sqlite(lock))
        }
        Backend::Postgres => {
            let name = ctx.db.pg_name().expect("postgres").to_owned();
            let mut admin = PgConnection::establish("postgres://postgres@127.0.0.1:5432/postgres")
                .expect("admin");
            admin
                .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .expect("drop");
            None
        }
    }
}

async fn assert_unavailable<S, B>(app: &S, req: TestRequest, what: &str)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let res = test::call_service(app, req.to_request()).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{what}");
    let headers = res.headers().clone();
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{what}"
    );
    assert!(headers.get("retry-after").is_some(), "{what}: Retry-After");
    let body: Value = serde_json::from_slice(&test::read_body(res).await).expect("json");
    let detail = body["detail"].as_str().expect("detail");
    for secret in ["127.0.0.1", "5432", "postgres", "verdict_test", ".db"] {
        assert!(
            !detail.contains(secret),
            "{what}: detail leaks `{secret}`: {detail}"
        );
    }
}

/// Writes during an outage answer 503 problem+json with `Retry-After`, and
/// the detail names no connection setting (events used to answer 500; the
/// 503 detail echoed host and port).
async fn writes_during_an_outage_answer_503(backend: Backend) {
    let mut ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let event = json!({"events": [{"event_id": "e1", "unit_id": "42", "name": "cta_click",
        "timestamp": Utc::now().to_rfc3339()}]});
    let _lock = outage(&mut ctx, backend);
    assert_unavailable(
        &app,
        ctx.request("POST", "/api/v1/events", Role::Sdk, event),
        "events",
    )
    .await;
    if backend == Backend::Postgres {
        let flag = json!({"key": "f", "value_type": "boolean", "default_variant": "off",
            "variants": [{"key": "off", "value": false}, {"key": "on", "value": true}]});
        assert_unavailable(
            &app,
            ctx.request("POST", "/api/v1/flags", Role::Pm, flag),
            "flag write",
        )
        .await;
    }
}

fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds() as f64 / 86_400.0
}

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().expect("timestamp").parse().expect("RFC 3339")
}

/// The demo launches its experiments where their simulated traffic starts,
/// so the SLA report and the forecast agree with the data: the rate is the
/// exposed units over the span since the first exposure.
async fn demo_forecast_and_sla_follow_its_traffic(backend: Backend) {
    let ctx = TestApp::new(backend);
    let now = seed_demo(&ctx, 2000);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let (status, sla) = call!(app, ctx, Role::Analyst, get, "/api/v1/reports/decision-sla");
    assert_eq!(status, StatusCode::OK, "{sla}");
    let rows = sla["experiments"].as_array().expect("rows");
    assert_eq!(rows.len(), 4);
    let demo_days = verdict::seed::DEMO_DAYS as f64;
    for row in rows {
        let since = row["days_since_first_exposure"]
            .as_f64()
            .expect("days since");
        let left = row["days_left"].as_f64().expect("days left");
        assert!((demo_days - 1.0..=demo_days).contains(&since), "{row}");
        assert!(
            (14.0 - demo_days - 0.1..=14.0 - demo_days + 1.0).contains(&left),
            "{row}"
        );
        assert_eq!(row["status"], "on_track", "{row}");
    }
    let mut forecasts = 0;
    for key in [
        "cta_copy",
        "digest_layout",
        "import_hint",
        "vip_paywall_copy",
    ] {
        let (status, results) = call!(
            app,
            ctx,
            Role::Analyst,
            get,
            format!("/api/v1/experiments/{key}/results")
        );
        assert_eq!(status, StatusCode::OK, "{results}");
        let (first, units): (Option<NaiveDateTime>, i64) = {
            let mut conn = ctx.pool().conn().expect("conn");
            schema::exposures::table
                .filter(schema::exposures::experiment_key.eq(key))
                .select((
                    diesel::dsl::min(schema::exposures::first_seen),
                    diesel::dsl::count_star(),
                ))
                .first(&mut *conn)
                .expect("exposures")
        };
        let first = first.expect("exposed").and_utc();
        assert!(
            days(first, now.and_utc()) <= demo_days,
            "{key}: traffic starts after launch"
        );
        let served: u64 = results["arms"]
            .as_array()
            .expect("arms")
            .iter()
            .map(|a| a["units"].as_u64().expect("units"))
            .sum();
        assert_eq!(served as i64, units, "{key}");
        let Some(forecast) = results["forecast"].as_object() else {
            continue;
        };
        forecasts += 1;
        let expected = units as f64 / days(first, at(&results["as_of"]));
        let rate = forecast["units_per_day"].as_f64().expect("rate");
        assert!(
            (rate - expected).abs() < 1e-6 * expected,
            "{key}: {rate} vs {expected}"
        );
        let needed = forecast["n_per_arm"].as_f64().expect("n") * 2.0;
        let days_left = forecast["days_to_reach"].as_u64().expect("days");
        let reached = units as f64 + rate * days_left as f64;
        assert!(
            days_left == 0 || (reached >= needed && reached - rate < needed),
            "{key}: {days_left} days at {rate}/day reach {needed}"
        );
    }
    assert!(
        forecasts >= 1,
        "the demo plans at least one experiment's sample"
    );
}

/// A documented path answers other methods with 405 and `Allow`.
async fn undeclared_methods_answer_405(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    for (method, path, allow) in [
        ("TRACE", "/api/v1/evaluate", "POST"),
        ("DELETE", "/api/v1/experiments", "GET, POST"),
        ("PATCH", "/api/v1/flags/cta_copy", "DELETE, GET, PUT"),
        ("GET", "/api/v1/events", "POST"),
        ("PUT", "/healthz", "GET"),
    ] {
        let res = test::call_service(
            &app,
            ctx.request(method, path, Role::Admin, Value::Null)
                .to_request(),
        )
        .await;
        assert_eq!(
            res.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(
            res.headers().get("allow").and_then(|v| v.to_str().ok()),
            Some(allow),
            "{method} {path}"
        );
    }
    let (status, _) = send(
        &app,
        ctx.request("GET", "/api/v1/nowhere", Role::Admin, Value::Null),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

backend_tests!(
    decision_right_after_seed_freezes_results,
    report_periods_as_typed,
    writes_during_an_outage_answer_503,
    demo_forecast_and_sla_follow_its_traffic,
    undeclared_methods_answer_405,
);
