//! Helpers shared by the integration tests.
#![allow(dead_code)]

use serde_json::{Value, json};
use verdict_core::{CompiledRuleset, Context, Evaluation, Ruleset, Warning};

/// Compiles a ruleset given as JSON, panicking (in tests only) on bad JSON.
pub fn compile(v: Value) -> (CompiledRuleset, Vec<Warning>) {
    let rs: Ruleset = serde_json::from_value(v).expect("test ruleset JSON must deserialize");
    CompiledRuleset::compile(rs)
}

/// Compiles and asserts there are no warnings.
pub fn compile_clean(v: Value) -> CompiledRuleset {
    let (c, w) = compile(v);
    assert!(w.is_empty(), "unexpected warnings: {w:?}");
    c
}

/// A ruleset of the given flags and segments.
pub fn ruleset(flags: Value, segments: Value, layers: Value) -> Value {
    json!({ "environment": "test", "flags": flags, "segments": segments, "layers": layers })
}

/// A string flag `f` with variants a/b/c (default `a`) and the given rules/fallthrough.
pub fn abc_flag(key: &str, rules: Value, fallthrough: Value) -> Value {
    json!({
        "key": key, "value_type": "string",
        "variants": [
            {"key": "a", "value": "A"}, {"key": "b", "value": "B"}, {"key": "c", "value": "C"}
        ],
        "default_variant": "a", "version": 3, "enabled": true,
        "rules": rules, "fallthrough": fallthrough
    })
}

/// Evaluates `flag` with `ctx`, panicking (in tests only) if the flag is unknown.
pub fn eval<'a>(c: &'a CompiledRuleset, flag: &str, ctx: &Context) -> Evaluation<'a> {
    c.evaluate(flag, ctx).expect("flag must exist")
}

/// Context from a JSON object.
pub fn ctx(v: Value) -> Context {
    Context::from_json(v).expect("context must be an object")
}
