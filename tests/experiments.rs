//! Metric catalogue and experiments: CRUD, validation, lifecycle, launch
//! checklist, phases, analyst reads, audit.

mod common;

use actix_web::http::StatusCode;
use actix_web::test;
use common::{Backend, TestApp};
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict::db::{DbConnection, schema};
use verdict_testkit::{backend_tests, call};

fn audit_actions(ctx: &TestApp, entity_type: &str, key: &str) -> Vec<String> {
    let mut conn = ctx.pool().conn().expect("conn");
    schema::audit_log::table
        .filter(schema::audit_log::entity_type.eq(entity_type))
        .filter(schema::audit_log::entity_key.eq(key))
        .order(schema::audit_log::id)
        .select(schema::audit_log::action)
        .load(&mut *conn as &mut DbConnection)
        .expect("audit")
}

fn ctr_metric() -> Value {
    json!({
        "key": "alert_ctr",
        "name": "Alert CTR",
        "direction": "higher_is_better",
        "definition": {"type": "ratio",
            "numerator": {"event": "cta_click"},
            "denominator": {"event": "alerts_push_sent"}}
    })
}

async fn metric_catalogue_crud(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let (status, created) = call!(app, ctx, Role::Pm, post, "/api/v1/metrics", ctr_metric());
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["definition"]["type"], "ratio");
    let (status, _) = call!(app, ctx, Role::Pm, post, "/api/v1/metrics", ctr_metric());
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call!(
        app,
        ctx,
        Role::Analyst,
        post,
        "/api/v1/metrics",
        ctr_metric()
    );
    assert_eq!(status, StatusCode::FORBIDDEN);

    let conversion = json!({
        "key": "auto_topup",
        "name": "Auto top-up payment",
        "direction": "higher_is_better",
        "definition": {"type": "conversion", "event": "stars_payment_succeeded",
            "filters": [{"property": "auto_topup", "op": "eq", "value": true}],
            "window_hours": 168}
    });
    let (status, body) = call!(app, ctx, Role::Pm, post, "/api/v1/metrics", conversion);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, list) = call!(app, ctx, Role::Analyst, get, "/api/v1/metrics");
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|m| m["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, ["alert_ctr", "auto_topup"]);

    let mut changed = ctr_metric();
    changed["name"] = json!("Alert click-through");
    let (status, body) = call!(
        app,
        ctx,
        Role::Pm,
        put,
        "/api/v1/metrics/alert_ctr",
        changed
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, read) = call!(app, ctx, Role::Analyst, get, "/api/v1/metrics/alert_ctr");
    assert_eq!(read["name"], "Alert click-through");
    let (status, _) = call!(app, ctx, Role::Pm, delete, "/api/v1/metrics/auto_topup");
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call!(app, ctx, Role::Analyst, get, "/api/v1/metrics/auto_topup");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        audit_actions(&ctx, "metric", "alert_ctr"),
        ["create", "update"]
    );
    assert_eq!(
        audit_actions(&ctx, "metric", "auto_topup"),
        ["create", "delete"]
    );
}

