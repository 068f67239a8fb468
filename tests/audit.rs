//! The audit log API: filters, cursor paging, bad query parameters.

mod common;

use actix_web::http::StatusCode;
use actix_web::test;
use common::{Backend, TestApp, send};
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict_testkit::backend_tests;

async fn audit_filters_and_pages(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    for key in ["a", "b", "c"] {
        let segment =
            json!({"key": key, "conditions": [{"attribute": "tier", "op": "eq", "value": key}]});
        let (status, _) = send(
            &app,
            ctx.request("POST", "/api/v1/segments", Role::Pm, segment),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, _) = send(
        &app,
        ctx.request("DELETE", "/api/v1/segments/b", Role::Admin, Value::Null),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let get = |query: &str| {
        ctx.request(
            "GET",
            &format!("/api/v1/audit{query}"),
            Role::Admin,
            Value::Null,
        )
    };
    let (_, page) = send(&app, get("?limit=3")).await;
    let keys: Vec<(&str, &str)> = page["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["entity_key"].as_str().unwrap_or(""),
                e["action"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![("b", "delete"), ("c", "create"), ("b", "create")],
        "newest first"
    );
    let cursor = page["next_cursor"].as_i64().expect("more pages");
    let (_, rest) = send(&app, get(&format!("?limit=3&cursor={cursor}"))).await;
    assert_eq!(rest["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest["entries"][0]["entity_key"], "a");
    assert!(rest["next_cursor"].is_null(), "last page");
    let (_, deleted) = send(&app, get("?entity_key=b&actor=test-admin")).await;
    let entry = &deleted["entries"][0];
    assert_eq!(
        (entry["action"].as_str(), entry["after"].is_null()),
        (Some("delete"), true)
    );
    assert_eq!(entry["before"]["conditions"][0]["value"], "b");
    let (_, none) = send(&app, get("?from=2999-01-01T00:00:00Z")).await;
    assert_eq!(none["entries"], json!([]));

    for (query, status) in [
        ("?limit=abc", StatusCode::BAD_REQUEST),
        ("?from=yesterday", StatusCode::BAD_REQUEST),
        ("?colour=red", StatusCode::BAD_REQUEST),
        ("?limit=0", StatusCode::BAD_REQUEST),
    ] {
        let (got, problem) = send(&app, get(query)).await;
        assert_eq!(got, status, "{query}: {problem}");
        assert!(problem["detail"].is_string(), "{query}: problem+json");
    }
}

backend_tests!(audit_filters_and_pages);
