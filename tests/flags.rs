//! Flags, segments and layers over REST: CRUD, validation, audit, kill switch.

mod common;

use actix_web::http::StatusCode;
use actix_web::test;
use common::{Backend, TestApp, send};
use diesel::prelude::*;
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict::db::{DbConnection, schema::audit_log};
use verdict_testkit::backend_tests;

/// actor, entity type, action, before, after.
type AuditRow = (String, String, String, Option<String>, Option<String>);

fn cta_copy() -> Value {
    json!({
        "key": "cta_copy",
        "description": "Main-menu CTA",
        "value_type": "string",
        "variants": [
            {"key": "control", "value": "Try Pro free"},
            {"key": "urgency", "value": "Pro trial ends today"}
        ],
        "default_variant": "control",
        "environments": {
            "production": {
                "enabled": true,
                "rules": [{"id": "vips", "segments": ["vip_users"], "serve": {"variant": "urgency"}}],
                "fallthrough": {"variant": "control"}
            }
        }
    })
}

fn vip_users() -> Value {
    json!({"key": "vip_users", "conditions": [{"attribute": "tier", "op": "in", "value": ["vip"]}]})
}

async fn crud_audit_and_kill_switch(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let (status, body) = send(
        &app,
        ctx.request("POST", "/api/v1/flags", Role::Pm, cta_copy()),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown segment refused: {body}"
    );
    assert_eq!(
        body["field"],
        "environments.production.rules[0].segments[0]"
    );

    let (status, _) = send(
        &app,
        ctx.request("POST", "/api/v1/segments", Role::Pm, vip_users()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, created) = send(
        &app,
        ctx.request("POST", "/api/v1/flags", Role::Pm, cta_copy()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["version"], 1);
    assert_eq!(created["updated_by"], "test-pm");
    assert_eq!(created["bucket_by"], "user_id");

    let (status, _) = send(
        &app,
        ctx.request("POST", "/api/v1/flags", Role::Pm, cta_copy()),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "duplicate key");

    let eval = |tier: &str| {
        ctx.request(
            "POST",
            "/api/v1/evaluate/cta_copy",
            Role::Sdk,
            json!({"context": {"user_id": "7", "tier": tier}}),
        )
    };
    let (_, vip) = send(&app, eval("vip")).await;
    assert_eq!(
        (vip["variant"].as_str(), vip["reason"].as_str()),
        (Some("urgency"), Some("TARGETING_MATCH"))
    );
    let (_, pro) = send(&app, eval("pro")).await;
    assert_eq!(pro["value"], "Try Pro free");

    let mut replaced = cta_copy();
    replaced["description"] = json!("changed");
    replaced["expected_version"] = json!(5);
    let (status, body) = send(
        &app,
        ctx.request("PUT", "/api/v1/flags/cta_copy", Role::Pm, replaced.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "stale version: {body}");
    replaced["expected_version"] = json!(1);
    let (status, body) = send(
        &app,
        ctx.request("PUT", "/api/v1/flags/cta_copy", Role::Admin, replaced),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["version"].as_i64(), body["updated_by"].as_str()),
        (Some(2), Some("test-admin"))
    );

    let (status, body) = send(
        &app,
        ctx.request(
            "PATCH",
            "/api/v1/flags/cta_copy/environments/production",
            Role::Pm,
            json!({"enabled": false}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, killed) = send(&app, eval("vip")).await;
    assert_eq!(
        (killed["variant"].as_str(), killed["reason"].as_str()),
        (Some("control"), Some("DISABLED"))
    );
    assert_eq!(killed["version"], 3);

    let (status, body) = send(
        &app,
        ctx.request(
            "DELETE",
            "/api/v1/segments/vip_users",
            Role::Pm,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "segment in use: {body}");
    let (status, _) = send(
        &app,
        ctx.request("DELETE", "/api/v1/flags/cta_copy", Role::Pm, Value::Null),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(
        &app,
        ctx.request("GET", "/api/v1/flags/cta_copy", Role::Analyst, Value::Null),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(&app, eval("vip")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "deleted flag no longer evaluates"
    );

    let entries: Vec<AuditRow> = {
        let mut conn = ctx.pool().conn().expect("conn");
        audit_log::table
            .order(audit_log::id.asc())
            .select((
                audit_log::actor,
                audit_log::entity_type,
                audit_log::action,
                audit_log::before_json,
                audit_log::after_json,
            ))
            .load(&mut *conn as &mut DbConnection)
            .expect("audit rows")
    };
    let summary: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|(actor, kind, action, _, _)| (actor.as_str(), kind.as_str(), action.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("test-pm", "segment", "create"),
            ("test-pm", "flag", "create"),
            ("test-admin", "flag", "update"),
            ("test-pm", "flag", "update"),
            ("test-pm", "flag", "delete"),
        ]
    );
    let (_, _, _, before, after) = &entries[2];
    let before: Value = serde_json::from_str(before.as_deref().expect("before")).expect("json");
    let after: Value = serde_json::from_str(after.as_deref().expect("after")).expect("json");
    assert_eq!(
        (
            before["description"].as_str(),
            after["description"].as_str()
        ),
        (Some("Main-menu CTA"), Some("changed"))
    );
    assert!(entries[4].4.is_none(), "a delete has no after");
}

async fn validation_names_the_field(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let with = |path: &[&str], value: Value| {
        let mut flag = cta_copy();
        flag["environments"]["production"]["rules"] = json!([]);
        let mut slot = &mut flag;
        for key in &path[..path.len() - 1] {
            slot = match key.parse::<usize>() {
                Ok(i) => &mut slot[i],
                Err(_) => &mut slot[*key],
            };
        }
        slot[path[path.len() - 1]] = value;
        flag
    };
    let split = |w1: f64, w2: f64| json!({"split": {"weights": [{"variant": "control", "weight": w1}, {"variant": "urgency", "weight": w2}]}});
    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            with(
                &["environments", "production", "rules"],
                json!([{"id": "r", "conditions": [{"attribute": "tier", "op": "like", "value": "x"}], "serve": {"variant": "control"}}]),
            ),
            StatusCode::BAD_REQUEST,
            "environments.production.rules[0].conditions[0].op",
        ),
        (
            with(
                &["environments", "production", "fallthrough"],
                split(60.0, 30.0),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "environments.production.fallthrough.split.weights",
        ),
        (
            with(&["variants", "1", "key"], json!("control")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "variants[1].key",
        ),
        (
            with(&["variants", "1", "value"], json!(42)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "variants[1].value",
        ),
        (
            with(
                &["environments", "production", "rules"],
                json!([{"id": "r", "segments": ["nobody"], "serve": {"variant": "control"}}]),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "environments.production.rules[0].segments[0]",
        ),
        (
            with(&["key"], json!("Not A Slug")),
            StatusCode::UNPROCESSABLE_ENTITY,
            "key",
        ),
        (
            with(&["value_type"], json!("text")),
            StatusCode::BAD_REQUEST,
            "value_type",
        ),
        (
            with(&["colour"], json!("red")),
            StatusCode::BAD_REQUEST,
            ".",
        ),
        (
            with(&["variants"], json!("control")),
            StatusCode::BAD_REQUEST,
            "variants",
        ),
        (
            with(
                &["environments", "qa"],
                json!({"enabled": true, "fallthrough": {"variant": "control"}}),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "environments.qa",
        ),
    ];
    for (body, status, field) in cases {
        let (got, problem) = send(&app, ctx.request("POST", "/api/v1/flags", Role::Pm, body)).await;
        assert_eq!(got, status, "{problem}");
        if field == "." {
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap_or("")
                    .contains("unknown field `colour`"),
                "{problem}"
            );
        } else {
            let fields: Vec<&str> = problem["errors"]
                .as_array()
                .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
                .unwrap_or_else(|| problem["field"].as_str().into_iter().collect());
            assert!(fields.contains(&field), "expected {field} in {problem}");
        }
    }
    let (status, flags) = send(
        &app,
        ctx.request("GET", "/api/v1/flags", Role::Analyst, Value::Null),
    )
    .await;
    assert_eq!(
        (status, flags),
        (StatusCode::OK, json!([])),
        "nothing invalid was stored"
    );
}

async fn layers_keep_units_apart(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    for key in ["paywall_a", "paywall_b"] {
        let flag = json!({
            "key": key, "value_type": "boolean",
            "variants": [{"key": "off", "value": false}, {"key": "on", "value": true}],
            "default_variant": "off",
            "environments": {"production": {"enabled": true, "fallthrough": {"variant": "on"}}}
        });
        let (status, body) = send(&app, ctx.request("POST", "/api/v1/flags", Role::Pm, flag)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let overlapping = json!({"key": "paywall", "members": [
        {"flag": "paywall_a", "range": {"start": 0, "end": 6000}},
        {"flag": "paywall_b", "range": {"start": 5000, "end": 10000}}]});
    let (status, body) = send(
        &app,
        ctx.request("POST", "/api/v1/layers", Role::Pm, overlapping),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let layer = json!({"key": "paywall", "holdout": {"start": 0, "end": 1000}, "members": [
        {"flag": "paywall_a", "range": {"start": 1000, "end": 5500}},
        {"flag": "paywall_b", "range": {"start": 5500, "end": 10000}}]});
    let (status, body) = send(&app, ctx.request("POST", "/api/v1/layers", Role::Pm, layer)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (mut both, mut neither) = (0, 0);
    for user in 0..500 {
        let (_, res) = send(
            &app,
            ctx.request(
                "POST",
                "/api/v1/evaluate",
                Role::Sdk,
                json!({"context": {"user_id": user.to_string()}}),
            ),
        )
        .await;
        let on: Vec<bool> = res["flags"]
            .as_array()
            .expect("flags")
            .iter()
            .map(|f| f["value"] == json!(true))
            .collect();
        assert_eq!(on.len(), 2);
        both += usize::from(on[0] && on[1]);
        neither += usize::from(!on[0] && !on[1]);
    }
    assert_eq!(both, 0, "a unit sees at most one member of a layer");
    assert!(
        (20..=90).contains(&neither),
        "about 10% holdout, got {neither}/500"
    );
    let (status, _) = send(
        &app,
        ctx.request("DELETE", "/api/v1/flags/paywall_a", Role::Pm, Value::Null),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a layer member cannot be deleted"
    );
}

backend_tests!(
    crud_audit_and_kill_switch,
    validation_names_the_field,
    layers_keep_units_apart,
);