async fn metric_validation_names_fields(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let cases = [
        (
            json!({"key": "r", "name": "R", "direction": "higher_is_better",
                "definition": {"type": "retention", "events": ["miniapp_auth"], "from_day": 7, "to_day": 1}}),
            "definition.to_day",
        ),
        (
            json!({"key": "s", "name": "S", "direction": "higher_is_better",
                "definition": {"type": "sum", "event": "stars_payment_succeeded", "winsorize_percentile": 100}}),
            "definition.winsorize_percentile",
        ),
        (
            json!({"key": "Bad Key", "name": "S", "direction": "lower_is_better",
                "definition": {"type": "count", "event": "alerts_push_blocked"}}),
            "key",
        ),
        (
            json!({"key": "f", "name": "F", "direction": "higher_is_better",
                "definition": {"type": "conversion", "event": "x",
                    "filters": [{"property": "stars", "op": "gt", "value": "many"}]}}),
            "definition.filters[0].value",
        ),
    ];
    for (body, field) in cases {
        let (status, problem) = call!(app, ctx, Role::Pm, post, "/api/v1/metrics", body);
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    let (status, problem) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/metrics",
        json!({"key": "k", "name": "K", "direction": "up", "definition": {"type": "nps", "event": "nps_survey"}})
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(problem["field"], "direction");
}

/// Metrics, a segment and the `cta_copy` flag (enabled in production, serving control).
async fn catalogue_and_flag<S, B>(app: &S, ctx: &TestApp)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let metrics = [
        ctr_metric(),
        json!({"key": "nps", "name": "NPS", "direction": "higher_is_better",
            "definition": {"type": "nps", "event": "nps_survey"}}),
        json!({"key": "churn", "name": "Churn", "direction": "lower_is_better",
            "definition": {"type": "conversion", "event": "subscription_cancelled"}}),
    ];
    for metric in metrics {
        let (status, body) = common::send(
            app,
            ctx.request("POST", "/api/v1/metrics", Role::Pm, metric),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = common::send(
        app,
        ctx.request(
            "POST",
            "/api/v1/segments",
            Role::Pm,
            json!({"key": "pro_users", "conditions": [{"attribute": "tier", "op": "in", "value": ["pro", "pro_plus"]}]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let flag = json!({
        "key": "cta_copy",
        "value_type": "string",
        "variants": [{"key": "control", "value": "Try Pro"}, {"key": "urgency", "value": "Ends today"}],
        "default_variant": "control",
        "environments": {"production": {"enabled": true, "fallthrough": {"variant": "control"}}}
    });
    let (status, body) =
        common::send(app, ctx.request("POST", "/api/v1/flags", Role::Pm, flag)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

fn cta_experiment() -> Value {
    json!({
        "key": "cta_copy",
        "name": "CTA copy",
        "hypothesis": "Urgency wording raises alert CTR by 10% without hurting NPS",
        "flag": "cta_copy",
        "arms": [{"variant": "control", "weight": 50}, {"variant": "urgency", "weight": 50}],
        "audience": {"segments": ["pro_users"]},
        "allocation": 20,
        "primary_metric": "alert_ctr",
        "guardrails": [
            {"metric": "nps", "max_degradation": 2.0},
            {"metric": "churn", "max_degradation": 0.005}
        ],
        "analysis": {"engine": "sequential", "cuped": true, "cuped_pre_period_days": 7},
        "minimum_detectable_effect": 0.1
    })
}

fn failed_items(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

async fn experiment_definition_and_reads(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    catalogue_and_flag(&app, &ctx).await;
    let (status, created) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments",
        cta_experiment()
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["status"], "draft");
    assert_eq!(created["owner"], "test-pm", "owner defaults to the caller");
    assert_eq!(created["environment"], "production");
    assert_eq!(created["analysis"]["alpha"], 0.05);
    assert_eq!(created["current_phase"], 0);
    let (status, _) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments",
        cta_experiment()
    );
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call!(
        app,
        ctx,
        Role::Analyst,
        post,
        "/api/v1/experiments",
        cta_experiment()
    );
    assert_eq!(status, StatusCode::FORBIDDEN);

    let mut bad = cta_experiment();
    bad["key"] = json!("bad_refs");
    bad["primary_metric"] = json!("revenue");
    bad["guardrails"][0]["max_degradation"] = json!(-1);
    bad["allocation"] = json!(0);
    bad["analysis"]["alpha"] = json!(0.7);
    let (status, problem) = call!(app, ctx, Role::Pm, post, "/api/v1/experiments", bad);
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let mut fields = failed_items(&problem);
    fields.sort();
    assert_eq!(
        fields,
        [
            "allocation",
            "analysis.alpha",
            "guardrails[0].max_degradation",
            "primary_metric"
        ]
    );
    let mut keyless = cta_experiment();
    keyless.as_object_mut().expect("object").remove("key");
    let (status, problem) = call!(app, ctx, Role::Pm, post, "/api/v1/experiments", keyless);
    assert_eq!(
        (status, problem["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("key"))
    );

    let mut other = cta_experiment();
    other["key"] = json!("digest_layout");
    other["owner"] = json!("bob");
    let (status, _) = call!(app, ctx, Role::Pm, post, "/api/v1/experiments", other);
    assert_eq!(status, StatusCode::CREATED);
    let keys = |list: &Value| -> Vec<String> {
        list.as_array()
            .expect("list")
            .iter()
            .map(|e| e["key"].as_str().expect("key").to_owned())
            .collect()
    };
    let (_, all) = call!(app, ctx, Role::Analyst, get, "/api/v1/experiments");
    assert_eq!(keys(&all).len(), 2);
    let (_, bobs) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments?owner=bob&status=draft"
    );
    assert_eq!(keys(&bobs), ["digest_layout"]);
    let (_, running) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments?status=running"
    );
    assert!(keys(&running).is_empty());
    let (_, future) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments?created_from=2100-01-01T00:00:00Z"
    );
    assert!(keys(&future).is_empty());
    let (status, _) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments?status=paused"
    );
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, detail) = call!(app, ctx, Role::Analyst, get, "/api/v1/experiments/cta_copy");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["phases"], json!([]));
    assert_eq!(detail["guardrails"][1]["margin_type"], "absolute");
    let (status, _) = call!(app, ctx, Role::Analyst, get, "/api/v1/experiments/nope");
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, problem) = call!(app, ctx, Role::Pm, delete, "/api/v1/metrics/nps");
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a used metric stays: {problem}"
    );
}

async fn launch_reports_every_failed_item(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    catalogue_and_flag(&app, &ctx).await;
    let draft = json!({
        "key": "sloppy",
        "name": "Sloppy",
        "flag": "no_such_flag",
        "arms": [{"variant": "control", "weight": 40}, {"variant": "b", "weight": 40}]
    });
    let (status, body) = call!(app, ctx, Role::Pm, post, "/api/v1/experiments", draft);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, checklist) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/experiments/sloppy/checklist"
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(checklist["passed"], false);
    let (status, problem) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/sloppy/launch"
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        failed_items(&problem),
        [
            "checklist.hypothesis",
            "checklist.primary_metric",
            "checklist.flag",
            "checklist.weights",
            "checklist.guardrail"
        ]
    );
    let (_, still) = call!(app, ctx, Role::Analyst, get, "/api/v1/experiments/sloppy");
    assert_eq!(still["status"], "draft");
}

