//! Metric catalogue and experiments: CRUD, validation, lifecycle, launch
//! checklist, phases, analyst reads, audit.

mod common;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use common::{Backend, TestApp};
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict::db::{DbConnection, schema};

/// Calls `$method $uri` as `$role` with an optional JSON body; evaluates to
/// `(status, json body)`.
macro_rules! call {
    ($app:expr, $ctx:expr, $role:expr, $method:ident, $uri:expr) => {
        call!($app, $ctx, $role, $method, $uri, Value::Null)
    };
    ($app:expr, $ctx:expr, $role:expr, $method:ident, $uri:expr, $body:expr) => {{
        let mut req = TestRequest::$method()
            .uri(&$uri)
            .insert_header($ctx.bearer($role));
        let body: Value = $body;
        if !body.is_null() {
            req = req.set_json(body);
        }
        let res = test::call_service(&$app, req.to_request()).await;
        let status = res.status();
        let body: Value =
            serde_json::from_slice(&test::read_body(res).await).unwrap_or(Value::Null);
        (status, body)
    }};
}

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

backend_tests!(metric_catalogue_crud, metric_validation_names_fields);
