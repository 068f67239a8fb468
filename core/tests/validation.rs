//! Field-level validation errors for the management API.

use std::collections::HashSet;

use serde_json::{Value, json};
use verdict_core::{
    Flag, Layer, Segment, is_slug, validate_flag, validate_layer, validate_segment,
};

fn base() -> Value {
    json!({
        "key": "cta_copy", "value_type": "string",
        "variants": [{"key": "control", "value": "Buy"}, {"key": "urgency", "value": "Hurry"},
            {"key": "spare", "value": "Spare"}],
        "default_variant": "control", "enabled": true,
        "rules": [{"id": "r0", "conditions": [
            {"attribute": "tier", "op": "in", "value": ["vip"]},
            {"attribute": "app", "op": "semver_gte", "value": "1.0.0"}
        ], "segments": ["vip_users"], "serve": {"variant": "urgency"}}],
        "fallthrough": {"split": {"rollout": 100.0, "weights": [
            {"variant": "control", "weight": 50.0}, {"variant": "urgency", "weight": 50.0}
        ]}}
    })
}

fn fields(v: Value) -> Vec<String> {
    let flag: Flag = serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"));
    let known: HashSet<String> = ["vip_users".to_owned()].into();
    validate_flag(&flag, |s| known.contains(s))
        .into_iter()
        .map(|e| e.field)
        .collect()
}

#[test]
fn valid_flag_has_no_errors() {
    assert_eq!(fields(base()), Vec::<String>::new());
}

#[test]
fn each_mutation_reports_its_field() {
    type Mutation = fn(&mut Value);
    #[rustfmt::skip]
    let cases: Vec<(Mutation, &str)> = vec![
        (|f| f["key"] = json!("Bad Key"), "key"),
        (|f| f["key"] = json!("-leading"), "key"),
        (|f| f["key"] = json!("a".repeat(65)), "key"),
        (|f| f["key"] = json!(""), "key"),
        (|f| f["variants"][2]["key"] = json!("control"), "variants[2].key"),
        (|f| f["variants"][1]["value"] = json!(3), "variants[1].value"),
        (|f| f["default_variant"] = json!("nope"), "default_variant"),
        (|f| f["bucket_by"] = json!(""), "bucket_by"),
        (|f| f["rules"][0]["id"] = json!(""), "rules[0].id"),
        (|f| f["rules"][0]["conditions"][0]["value"] = json!("vip"), "rules[0].conditions[0].value"),
        (|f| f["rules"][0]["conditions"][1]["value"] = json!("one"), "rules[0].conditions[1].value"),
        (|f| f["rules"][0]["conditions"][1]["attribute"] = json!(""), "rules[0].conditions[1].attribute"),
        (|f| f["rules"][0]["conditions"][1] = json!({"attribute": "n", "op": "gt", "value": "5"}), "rules[0].conditions[1].value"),
        (|f| f["rules"][0]["conditions"][1] = json!({"attribute": "t", "op": "before", "value": "tomorrow"}), "rules[0].conditions[1].value"),
        (|f| f["rules"][0]["segments"][0] = json!("ghosts"), "rules[0].segments[0]"),
        (|f| f["rules"][0]["serve"] = json!({"variant": "nope"}), "rules[0].serve.variant"),
        (|f| f["fallthrough"]["split"]["rollout"] = json!(100.5), "fallthrough.split.rollout"),
        (|f| f["fallthrough"]["split"]["rollout"] = json!(-1), "fallthrough.split.rollout"),
        (|f| f["fallthrough"]["split"]["weights"][1]["weight"] = json!(49.0), "fallthrough.split.weights"),
        (|f| f["fallthrough"]["split"]["weights"][1]["weight"] = json!(50.000001), "fallthrough.split.weights"),
        (|f| f["fallthrough"]["split"]["weights"][0]["weight"] = json!(-50.0), "fallthrough.split.weights[0].weight"),
        (|f| f["fallthrough"]["split"]["weights"][1]["variant"] = json!("x"), "fallthrough.split.weights[1].variant"),
        (|f| f["fallthrough"]["split"]["weights"][1]["variant"] = json!("control"), "fallthrough.split.weights[1].variant"),
        (|f| f["fallthrough"]["split"]["weights"] = json!([]), "fallthrough.split.weights"),
        (|f| f["fallthrough"]["split"]["experiment"] = json!({"key": "", "phase": 1}), "fallthrough.split.experiment.key"),
    ];
    for (mutate, field) in cases {
        let mut f = base();
        mutate(&mut f);
        let got = fields(f);
        assert_eq!(got, vec![field.to_owned()], "expected exactly `{field}`");
    }
}

#[test]
fn weights_within_tolerance_are_accepted() {
    let mut f = base();
    f["fallthrough"]["split"]["weights"] = json!([
        {"variant": "control", "weight": 33.33}, {"variant": "urgency", "weight": 66.67}
    ]);
    assert!(fields(f).is_empty());
}

#[test]
fn segments_are_validated() {
    let seg: Segment = serde_json::from_value(json!({"key": "vip_users", "conditions": [
        {"attribute": "tier", "op": "in", "value": ["vip"]},
        {"attribute": "v", "op": "semver_lt", "value": 5}
    ]}))
    .unwrap_or_else(|e| panic!("{e}"));
    let errs = validate_segment(&seg);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "conditions[1].value");
    assert!(errs[0].to_string().starts_with("conditions[1].value: "));
    let bad_key = Segment {
        key: "VIP".into(),
        conditions: vec![],
    };
    assert_eq!(validate_segment(&bad_key)[0].field, "key");
}

#[test]
fn layers_are_validated() {
    let layer = |v: Value| -> Layer { serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}")) };
    let ok = layer(
        json!({"key": "l", "holdout": {"start": 0, "end": 100}, "members": [
            {"flag": "a", "range": {"start": 100, "end": 5000}},
            {"flag": "b", "range": {"start": 5000, "end": 10000}}
        ]}),
    );
    assert!(validate_layer(&ok).is_empty());
    #[rustfmt::skip]
    let cases = [
        (json!({"key": "l", "members": [{"flag": "a", "range": {"start": 10, "end": 10}}]}), "members[0].range"),
        (json!({"key": "l", "members": [{"flag": "a", "range": {"start": 0, "end": 10001}}]}), "members[0].range"),
        (json!({"key": "l", "holdout": {"start": 0, "end": 200}, "members": [{"flag": "a", "range": {"start": 100, "end": 300}}]}), "members[0].range"),
        (json!({"key": "l", "members": [{"flag": "a", "range": {"start": 0, "end": 300}}, {"flag": "b", "range": {"start": 299, "end": 400}}]}), "members[1].range"),
        (json!({"key": "l", "members": [{"flag": "a", "range": {"start": 0, "end": 1}}, {"flag": "a", "range": {"start": 1, "end": 2}}]}), "members[1].flag"),
        (json!({"key": "l", "holdout": {"start": 5, "end": 1}}), "holdout"),
        (json!({"key": "L"}), "key"),
    ];
    for (v, field) in cases {
        let errs = validate_layer(&layer(v.clone()));
        assert_eq!(
            errs.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            vec![field],
            "{v}"
        );
    }
}

#[test]
fn slug_rules() {
    for (s, ok) in [
        ("a", true),
        ("0day", true),
        ("cta_copy-v2", true),
        (&"a".repeat(64) as &str, true),
        (&"a".repeat(65) as &str, false),
        ("", false),
        ("_x", false),
        ("Abc", false),
        ("a.b", false),
        ("é", false),
    ] {
        assert_eq!(is_slug(s), ok, "{s:?}");
    }
}