async fn guardrail_policy_require_and_warn(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    catalogue_and_flag(&app, &ctx).await;
    let mut unguarded = cta_experiment();
    unguarded["guardrails"] = json!([]);
    let (status, _) = call!(app, ctx, Role::Pm, post, "/api/v1/experiments", unguarded);
    assert_eq!(status, StatusCode::CREATED);
    let (status, problem) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/cta_copy/launch"
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(failed_items(&problem), ["checklist.guardrail"]);

    let warn = ctx.replica(verdict::state::Settings {
        guardrail_policy: verdict::experiments::GuardrailPolicy::Warn,
        ..Default::default()
    });
    let app = test::init_service(verdict::app::build(warn)).await;
    let (status, launched) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/cta_copy/launch"
    );
    assert_eq!(status, StatusCode::OK, "{launched}");
    assert_eq!(launched["status"], "running");
    assert_eq!(launched["launched_without_guardrail"], true);
    let guardrail_item = launched["checklist"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["item"] == "guardrail")
        .cloned()
        .expect("guardrail item");
    assert_eq!(guardrail_item["status"], "warning");
    let (status, coverage) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        "/api/v1/reports/guardrail-coverage"
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        coverage,
        json!({"launched": 1, "with_guardrail": 0, "share": 0.0, "without_guardrail": ["cta_copy"]})
    );
}

