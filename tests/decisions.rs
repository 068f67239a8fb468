//! The decision log: append-only with chained corrections, acting on the flag,
//! CSV export, the SLA and OKR reports, the webhook.

mod common;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use common::{Backend, TestApp, send};
use diesel::connection::SimpleConnection;
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict_testkit::backend_tests;

/// A guardrail metric, a primary metric, the `cta_copy` flag and a launched
/// experiment on it, plus exposures for 40 users.
async fn launched_experiment<S, B>(app: &S, ctx: &TestApp, key: &str)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let posts = [
        (
            "/api/v1/metrics",
            json!({"key": format!("{key}_clicks"), "name": "CTA clicks", "direction": "higher_is_better",
            "definition": {"type": "conversion", "event": "cta_click"}}),
        ),
        (
            "/api/v1/metrics",
            json!({"key": format!("{key}_churn"), "name": "Churn", "direction": "lower_is_better",
            "definition": {"type": "conversion", "event": "subscription_cancelled"}}),
        ),
        (
            "/api/v1/flags",
            json!({"key": key, "value_type": "string",
            "variants": [{"key": "control", "value": "Try Pro free"}, {"key": "urgency", "value": "Pro trial ends today"}],
            "default_variant": "control",
            "environments": {"production": {"enabled": true, "fallthrough": {"variant": "control"}}}}),
        ),
        (
            "/api/v1/experiments",
            json!({"key": key, "name": key, "hypothesis": "Urgency raises trial starts",
            "flag": key, "arms": [{"variant": "control", "weight": 50}, {"variant": "urgency", "weight": 50}],
            "allocation": 100, "primary_metric": format!("{key}_clicks"),
            "guardrails": [{"metric": format!("{key}_churn"), "max_degradation": 0.005}]}),
        ),
        (&format!("/api/v1/experiments/{key}/launch"), Value::Null),
    ];
    for (uri, body) in posts {
        let req = if body.is_null() {
            ctx.request("POST", uri, Role::Pm, Value::Null)
        } else {
            ctx.request("POST", uri, Role::Pm, body)
        };
        let (status, res) = send(app, req).await;
        assert!(status.is_success(), "{uri}: {status} {res}");
    }
    for user in 0..40 {
        let body = json!({"context": {"user_id": format!("u{user}")}});
        let (status, _) = send(
            app,
            ctx.request("POST", &format!("/api/v1/evaluate/{key}"), Role::Sdk, body),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    ctx.state.exposures.flush().await;
}

async fn append_only_log_with_corrections(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    launched_experiment(&app, &ctx, "cta_copy").await;
    let decide = |body: Value| {
        ctx.request(
            "POST",
            "/api/v1/experiments/cta_copy/decisions",
            Role::Pm,
            body,
        )
    };

    let (status, problem) = send(&app, decide(json!({"outcome": "ship", "rationale": " "}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["rationale", "variant"], "every problem at once");
    let (status, _) = send(
        &app,
        decide(json!({"outcome": "ship", "variant": "bold", "rationale": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "not an arm");
    let (status, _) = send(
        &app,
        ctx.request(
            "POST",
            "/api/v1/experiments/cta_copy/decisions",
            Role::Analyst,
            json!({"outcome": "iterate", "rationale": "x"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "analysts read, never write");

    let (status, first) = send(&app, decide(json!({"outcome": "ship", "variant": "urgency",
        "rationale": "+3% trial starts, churn guardrail passes", "links": ["https://wiki.example/readout"], "apply": true}))).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(
        (first["author"].as_str(), first["outcome"].as_str()),
        (Some("test-pm"), Some("ship"))
    );
    assert!(
        first["results_snapshot"].is_object(),
        "a frozen copy of the results: {first}"
    );
    assert!(
        first["action_taken"]
            .as_str()
            .unwrap_or("")
            .contains("urgency")
    );
    let id = first["id"].as_i64().expect("id");

    let (_, experiment) = send(
        &app,
        ctx.request(
            "GET",
            "/api/v1/experiments/cta_copy",
            Role::Analyst,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(experiment["status"], "decided");
    let (_, served) = send(
        &app,
        ctx.request(
            "POST",
            "/api/v1/evaluate/cta_copy",
            Role::Sdk,
            json!({"context": {"user_id": "new"}}),
        ),
    )
    .await;
    assert_eq!(served["variant"], "urgency", "ship rolled the winner out");

    let (status, problem) = send(
        &app,
        decide(json!({"outcome": "roll_back", "rationale": "changed my mind"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "already decided: {problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("supersedes")
    );
    let (status, correction) = send(&app, decide(json!({"outcome": "roll_back", "rationale": "churn rose in week 2", "supersedes": id, "apply": true}))).await;
    assert_eq!(status, StatusCode::CREATED, "{correction}");
    assert_eq!(correction["supersedes"], id);
    let (status, _) = send(
        &app,
        decide(json!({"outcome": "iterate", "rationale": "again", "supersedes": id})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a decision is corrected once; corrections chain"
    );
    let (_, served) = send(
        &app,
        ctx.request(
            "POST",
            "/api/v1/evaluate/cta_copy",
            Role::Sdk,
            json!({"context": {"user_id": "new"}}),
        ),
    )
    .await;
    assert_eq!(served["variant"], "control", "roll back serves control");

    for method in ["PUT", "PATCH", "DELETE"] {
        let (status, _) = send(
            &app,
            ctx.request(
                method,
                &format!("/api/v1/decisions/{id}"),
                Role::Admin,
                json!({"rationale": "edited"}),
            ),
        )
        .await;
        assert!(!status.is_success(), "{method} must not touch a decision");
    }
    {
        let mut conn = ctx.pool().conn().expect("conn");
        let sql: &mut verdict::db::DbConnection = &mut conn;
        let edit = match sql {
            verdict::db::DbConnection::Sqlite(c) => {
                c.batch_execute("UPDATE decisions SET rationale = 'edited'")
            }
            verdict::db::DbConnection::Postgresql(c) => {
                c.batch_execute("UPDATE decisions SET rationale = 'edited'")
            }
        };
        assert!(edit.is_err(), "the database itself refuses edits");
        let delete = match sql {
            verdict::db::DbConnection::Sqlite(c) => c.batch_execute("DELETE FROM decisions"),
            verdict::db::DbConnection::Postgresql(c) => c.batch_execute("DELETE FROM decisions"),
        };
        assert!(delete.is_err(), "the database itself refuses deletes");
    }
    let (_, one) = send(
        &app,
        ctx.request(
            "GET",
            &format!("/api/v1/decisions/{id}"),
            Role::Analyst,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(
        (
            one["rationale"].as_str(),
            one["results_snapshot"].is_object()
        ),
        (Some("+3% trial starts, churn guardrail passes"), true)
    );

    let (_, page) = send(
        &app,
        ctx.request(
            "GET",
            "/api/v1/decisions?experiment=cta_copy&limit=1",
            Role::Analyst,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(page["decisions"][0]["outcome"], "roll_back", "newest first");
    assert!(
        page["decisions"][0].get("results_snapshot").is_none(),
        "lists stay light"
    );
    let cursor = page["next_cursor"].as_i64().expect("second page");
    let (_, rest) = send(
        &app,
        ctx.request(
            "GET",
            &format!("/api/v1/decisions?experiment=cta_copy&limit=1&cursor={cursor}"),
            Role::Analyst,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(
        (
            rest["decisions"][0]["id"].as_i64(),
            rest["next_cursor"].is_null()
        ),
        (Some(id), true)
    );
    let (_, ships) = send(
        &app,
        ctx.request(
            "GET",
            "/api/v1/decisions?outcome=ship&author=test-pm",
            Role::Analyst,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(ships["decisions"].as_array().map(Vec::len), Some(1));
    let (status, _) = send(
        &app,
        ctx.request(
            "GET",
            "/api/v1/decisions?outcome=maybe",
            Role::Analyst,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let csv = TestRequest::get()
        .uri("/api/v1/decisions?experiment=cta_copy")
        .insert_header(ctx.bearer(Role::Analyst))
        .insert_header(("Accept", "text/csv"))
        .to_request();
    let res = test::call_service(&app, csv).await;
    assert!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .starts_with("text/csv")
    );
    let body = String::from_utf8(test::read_body(res).await.to_vec()).expect("utf-8");
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 3, "{body}");
    assert!(lines[0].starts_with("id,experiment,outcome,variant,rationale"));
    assert!(
        lines[2].contains("\"+3% trial starts, churn guardrail passes\""),
        "commas are quoted: {}",
        lines[2]
    );

    let (_, hooks) = send(
        &app,
        ctx.request(
            "GET",
            "/api/v1/webhooks/deliveries",
            Role::Admin,
            Value::Null,
        ),
    )
    .await;
    let events: Vec<&str> = hooks["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .filter_map(|d| d["event"].as_str())
        .collect();
    assert_eq!(events, ["decision.recorded", "decision.recorded"]);
}

async fn sla_and_okr_reports(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    launched_experiment(&app, &ctx, "cta_copy").await;
    launched_experiment(&app, &ctx, "import_hint").await;
    let (status, _) = send(
        &app,
        ctx.request(
            "POST",
            "/api/v1/experiments/import_hint/decisions",
            Role::Pm,
            json!({"outcome": "inconclusive", "rationale": "no signal"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let (_, sla) = send(
        &app,
        ctx.request(
            "GET",
            "/api/v1/reports/decision-sla",
            Role::Analyst,
            Value::Null,
        ),
    )
    .await;
    let rows = sla["experiments"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "only running experiments: {sla}");
    assert_eq!(
        (rows[0]["experiment"].as_str(), rows[0]["status"].as_str()),
        (Some("cta_copy"), Some("on_track"))
    );
    let left = rows[0]["days_left"].as_f64().expect("days left");
    assert!(
        (13.9..=14.0).contains(&left),
        "target defaults to launch + 14 days: {left}"
    );

    let now = chrono::Utc::now();
    let uri = format!(
        "/api/v1/reports/experimentation?from={}&to={}",
        (now - chrono::TimeDelta::days(verdict::seed::DEMO_DAYS + 1)).format("%Y-%m-%dT%H:%M:%SZ"),
        (now + chrono::TimeDelta::days(1)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let (status, report) = send(&app, ctx.request("GET", &uri, Role::Analyst, Value::Null)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["launched"], json!(["cta_copy", "import_hint"]));
    assert_eq!(report["decided"], json!(["import_hint"]));
    let kr = |name: &str| {
        report["key_results"]
            .as_array()
            .expect("krs")
            .iter()
            .find(|k| k["name"].as_str().unwrap_or("").starts_with(name))
            .cloned()
            .expect("kr")
    };
    assert_eq!(
        (kr("KR4.1")["value"].as_f64(), kr("KR4.1")["met"].as_bool()),
        (Some(2.0), Some(false)),
        "2 of 4 experiments"
    );
    assert_eq!(kr("KR4.2 share")["value"].as_f64(), Some(1.0));
    assert!(
        kr("KR4.2 median")["value"]
            .as_f64()
            .is_some_and(|d| (0.0..0.01).contains(&d))
    );
    assert_eq!(
        (kr("KR4.3")["value"].as_f64(), kr("KR4.3")["met"].as_bool()),
        (Some(1.0), Some(true))
    );
    let (status, _) = send(
        &app,
        ctx.request(
            "GET",
            "/api/v1/reports/experimentation?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            Role::Analyst,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = send(
        &app,
        ctx.request(
            "GET",
            "/api/v1/reports/experimentation",
            Role::Analyst,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "period required");
}

/// The OKR report over the demo data: four experiments launched with guardrails
/// (KR4.1, KR4.3), two decided now, their time to decision checked against the
/// exposure log (KR4.2).
async fn okr_report_over_demo_data(backend: Backend) {
    let ctx = TestApp::new(backend);
    {
        let mut conn = ctx.pool().conn().expect("conn");
        verdict::seed::seed_demo(&mut conn, chrono::Utc::now().naive_utc()).expect("seed");
        verdict::seed::simulate_users(&mut conn, 200, 7, chrono::Utc::now().naive_utc())
            .expect("simulate");
    }
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    for (key, outcome) in [("cta_copy", "iterate"), ("import_hint", "inconclusive")] {
        let uri = format!("/api/v1/experiments/{key}/decisions");
        let (status, body) = send(
            &app,
            ctx.request(
                "POST",
                &uri,
                Role::Pm,
                json!({"outcome": outcome, "rationale": "demo read-out"}),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let now = chrono::Utc::now();
    let uri = format!(
        "/api/v1/reports/experimentation?from={}&to={}",
        (now - chrono::TimeDelta::days(verdict::seed::DEMO_DAYS + 1)).format("%Y-%m-%dT%H:%M:%SZ"),
        (now + chrono::TimeDelta::days(1)).format("%Y-%m-%dT%H:%M:%SZ")
    );
    let (status, report) = send(&app, ctx.request("GET", &uri, Role::Analyst, Value::Null)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        report["launched"],
        json!([
            "cta_copy",
            "digest_layout",
            "import_hint",
            "vip_paywall_copy"
        ])
    );
    assert_eq!(report["decided"], json!(["cta_copy", "import_hint"]));
    let kr = |prefix: &str| {
        report["key_results"]
            .as_array()
            .expect("krs")
            .iter()
            .find(|k| k["name"].as_str().unwrap_or("").starts_with(prefix))
            .cloned()
            .expect("kr")
    };
    assert_eq!(
        (kr("KR4.1")["value"].as_f64(), kr("KR4.1")["met"].as_bool()),
        (Some(4.0), Some(true))
    );
    assert_eq!(kr("KR4.2 share")["value"].as_f64(), Some(1.0));
    assert_eq!(
        kr("KR4.2 share")["experiments"],
        json!(["cta_copy", "import_hint"])
    );
    let median = kr("KR4.2 median")["value"].as_f64().expect("median");
    let days_since_first_exposure = |key: &str| {
        use diesel::prelude::*;
        use verdict::db::schema::exposures as x;
        let mut conn = ctx.pool().conn().expect("conn");
        let first: Option<chrono::NaiveDateTime> = x::table
            .filter(x::experiment_key.eq(key))
            .select(diesel::dsl::min(x::first_seen))
            .first(&mut *conn as &mut verdict::db::DbConnection)
            .expect("min");
        (now.naive_utc() - first.expect("exposed")).num_seconds() as f64 / 86_400.0
    };
    let expected =
        (days_since_first_exposure("cta_copy") + days_since_first_exposure("import_hint")) / 2.0;
    assert!(
        (median - expected).abs() < 0.01,
        "median {median} vs {expected} from the exposure log"
    );
    assert!(
        expected <= 14.0,
        "the simulation's exposures are within the last 14 days"
    );
    assert_eq!(
        (kr("KR4.3")["value"].as_f64(), kr("KR4.3")["met"].as_bool()),
        (Some(1.0), Some(true))
    );
}

backend_tests!(
    append_only_log_with_corrections,
    sla_and_okr_reports,
    okr_report_over_demo_data
);
