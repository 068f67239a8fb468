//! Table-driven tests for every condition operator.

mod common;

use common::{abc_flag, compile, eval, ruleset};
use serde_json::{Value, json};
use verdict_core::{Context, Reason};

/// Marker for "attribute absent from the context".
fn missing() -> Option<Value> {
    None
}

fn some(v: Value) -> Option<Value> {
    Some(v)
}

/// Evaluates a flag with a single rule `x <op> value` → `b`, fallthrough `a`.
/// Returns (matched, number of compile warnings).
fn run(op: &str, value: &Value, attr: &Option<Value>) -> (bool, usize) {
    let rules = json!([{ "id": "r", "conditions": [
        { "attribute": "x", "op": op, "value": value }
    ], "serve": { "variant": "b" } }]);
    let (c, w) = compile(ruleset(
        json!([abc_flag("f", rules, json!({"variant": "a"}))]),
        json!([]),
        json!([]),
    ));
    let mut ctx = Context::new().with("user_id", "u1");
    if let Some(a) = attr {
        ctx.insert("x", a.clone());
    }
    let e = eval(&c, "f", &ctx);
    let matched = e.variant == Some("b");
    if matched {
        assert_eq!(e.reason, Reason::TargetingMatch);
        assert_eq!(e.rule_id, Some("r"));
    } else {
        assert_eq!(e.variant, Some("a"));
        assert_eq!(e.reason, Reason::Default);
        assert_eq!(e.rule_id, None);
    }
    (matched, w.len())
}