async fn lifecycle_phases_and_flag_rule(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    catalogue_and_flag(&app, &ctx).await;
    let (status, _) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments",
        cta_experiment()
    );
    assert_eq!(status, StatusCode::CREATED);
    let (status, problem) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/cta_copy/decide"
    );
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, launched) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/cta_copy/launch"
    );
    assert_eq!(status, StatusCode::OK, "{launched}");
    assert_eq!(launched["current_phase"], 1);
    assert_eq!(launched["launched_without_guardrail"], false);
    let started =
        chrono::DateTime::parse_from_rfc3339(launched["started_at"].as_str().expect("started"))
            .expect("time");
    let due = chrono::DateTime::parse_from_rfc3339(
        launched["target_decision_date"].as_str().expect("due"),
    )
    .expect("time");
    assert_eq!(due - started, chrono::TimeDelta::days(14));
    let (status, _) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/cta_copy/launch"
    );
    assert_eq!(status, StatusCode::CONFLICT, "launching twice");

    let rule = |flag: &Value| -> Option<Value> {
        flag["environments"]["production"]["rules"]
            .as_array()
            .and_then(|rules| {
                rules
                    .iter()
                    .find(|r| r["id"] == "experiment:cta_copy")
                    .cloned()
            })
    };
    let (_, flag) = call!(app, ctx, Role::Analyst, get, "/api/v1/flags/cta_copy");
    let installed = rule(&flag).expect("experiment rule installed");
    assert_eq!(installed["segments"], json!(["pro_users"]));
    assert_eq!(installed["serve"]["split"]["rollout"], 20.0);
    assert_eq!(installed["serve"]["split"]["salt"], "cta_copy:1");
    assert_eq!(
        installed["serve"]["split"]["experiment"],
        json!({"key": "cta_copy", "phase": 1})
    );

    // Editing the assignment of a running experiment is refused and points to phases.
    let mut reweighted = cta_experiment();
    reweighted["arms"] =
        json!([{"variant": "control", "weight": 20}, {"variant": "urgency", "weight": 80}]);
    let (status, problem) = call!(
        app,
        ctx,
        Role::Pm,
        put,
        "/api/v1/experiments/cta_copy",
        reweighted
    );
    assert_eq!(status, StatusCode::CONFLICT);
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("arms") && detail.contains("/phases"),
        "{detail}"
    );
    let mut renamed = cta_experiment();
    renamed["name"] = json!("CTA copy (urgency)");
    let (status, body) = call!(
        app,
        ctx,
        Role::Pm,
        put,
        "/api/v1/experiments/cta_copy",
        renamed
    );
    assert_eq!(
        status,
        StatusCode::OK,
        "non-assignment fields stay editable: {body}"
    );

    let (status, problem) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/cta_copy/phases",
        json!({"reason": "bad weights", "arms": [{"variant": "control", "weight": 10}, {"variant": "urgency", "weight": 10}]})
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, phased) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/cta_copy/phases",
        json!({"reason": "ramp up to everyone", "allocation": 100})
    );
    assert_eq!(status, StatusCode::CREATED, "{phased}");
    assert_eq!(phased["current_phase"], 2);
    assert_eq!(phased["allocation"], 100.0);
    let phases = phased["phases"].as_array().expect("phases");
    assert_eq!(phases.len(), 2);
    assert_eq!(phases[0]["allocation"], 20.0);
    assert!(phases[0]["ended_at"].is_string());
    assert_eq!(phases[1]["salt"], "cta_copy:2");
    assert_eq!(phases[1]["reason"], "ramp up to everyone");
    assert!(phases[1]["ended_at"].is_null());
    let (_, flag) = call!(app, ctx, Role::Analyst, get, "/api/v1/flags/cta_copy");
    let installed = rule(&flag).expect("rule re-written");
    assert_eq!(installed["serve"]["split"]["salt"], "cta_copy:2");
    assert_eq!(installed["serve"]["split"]["rollout"], 100.0);

    // Evaluation now reports phase-2 exposures for the audience.
    let (status, eval) = call!(
        app,
        ctx,
        Role::Sdk,
        post,
        "/api/v1/evaluate/cta_copy",
        json!({"context": {"user_id": "42", "tier": "pro"}})
    );
    assert_eq!(status, StatusCode::OK, "{eval}");
    assert!(
        ["control", "urgency"].contains(&eval["variant"].as_str().unwrap_or("")),
        "{eval}"
    );

    let (status, stopped) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/cta_copy/stop"
    );
    assert_eq!(status, StatusCode::OK, "{stopped}");
    assert_eq!(stopped["status"], "stopped");
    let (_, flag) = call!(app, ctx, Role::Analyst, get, "/api/v1/flags/cta_copy");
    assert!(rule(&flag).is_none(), "stopping removes the rule");
    let (status, _) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/cta_copy/phases",
        json!({"reason": "too late"})
    );
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/cta_copy/decide"
    );
    assert_eq!(status, StatusCode::OK);
    let (status, archived) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/cta_copy/archive"
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(archived["status"], "archived");
    let (status, _) = call!(
        app,
        ctx,
        Role::Pm,
        put,
        "/api/v1/experiments/cta_copy",
        cta_experiment()
    );
    assert_eq!(status, StatusCode::CONFLICT, "archived is read-only");
    let (_, detail) = call!(app, ctx, Role::Analyst, get, "/api/v1/experiments/cta_copy");
    assert!(
        detail["phases"][1]["ended_at"].is_string(),
        "stop ends the phase"
    );
    assert_eq!(
        audit_actions(&ctx, "experiment", "cta_copy"),
        [
            "create",
            "launch",
            "update",
            "new_phase",
            "stop",
            "decide",
            "archive"
        ]
    );
}

