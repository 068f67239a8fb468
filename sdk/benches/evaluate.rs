//! Per-flag evaluation cost through the SDK's typed API on a warm snapshot
//! (bootstrap ruleset; no network in the measured path).
//!
//! Run: `cargo bench -p verdict-sdk --bench evaluate`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use verdict_sdk::{Client, ContextBuilder, Ruleset};

fn flag(key: &str, experiment: bool) -> Value {
    let mut fallthrough = json!({"split": {"rollout": 80.0, "weights": [
        {"variant": "control", "weight": 34.0},
        {"variant": "urgency", "weight": 33.0},
        {"variant": "social", "weight": 33.0}
    ]}});
    if experiment {
        fallthrough["split"]["experiment"] = json!({"key": key, "phase": 1});
    }
    json!({
        "key": key, "value_type": "string",
        "variants": [
            {"key": "control", "value": "Buy now"},
            {"key": "urgency", "value": "Only 3 left!"},
            {"key": "social", "value": "Popular choice"}
        ],
        "default_variant": "control", "version": 1, "enabled": true,
        "rules": [
            {"id": "internal", "conditions": [
                {"attribute": "email", "op": "ends_with", "value": "@verdict.dev"}
            ], "serve": {"variant": "urgency"}},
            {"id": "old_apps", "conditions": [
                {"attribute": "app_version", "op": "semver_lt", "value": "2.0.0"},
                {"attribute": "country", "op": "in", "value": ["de", "fr", "it", "es"]}
            ], "serve": {"variant": "control"}},
            {"id": "vip", "segments": ["vip_users"], "conditions": [
                {"attribute": "age", "op": "gte", "value": 18}
            ], "serve": {"split": {"rollout": 50.0, "weights": [
                {"variant": "urgency", "weight": 50.0}, {"variant": "social", "weight": 50.0}
            ]}}}
        ],
        "fallthrough": fallthrough
    })
}

fn ruleset() -> Ruleset {
    let mut flags: Vec<Value> = (0..50).map(|i| flag(&format!("flag_{i}"), false)).collect();
    flags.push(flag("experiment", true));
    flags.push(json!({
        "key": "dark_mode", "value_type": "boolean",
        "variants": [{"key": "off", "value": false}, {"key": "on", "value": true}],
        "default_variant": "off", "enabled": true,
        "fallthrough": {"split": {"weights": [
            {"variant": "off", "weight": 50.0}, {"variant": "on", "weight": 50.0}]}}
    }));
    serde_json::from_value(json!({
        "environment": "bench",
        "flags": flags,
        "segments": [{"key": "vip_users", "conditions": [
            {"attribute": "tier", "op": "in", "value": ["vip", "gold"]}
        ]}]
    }))
    .expect("bench ruleset is valid")
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let _guard = runtime.enter();
    // Nothing listens on port 9: the background refresh fails and backs
    // off; the bootstrap snapshot stays warm.
    let client = Client::builder("http://127.0.0.1:9", "bench")
        .bootstrap(ruleset())
        .refresh_interval(Duration::from_secs(3600))
        .flush_interval(Duration::from_secs(3600))
        .build()
        .expect("client");
    let ctx = ContextBuilder::new()
        .unit_id("user-123456")
        .attribute("email", "ann@example.com")
        .attribute("app_version", "2.4.1")
        .attribute("country", "de")
        .attribute("tier", "free")
        .attribute("age", 30)
        .build();

    c.bench_function("sdk_string_value_targeting_split", |b| {
        b.iter(|| client.string_value(black_box("flag_7"), black_box(&ctx), "Buy now"))
    });
    c.bench_function("sdk_bool_value_split", |b| {
        b.iter(|| client.bool_value(black_box("dark_mode"), black_box(&ctx), false))
    });
    c.bench_function("sdk_string_value_experiment_exposure_dedup", |b| {
        b.iter(|| client.string_value(black_box("experiment"), black_box(&ctx), "Buy now"))
    });
    c.bench_function("sdk_variant_details", |b| {
        b.iter(|| client.variant(black_box("flag_7"), black_box(&ctx)))
    });
    c.bench_function("sdk_bool_value_unknown_flag", |b| {
        b.iter(|| client.bool_value(black_box("missing"), black_box(&ctx), false))
    });
    let keys: Vec<String> = (0..50).map(|i| format!("flag_{i}")).collect();
    c.bench_function("sdk_string_value_50_flags", |b| {
        b.iter(|| {
            for k in &keys {
                black_box(client.string_value(k, black_box(&ctx), "Buy now"));
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