#[test]
fn operator_table() {
    let long_list: Vec<String> = (0..20).map(|i| format!("tier{i}")).collect();
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, Option<Value>, bool)> = vec![
        // eq: strings, numbers (numeric), bools; no coercion; missing never matches
        ("eq", json!("vip"), some(json!("vip")), true),
        ("eq", json!("vip"), some(json!("VIP")), false),
        ("eq", json!(5), some(json!(5.0)), true),
        ("eq", json!(5), some(json!(6)), false),
        ("eq", json!(5), some(json!("5")), false),
        ("eq", json!("5"), some(json!(5)), false),
        ("eq", json!(true), some(json!(true)), true),
        ("eq", json!(true), some(json!(false)), false),
        ("eq", json!(true), some(json!("true")), false),
        ("eq", json!(u64::MAX), some(json!(u64::MAX)), true),
        ("eq", json!(9_007_199_254_740_993_u64), some(json!(9_007_199_254_740_992_u64)), false),
        ("eq", json!(-3), some(json!(-3)), true),
        ("eq", json!(1), some(json!([1])), false),
        ("eq", json!("vip"), missing(), false),
        ("eq", json!("vip"), some(Value::Null), false),
        // neq: negation for present attributes only
        ("neq", json!("vip"), some(json!("free")), true),
        ("neq", json!("vip"), some(json!("vip")), false),
        ("neq", json!(5), some(json!("5")), true),
        ("neq", json!(5), some(json!(5.0)), false),
        ("neq", json!("vip"), missing(), false),
        ("neq", json!("vip"), some(Value::Null), false),
        // in
        ("in", json!(["vip", "gold"]), some(json!("gold")), true),
        ("in", json!(["vip", "gold"]), some(json!("free")), false),
        ("in", json!([1, 2]), some(json!(2.0)), true),
        ("in", json!([1, 2]), some(json!("2")), false),
        ("in", json!([true]), some(json!(true)), true),
        ("in", json!([true]), some(json!(false)), false),
        ("in", json!([]), some(json!("x")), false),
        ("in", json!(["vip"]), missing(), false),
        ("in", json!(long_list), some(json!("tier17")), true),
        ("in", json!(long_list), some(json!("tier20")), false),
        ("in", json!(["a", 1, false]), some(json!(false)), true),
        // not_in
        ("not_in", json!(["vip"]), some(json!("free")), true),
        ("not_in", json!(["vip"]), some(json!("vip")), false),
        ("not_in", json!([]), some(json!("x")), true),
        ("not_in", json!(["vip"]), missing(), false),
        ("not_in", json!(long_list), some(json!("tier3")), false),
        ("not_in", json!(long_list), some(json!("gold")), true),
        // contains: substring, or array membership
        ("contains", json!("amp"), some(json!("example")), true),
        ("contains", json!("zz"), some(json!("example")), false),
        ("contains", json!("beta"), some(json!(["alpha", "beta"])), true),
        ("contains", json!("beta"), some(json!(["betamax"])), false),
        ("contains", json!("1"), some(json!(1)), false),
        ("contains", json!("a"), missing(), false),
        // starts_with / ends_with
        ("starts_with", json!("ex"), some(json!("example")), true),
        ("starts_with", json!("am"), some(json!("example")), false),
        ("starts_with", json!("5"), some(json!(55)), false),
        ("ends_with", json!("@x.com"), some(json!("a@x.com")), true),
        ("ends_with", json!("@x.com"), some(json!("a@y.com")), false),
        ("ends_with", json!("x"), missing(), false),
        // numeric comparisons
        ("gt", json!(10), some(json!(11)), true),
        ("gt", json!(10), some(json!(10)), false),
        ("gt", json!(10), some(json!(10.5)), true),
        ("gt", json!(10), some(json!("11")), false),
        ("gt", json!(1.5), some(json!(2)), true),
        ("gt", json!(10), missing(), false),
        ("gte", json!(10), some(json!(10)), true),
        ("gte", json!(10), some(json!(9.99)), false),
        ("lt", json!(10), some(json!(9)), true),
        ("lt", json!(10), some(json!(10)), false),
        ("lt", json!(-1), some(json!(-2)), true),
        ("lt", json!(10), some(json!(true)), false),
        ("lte", json!(10), some(json!(10.0)), true),
        ("lte", json!(10), some(json!(11)), false),
        // semver (precedence; build metadata ignored; optional leading v)
        ("semver_eq", json!("1.2.3"), some(json!("1.2.3")), true),
        ("semver_eq", json!("1.2.3"), some(json!("v1.2.3")), true),
        ("semver_eq", json!("1.2.3"), some(json!("1.2.3+build.7")), true),
        ("semver_eq", json!("1.2.3"), some(json!("1.2.4")), false),
        ("semver_eq", json!("1.2.3"), some(json!("garbage")), false),
        ("semver_eq", json!("1.2.3"), some(json!(123)), false),
        ("semver_gt", json!("1.2.3"), some(json!("1.10.0")), true),
        ("semver_gt", json!("1.2.3"), some(json!("1.2.3")), false),
        ("semver_gt", json!("1.2.3"), some(json!("1.2.3-rc.1")), false),
        ("semver_gte", json!("2.3.0"), some(json!("2.3.0")), true),
        ("semver_gte", json!("2.3.0"), some(json!("2.2.9")), false),
        ("semver_lt", json!("2.0.0"), some(json!("2.0.0-beta")), true),
        ("semver_lt", json!("2.0.0"), some(json!("2.0.0")), false),
        ("semver_lte", json!("2.0.0"), some(json!("2.0.0")), true),
        ("semver_lte", json!("2.0.0"), some(json!("2.0.1")), false),
        ("semver_lte", json!("2.0.0"), missing(), false),
        // exists / not_exists (null counts as missing; value ignored)
        ("exists", Value::Null, some(json!("x")), true),
        ("exists", Value::Null, some(json!(false)), true),
        ("exists", Value::Null, missing(), false),
        ("exists", Value::Null, some(Value::Null), false),
        ("not_exists", Value::Null, missing(), true),
        ("not_exists", Value::Null, some(Value::Null), true),
        ("not_exists", Value::Null, some(json!("x")), false),
        // timestamps: RFC 3339 strings or unix seconds, both sides
        ("before", json!("2024-01-01T00:00:00Z"), some(json!("2023-12-31T23:59:59Z")), true),
        ("before", json!("2024-01-01T00:00:00Z"), some(json!("2024-01-01T00:00:00Z")), false),
        ("before", json!("2024-01-01T00:00:00Z"), some(json!(1_700_000_000)), true),
        ("before", json!(1_704_067_200), some(json!("2024-01-01T00:00:01Z")), false),
        ("before", json!("2024-01-01T00:00:00+02:00"), some(json!("2023-12-31T23:00:00Z")), false),
        ("before", json!("2024-01-01T00:00:00Z"), some(json!("not a date")), false),
        ("before", json!("2024-01-01T00:00:00Z"), some(json!(true)), false),
        ("before", json!("2024-01-01T00:00:00Z"), missing(), false),
        ("after", json!("2024-01-01T00:00:00Z"), some(json!("2024-06-01T00:00:00Z")), true),
        ("after", json!("2024-01-01T00:00:00Z"), some(json!(1_704_067_199.5)), false),
        ("after", json!(1_704_067_200), some(json!(1_704_067_200.001)), true),
        ("after", json!(1_704_067_200), some(json!("2024-01-01T00:00:00.5Z")), true),
    ];
    let mut failures = Vec::new();
    for (op, value, attr, expected) in &cases {
        let (matched, warnings) = run(op, value, attr);
        assert_eq!(
            warnings, 0,
            "valid condition {op} {value} produced warnings"
        );
        if matched != *expected {
            failures.push(format!(
                "{op} {value} vs {attr:?}: expected {expected}, got {matched}"
            ));
        }
    }
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

/// Invalid operands never match (even where the attribute "looks" right),
/// produce a compile warning, and do not turn the flag into an error.
#[test]
fn invalid_operands_never_match_and_warn() {
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, Value)> = vec![
        ("in", json!("vip"), json!("vip")),
        ("not_in", json!("vip"), json!("free")),
        ("in", json!([{"a": 1}]), json!("vip")),
        ("eq", json!(["vip"]), json!("vip")),
        ("neq", json!({"a": 1}), json!("x")),
        ("eq", Value::Null, json!("x")),
        ("contains", json!(5), json!("5")),
        ("starts_with", json!(null), json!("x")),
        ("gt", json!("10"), json!(11)),
        ("lte", json!(true), json!(0)),
        ("semver_gt", json!("banana"), json!("1.0.0")),
        ("semver_eq", json!(1), json!("1.0.0")),
        ("before", json!("yesterday"), json!("2020-01-01T00:00:00Z")),
        ("after", json!([1]), json!(5)),
    ];
    for (op, value, attr) in &cases {
        let (matched, warnings) = run(op, value, &Some(attr.clone()));
        assert!(!matched, "{op} {value} must never match");
        assert_eq!(warnings, 1, "{op} {value} must produce one warning");
    }
}