async fn overlapping_experiments_are_refused(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    catalogue_and_flag(&app, &ctx).await;
    let (status, _) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments",
        cta_experiment()
    );
    assert_eq!(status, StatusCode::CREATED);
    let mut twin = cta_experiment();
    twin["key"] = json!("cta_copy_twin");
    let (status, _) = call!(app, ctx, Role::Pm, post, "/api/v1/experiments", twin);
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/cta_copy/launch"
    );
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = call!(
        app,
        ctx,
        Role::Pm,
        post,
        "/api/v1/experiments/cta_copy_twin/launch"
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(failed_items(&problem), ["checklist.overlap"]);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("cta_copy")
    );
}

/// The analysis window of a unit starts at its first exposure in the phase.
async fn exposure_window_joins_events(backend: Backend) {
    use chrono::{TimeDelta, Utc};
    use verdict::exposures::{ExposureRecord, insert_batch};
    use verdict::metrics_catalog as catalog;
    use verdict_testkit::reference::{arm_data, unit_values};

    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    catalogue_and_flag(&app, &ctx).await;
    let clicks = json!({"key": "clicked", "name": "Clicked", "direction": "higher_is_better",
        "definition": {"type": "conversion", "event": "cta_click"}});
    let (status, _) = call!(app, ctx, Role::Pm, post, "/api/v1/metrics", clicks);
    assert_eq!(status, StatusCode::CREATED);
    let now = Utc::now();
    let at = |minutes: i64| (now - TimeDelta::minutes(minutes)).naive_utc();
    let ev = |id: &str, unit: &str, name: &str, minutes_ago: i64, value: Option<f64>| {
        json!({"event_id": id, "unit_id": unit, "name": name, "value": value,
            "timestamp": (now - TimeDelta::minutes(minutes_ago)).to_rfc3339()})
    };
    let events = json!({"events": [
        ev("1", "u1", "cta_click", 180, None),
        ev("2", "u1", "cta_click", 90, None),
        ev("3", "u1", "alerts_push_sent", 100, None),
        ev("4", "u1", "alerts_push_sent", 80, None),
        ev("5", "u2", "alerts_push_sent", 50, None),
        ev("6", "u3", "cta_click", 50, None),
        ev("7", "u1", "nps_survey", 70, Some(10.0)),
        ev("8", "u2", "nps_survey", 40, Some(3.0)),
    ]});
    let (status, body) = call!(app, ctx, Role::Sdk, post, "/api/v1/events", events);
    assert_eq!(
        (status, body["accepted"].clone()),
        (StatusCode::OK, json!(8)),
        "{body}"
    );
    let record = |phase: i32, unit: &str, variant: &str, minutes_ago: i64| ExposureRecord {
        experiment_key: "cta_copy".into(),
        phase,
        unit_id: unit.into(),
        variant: variant.into(),
        first_seen: at(minutes_ago),
        dimensions: None,
    };
    let mut conn = ctx.pool().conn().expect("conn");
    let conn: &mut DbConnection = &mut conn;
    insert_batch(
        conn,
        &[
            record(1, "u1", "control", 120),
            record(1, "u2", "urgency", 60),
            record(2, "u1", "urgency", 30),
        ],
    )
    .expect("exposures");
    let as_of = now.naive_utc();
    let values = |conn: &mut DbConnection, key: &str, phase: u32, pre: Option<u32>| {
        let m = catalog::get(conn, key).expect("metric");
        let mut v = unit_values(conn, "cta_copy", phase, &m, as_of, pre);
        v.sort_by(|a, b| a.unit_id.cmp(&b.unit_id));
        v
    };
    let clicked = values(conn, "clicked", 1, Some(1));
    let summary: Vec<(&str, f64, Option<f64>)> = clicked
        .iter()
        .map(|u| (u.unit_id.as_str(), u.value, u.pre_value))
        .collect();
    assert_eq!(
        summary,
        [("u1", 1.0, Some(1.0)), ("u2", 0.0, Some(0.0))],
        "u1 clicked before and after exposure; u3 was never exposed"
    );
    let ctr = values(conn, "alert_ctr", 1, None);
    let ratios: Vec<(f64, Option<f64>)> = ctr.iter().map(|u| (u.value, u.denominator)).collect();
    assert_eq!(ratios, [(1.0, Some(2.0)), (0.0, Some(1.0))]);
    let nps = values(conn, "nps", 1, None);
    let scores: Vec<f64> = nps.iter().map(|u| u.value).collect();
    assert_eq!(scores, [100.0, -100.0]);
    let phase2 = values(conn, "clicked", 2, None);
    assert_eq!(
        phase2
            .iter()
            .map(|u| (u.unit_id.as_str(), u.value))
            .collect::<Vec<_>>(),
        [("u1", 0.0)],
        "the phase-2 window starts at the phase-2 exposure"
    );
    let arms = arm_data(&clicked, &["control".into(), "urgency".into()]);
    assert_eq!(
        (arms[0].n, arms[0].sum, arms[1].n, arms[1].sum),
        (1.0, Some(1.0), 1.0, Some(0.0))
    );
    assert_eq!(arms[0].post_pre_sum_product, Some(1.0));
    let spec =
        verdict::metrics_catalog::metric_spec(&catalog::get(conn, "churn").expect("churn"), false);
    assert!(spec.inverse);
}

backend_tests!(
    exposure_window_joins_events,
    metric_catalogue_crud,
    metric_validation_names_fields,
    experiment_definition_and_reads,
    launch_reports_every_failed_item,
    guardrail_policy_require_and_warn,
    lifecycle_phases_and_flag_rule,
    overlapping_experiments_are_refused,
);
