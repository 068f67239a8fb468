//! Hot-path benchmarks: one flag with targeting + split, and 50 flags whose
//! rules repeat the same conditions (as flags gated on one segment or app
//! version do) or each test their own operands.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use verdict_core::{CompiledRuleset, Context, Ruleset};

/// A flag with three rules; `n` makes its operands its own (`None`: the
/// operands every such flag shares).
fn flag(key: &str, n: Option<usize>) -> Value {
    let (domain, version, age) = match n {
        Some(n) => (format!("@verdict{n}.dev"), format!("2.{n}.0"), 18 + n),
        None => ("@verdict.dev".to_owned(), "2.0.0".to_owned(), 18),
    };
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
                {"attribute": "email", "op": "ends_with", "value": domain}
            ], "serve": {"variant": "urgency"}},
            {"id": "old_apps", "conditions": [
                {"attribute": "app_version", "op": "semver_lt", "value": version},
                {"attribute": "country", "op": "in", "value": ["de", "fr", "it", "es"]}
            ], "serve": {"variant": "control"}},
            {"id": "vip", "segments": ["vip_users"], "conditions": [
                {"attribute": "age", "op": "gte", "value": age}
            ], "serve": {"split": {"rollout": 50.0, "weights": [
                {"variant": "urgency", "weight": 50.0}, {"variant": "social", "weight": 50.0}
            ]}}}
        ],
        "fallthrough": {"split": {"rollout": 80.0, "weights": [
            {"variant": "control", "weight": 34.0},
            {"variant": "urgency", "weight": 33.0},
            {"variant": "social", "weight": 33.0}
        ], "experiment": {"key": key, "phase": 1}}}
    })
}

fn compiled(n: usize, distinct: bool) -> CompiledRuleset {
    let flags: Vec<Value> = (0..n)
        .map(|i| flag(&format!("flag_{i}"), distinct.then_some(i)))
        .collect();
    let rs: Ruleset = serde_json::from_value(json!({
        "environment": "bench",
        "flags": flags,
        "segments": [{"key": "vip_users", "conditions": [
            {"attribute": "tier", "op": "in", "value": ["vip", "gold"]}
        ]}]
    }))
    .expect("bench ruleset is valid JSON");
    let (c, warnings) = CompiledRuleset::compile(rs);
    assert!(warnings.is_empty(), "{warnings:?}");
    c
}

fn bench(c: &mut Criterion) {
    let ctx = Context::new()
        .with("user_id", "user-123456")
        .with("email", "ann@example.com")
        .with("app_version", "2.4.1")
        .with("country", "de")
        .with("tier", "vip")
        .with("age", 31);
    let one = compiled(1, false);
    c.bench_function("evaluate_single_flag_targeting_split", |b| {
        b.iter(|| black_box(one.evaluate(black_box("flag_0"), black_box(&ctx))))
    });
    let fifty = compiled(50, false);
    for (name, ruleset) in [
        ("evaluate_all_50_flags", &fifty),
        (
            "evaluate_all_50_flags_distinct_conditions",
            &compiled(50, true),
        ),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| {
                ruleset
                    .evaluate_all(black_box(&ctx))
                    .map(|e| e.flag_version)
                    .sum::<u64>()
            })
        });
    }
    c.bench_function("compile_50_flags", |b| {
        let rs = fifty.source().clone();
        b.iter(|| CompiledRuleset::compile(black_box(rs.clone())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
