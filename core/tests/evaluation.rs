//! Evaluation semantics: rule order, segments, kill switch, fallthrough,
//! default reasons, layers, holdouts and invalid definitions.

mod common;

use common::{abc_flag, compile, compile_clean, ctx, eval, ruleset};
use serde_json::{Value, json};
use verdict_core::{
    BucketRange, CompiledRuleset, Context, ErrorCode, Exposure, Reason, bucket, split_ranges,
};

fn rule(id: &str, conditions: Value, segments: Value, serve: &str) -> Value {
    json!({ "id": id, "conditions": conditions, "segments": segments, "serve": { "variant": serve } })
}

fn cond(attr: &str, op: &str, value: Value) -> Value {
    json!({ "attribute": attr, "op": op, "value": value })
}

fn full_split(weights: &[(&str, f64)], rollout: f64) -> Value {
    let w: Vec<Value> = weights
        .iter()
        .map(|(v, w)| json!({"variant": v, "weight": w}))
        .collect();
    json!({ "split": { "rollout": rollout, "weights": w } })
}

#[test]
fn rule_order_first_match_wins() {
    let rules = json!([
        rule(
            "tier",
            json!([cond("tier", "eq", json!("vip"))]),
            json!([]),
            "b"
        ),
        rule(
            "country",
            json!([cond("country", "eq", json!("de"))]),
            json!([]),
            "c"
        ),
    ]);
    let c = compile_clean(ruleset(
        json!([abc_flag("f", rules, json!({"variant": "a"}))]),
        json!([]),
        json!([]),
    ));
    #[rustfmt::skip]
    let cases = [
        (json!({"tier": "vip", "country": "de"}), "b", Some("tier"), Reason::TargetingMatch),
        (json!({"tier": "free", "country": "de"}), "c", Some("country"), Reason::TargetingMatch),
        (json!({"country": "de"}), "c", Some("country"), Reason::TargetingMatch),
        (json!({"tier": "free"}), "a", None, Reason::Default),
        (json!({}), "a", None, Reason::Default),
    ];
    for (context, variant, rule_id, reason) in cases {
        let e = eval(&c, "f", &ctx(context.clone()));
        assert_eq!(e.variant, Some(variant), "{context}");
        assert_eq!(e.value, &json!(variant.to_uppercase()), "{context}");
        assert_eq!(e.rule_id, rule_id, "{context}");
        assert_eq!(e.reason, reason, "{context}");
        assert_eq!(e.flag_version, 3);
        assert_eq!(e.error, None);
        assert_eq!(e.flag_key, "f");
    }
}

#[test]
fn conditions_and_segments_are_anded() {
    let rules = json!([rule(
        "vip_de",
        json!([cond("country", "eq", json!("de"))]),
        json!(["vip_users", "adults"]),
        "b"
    )]);
    let segments = json!([
        {"key": "vip_users", "conditions": [cond("tier", "in", json!(["vip"]))]},
        {"key": "adults", "conditions": [cond("age", "gte", json!(18))]},
        {"key": "everyone", "conditions": []}
    ]);
    let c = compile_clean(ruleset(
        json!([
            abc_flag("f", rules, json!({"variant": "a"})),
            abc_flag(
                "g",
                json!([rule("all", json!([]), json!(["everyone"]), "c")]),
                json!({"variant": "a"})
            )
        ]),
        segments,
        json!([]),
    ));
    #[rustfmt::skip]
    let cases = [
        (json!({"country": "de", "tier": "vip", "age": 30}), "b"),
        (json!({"country": "fr", "tier": "vip", "age": 30}), "a"),
        (json!({"country": "de", "tier": "free", "age": 30}), "a"),
        (json!({"country": "de", "tier": "vip", "age": 17}), "a"),
        (json!({"country": "de", "tier": "vip"}), "a"),
    ];
    for (context, variant) in cases {
        assert_eq!(
            eval(&c, "f", &ctx(context.clone())).variant,
            Some(variant),
            "{context}"
        );
    }
    // An empty segment matches everyone.
    assert_eq!(eval(&c, "g", &Context::new()).variant, Some("c"));
}

#[test]
fn conditions_shared_between_flags_match_as_if_evaluated_alone() {
    // Every flag repeats the segment and the version gate; `evaluate_all`
    // tests each shared condition once per context.
    let flag = |key: &str, serve: &str| {
        abc_flag(
            key,
            json!([
                rule("vip", json!([]), json!(["vip_users"]), serve),
                rule(
                    "new_app",
                    json!([cond("app_version", "semver_gte", json!("2.5.0"))]),
                    json!([]),
                    "b"
                ),
                rule(
                    "vip_new_app",
                    json!([cond("app_version", "semver_gte", json!("2.5.0"))]),
                    json!(["vip_users"]),
                    "a"
                ),
            ]),
            json!({"variant": "a"}),
        )
    };
    let c = compile_clean(ruleset(
        json!([flag("f", "c"), flag("g", "b"), flag("h", "a")]),
        json!([{"key": "vip_users", "conditions": [cond("tier", "in", json!(["vip"]))]}]),
        json!([]),
    ));
    #[rustfmt::skip]
    let cases = [
        (json!({"tier": "vip", "app_version": "2.5.0"}), ["c", "b", "a"], Some("vip")),
        (json!({"tier": "vip"}), ["c", "b", "a"], Some("vip")),
        (json!({"tier": "free", "app_version": "2.5.0"}), ["b", "b", "b"], Some("new_app")),
        (json!({"tier": "free", "app_version": "2.4.9"}), ["a", "a", "a"], None),
        (json!({}), ["a", "a", "a"], None),
    ];
    for (context, variants, rule_id) in cases {
        let context = ctx(context);
        let all: Vec<_> = c.evaluate_all(&context).collect();
        let served: Vec<_> = all.iter().map(|e| e.variant.unwrap_or("-")).collect();
        assert_eq!(served, variants, "{context:?}");
        for e in &all {
            assert_eq!(e.rule_id, rule_id, "{context:?}");
            assert_eq!(*e, eval(&c, e.flag_key, &context), "{context:?}");
        }
    }
}

#[test]
fn static_disabled_and_fallthrough_reasons() {
    let mut disabled = abc_flag(
        "off",
        json!([rule("r", json!([]), json!([]), "b")]),
        json!({"variant": "c"}),
    );
    disabled["enabled"] = json!(false);
    let c = compile_clean(ruleset(
        json!([
            abc_flag("static", json!([]), json!({"variant": "b"})),
            disabled,
            abc_flag(
                "ft",
                json!([rule(
                    "never",
                    json!([cond("x", "exists", Value::Null)]),
                    json!([]),
                    "b"
                )]),
                json!({"variant": "c"})
            ),
        ]),
        json!([]),
        json!([]),
    ));
    let any = Context::new().with("user_id", "u");
    let e = eval(&c, "static", &any);
    assert_eq!(
        (e.variant, e.reason, e.rule_id),
        (Some("b"), Reason::Static, None)
    );
    let e = eval(&c, "off", &any);
    assert_eq!(
        (e.variant, e.reason, e.error),
        (Some("a"), Reason::Disabled, None)
    );
    let e = eval(&c, "ft", &any);
    assert_eq!((e.variant, e.reason), (Some("c"), Reason::Default));
    assert!(c.evaluate("nope", &any).is_none());
}

#[test]
fn split_assignment_follows_documented_ranges() {
    let c = compile_clean(ruleset(
        json!([abc_flag(
            "f",
            json!([]),
            full_split(&[("a", 20.0), ("b", 30.0), ("c", 50.0)], 60.0)
        )]),
        json!([]),
        json!([]),
    ));
    let ranges = split_ranges(60.0, &[20.0, 30.0, 50.0]);
    assert_eq!(
        ranges,
        vec![
            BucketRange {
                start: 0,
                end: 1200
            },
            BucketRange {
                start: 2000,
                end: 3800
            },
            BucketRange {
                start: 5000,
                end: 8000
            }
        ]
    );
    let mut seen = [0usize; 4];
    for i in 0..2000 {
        let unit = format!("user-{i}");
        let b = bucket("f", &unit);
        let expected = ["a", "b", "c"]
            .iter()
            .zip(&ranges)
            .find(|(_, r)| r.contains(b))
            .map(|(v, _)| *v);
        let e = eval(&c, "f", &Context::new().with("user_id", unit.as_str()));
        match expected {
            Some(v) => {
                assert_eq!((e.variant, e.reason), (Some(v), Reason::Split), "{unit}");
                seen[["a", "b", "c"].iter().position(|x| *x == v).unwrap_or(3)] += 1;
            }
            None => {
                assert_eq!(
                    (e.variant, e.reason, e.error),
                    (Some("a"), Reason::Default, None),
                    "{unit}"
                );
                seen[3] += 1;
            }
        }
        assert_eq!(e.exposure, None);
    }
    assert!(
        seen.iter().all(|n| *n > 100),
        "all outcomes occur: {seen:?}"
    );
}

#[test]
fn integer_and_string_units_hash_identically() {
    let c = compile_clean(ruleset(
        json!([abc_flag(
            "f",
            json!([]),
            full_split(&[("b", 50.0), ("c", 50.0)], 100.0)
        )]),
        json!([]),
        json!([]),
    ));
    for n in [0i64, 1, 42, -7, 123_456_789] {
        let a = eval(&c, "f", &Context::new().with("user_id", n));
        let b = eval(&c, "f", &Context::new().with("user_id", n.to_string()));
        assert_eq!(a.variant, b.variant, "{n}");
        assert_eq!(a.reason, Reason::Split);
    }
}

#[test]
fn missing_bucketing_key_is_targeting_key_missing() {
    let mut flag = abc_flag(
        "f",
        json!([{ "id": "r", "conditions": [cond("tier", "eq", json!("vip"))],
                 "serve": { "split": { "weights": [{"variant": "b", "weight": 100.0}] } } }]),
        full_split(&[("b", 50.0), ("c", 50.0)], 100.0),
    );
    flag["bucket_by"] = json!("device_id");
    let c = compile_clean(ruleset(json!([flag]), json!([]), json!([])));
    for context in [
        json!({"user_id": "u1"}),
        json!({"device_id": null}),
        json!({"device_id": ""}),
        json!({"device_id": 1.5}),
        json!({"device_id": true}),
        json!({"device_id": ["d"]}),
    ] {
        let e = eval(&c, "f", &ctx(context.clone()));
        assert_eq!(e.variant, Some("a"), "{context}");
        assert_eq!(e.reason, Reason::Default, "{context}");
        assert_eq!(e.error, Some(ErrorCode::TargetingKeyMissing), "{context}");
        assert_eq!(e.rule_id, None);
    }
    let e = eval(&c, "f", &ctx(json!({"tier": "vip"})));
    assert_eq!((e.reason, e.rule_id), (Reason::Default, Some("r")));
    assert_eq!(e.error, Some(ErrorCode::TargetingKeyMissing));
    let e = eval(&c, "f", &ctx(json!({"tier": "vip", "device_id": "d-1"})));
    assert_eq!(
        (e.variant, e.reason, e.rule_id, e.error),
        (Some("b"), Reason::Split, Some("r"), None)
    );
}

#[test]
fn experiment_exposure_only_when_assigned() {
    let c = compile_clean(ruleset(
        json!([abc_flag(
            "f",
            json!([]),
            json!({ "split": {
                "rollout": 50.0,
                "weights": [{"variant": "b", "weight": 50.0}, {"variant": "c", "weight": 50.0}],
                "salt": "f-phase-2",
                "experiment": {"key": "exp", "phase": 2}
            }})
        )]),
        json!([]),
        json!([]),
    ));
    let (mut exposed, mut unexposed) = (0, 0);
    for i in 0..1000 {
        let ctx = Context::new().with("user_id", i);
        let e = eval(&c, "f", &ctx);
        let in_split = split_ranges(50.0, &[50.0, 50.0])
            .iter()
            .any(|r| r.contains(bucket("f-phase-2", &i.to_string())));
        if in_split {
            let v = e.variant.unwrap_or("?");
            assert_eq!(
                e.exposure,
                Some(Exposure {
                    experiment: "exp",
                    phase: 2,
                    variant: v,
                    bucket_by: "user_id",
                    dimensions: &[],
                })
            );
            assert_eq!(e.reason, Reason::Split);
            exposed += 1;
        } else {
            assert_eq!(
                (e.exposure, e.reason, e.variant),
                (None, Reason::Default, Some("a"))
            );
            unexposed += 1;
        }
    }
    assert!(exposed > 300 && unexposed > 300, "{exposed}/{unexposed}");
}

#[test]
fn changing_salt_reshuffles() {
    let make = |salt: &str| {
        let mut f = abc_flag(
            "f",
            json!([]),
            full_split(&[("b", 50.0), ("c", 50.0)], 100.0),
        );
        f["salt"] = json!(salt);
        compile_clean(ruleset(json!([f]), json!([]), json!([])))
    };
    let (one, two, default_salt, explicit_key) = (make("p1"), make("p2"), make(""), make("f"));
    let mut changed = 0;
    for i in 0..1000 {
        let ctx = Context::new().with("user_id", i);
        let a = eval(&one, "f", &ctx).variant;
        if a != eval(&two, "f", &ctx).variant {
            changed += 1;
        }
        assert_eq!(
            eval(&default_salt, "f", &ctx).variant,
            eval(&explicit_key, "f", &ctx).variant
        );
    }
    // Independent 50/50 assignments disagree about half the time.
    assert!((400..600).contains(&changed), "changed = {changed}");
}

fn layer_ruleset(holdout: Option<(u32, u32)>) -> CompiledRuleset {
    let mut layer = json!({
        "key": "checkout", "salt": "checkout-layer",
        "members": [
            {"flag": "x", "range": {"start": 1000, "end": 5000}},
            {"flag": "y", "range": {"start": 5000, "end": 10000}}
        ]
    });
    if let Some((s, e)) = holdout {
        layer["holdout"] = json!({"start": s, "end": e});
    }
    compile_clean(ruleset(
        json!([
            abc_flag("x", json!([]), json!({"variant": "b"})),
            abc_flag(
                "y",
                json!([rule("all", json!([]), json!([]), "c")]),
                json!({"variant": "b"})
            ),
            abc_flag("z", json!([]), json!({"variant": "b"}))
        ]),
        json!([]),
        json!([layer]),
    ))
}

#[test]
fn layers_are_mutually_exclusive_with_holdout() {
    let c = layer_ruleset(Some((0, 1000)));
    let mut counts = [0usize; 3];
    for i in 0..3000 {
        let unit = format!("u{i}");
        let ctx = Context::new().with("user_id", unit.as_str());
        let b = bucket("checkout-layer", &unit);
        let x = eval(&c, "x", &ctx);
        let y = eval(&c, "y", &ctx);
        // Non-layer flags are unaffected.
        assert_eq!(eval(&c, "z", &ctx).variant, Some("b"));
        let x_on = x.variant != Some("a");
        let y_on = y.variant != Some("a");
        assert!(!(x_on && y_on), "{unit} saw both layer members");
        match b {
            0..1000 => {
                assert!(!x_on && !y_on);
                assert_eq!((x.reason, y.reason), (Reason::Default, Reason::Default));
                counts[0] += 1;
            }
            1000..5000 => {
                assert_eq!((x.variant, x.reason), (Some("b"), Reason::Static));
                assert_eq!((y.variant, y.reason), (Some("a"), Reason::Default));
                counts[1] += 1;
            }
            _ => {
                assert_eq!((x.variant, x.reason), (Some("a"), Reason::Default));
                assert_eq!(
                    (y.variant, y.reason, y.rule_id),
                    (Some("c"), Reason::TargetingMatch, Some("all"))
                );
                counts[2] += 1;
            }
        }
    }
    assert!(counts.iter().all(|n| *n > 100), "{counts:?}");
    let e = eval(&c, "x", &Context::new());
    assert_eq!(
        (e.reason, e.error),
        (Reason::Default, Some(ErrorCode::TargetingKeyMissing))
    );
}

#[test]
fn invalid_layer_breaks_its_members_only() {
    let (c, w) = compile(ruleset(
        json!([
            abc_flag("x", json!([]), json!({"variant": "b"})),
            abc_flag("y", json!([]), json!({"variant": "b"})),
            abc_flag("z", json!([]), json!({"variant": "b"})),
        ]),
        json!([]),
        json!([
            {"key": "bad", "members": [
                {"flag": "x", "range": {"start": 0, "end": 6000}},
                {"flag": "y", "range": {"start": 5000, "end": 10000}},
                {"flag": "ghost", "range": {"start": 0, "end": 0}}
            ]}
        ]),
    ));
    let ctx = Context::new().with("user_id", "u");
    for f in ["x", "y"] {
        let e = eval(&c, f, &ctx);
        assert_eq!(
            (e.variant, e.reason, e.error),
            (Some("a"), Reason::Error, Some(ErrorCode::General)),
            "{f}"
        );
        assert!(
            w.iter()
                .any(|w| w.flag == f && w.message.contains("overlaps")),
            "{w:?}"
        );
    }
    assert_eq!(eval(&c, "z", &ctx).reason, Reason::Static);
    assert!(
        w.iter()
            .any(|w| w.flag.is_empty() && w.message.contains("ghost")),
        "{w:?}"
    );
}

#[test]
fn bad_definitions_serve_default_with_error() {
    let split =
        |weights: Value, rollout: f64| json!({"split": {"rollout": rollout, "weights": weights}});
    let w50 = json!([{"variant": "b", "weight": 50.0}, {"variant": "c", "weight": 50.0}]);
    let mut unknown_default = abc_flag("unknown_default", json!([]), json!({"variant": "b"}));
    unknown_default["default_variant"] = json!("zzz");
    let mut wrong_type = abc_flag("wrong_type", json!([]), json!({"variant": "b"}));
    wrong_type["variants"][1]["value"] = json!(7);
    let mut dup_variant = abc_flag("dup_variant", json!([]), json!({"variant": "b"}));
    dup_variant["variants"][2]["key"] = json!("b");
    let mut bad_key = abc_flag("Bad Key", json!([]), json!({"variant": "b"}));
    bad_key["key"] = json!("Bad Key");
    #[rustfmt::skip]
    let flags = vec![
        (abc_flag("weights_sum", json!([]), split(json!([{"variant": "b", "weight": 50.0}, {"variant": "c", "weight": 40.0}]), 100.0)), Some("a"), "weights"),
        (abc_flag("negative_weight", json!([]), split(json!([{"variant": "b", "weight": 150.0}, {"variant": "c", "weight": -50.0}]), 100.0)), Some("a"), "weight"),
        (abc_flag("rollout", json!([]), split(w50.clone(), 150.0)), Some("a"), "rollout"),
        (abc_flag("unknown_serve", json!([rule("r", json!([]), json!([]), "nope")]), json!({"variant": "b"})), Some("a"), "rules[0].serve.variant"),
        (abc_flag("unknown_segment", json!([rule("r", json!([]), json!(["nope"]), "b")]), json!({"variant": "b"})), Some("a"), "rules[0].segments[0]"),
        (abc_flag("unknown_weight_variant", json!([]), split(json!([{"variant": "zz", "weight": 100.0}]), 100.0)), Some("a"), "weights[0].variant"),
        (abc_flag("empty_weights", json!([]), split(json!([]), 100.0)), Some("a"), "weights"),
        (abc_flag("dup_rule", json!([rule("r", json!([]), json!([]), "b"), rule("r", json!([]), json!([]), "c")]), json!({"variant": "b"})), Some("a"), "rules[1].id"),
        (unknown_default, None, "default_variant"),
        (wrong_type, Some("a"), "variants[1].value"),
        (dup_variant, Some("a"), "variants[2].key"),
        (bad_key, Some("a"), "key"),
    ];
    let keys: Vec<String> = flags
        .iter()
        .map(|(f, _, _)| f["key"].as_str().unwrap_or_default().to_owned())
        .collect();
    let (c, warnings) = compile(ruleset(
        Value::Array(flags.iter().map(|(f, _, _)| f.clone()).collect()),
        json!([]),
        json!([]),
    ));
    assert_eq!(c.len(), flags.len());
    let ctx = Context::new().with("user_id", "u1").with("tier", "vip");
    for ((_, variant, field), key) in flags.iter().zip(&keys) {
        let e = eval(&c, key, &ctx);
        assert_eq!(e.reason, Reason::Error, "{key}");
        assert_eq!(e.error, Some(ErrorCode::ParseError), "{key}");
        assert_eq!(e.variant, *variant, "{key}");
        let expected_value = variant.map_or(Value::Null, |v| json!(v.to_uppercase()));
        assert_eq!(e.value, &expected_value, "{key}");
        assert!(
            warnings
                .iter()
                .any(|w| &w.flag == key && w.message.contains(field)),
            "{key}: no warning mentioning {field}: {warnings:?}"
        );
    }
    // evaluate_all keeps ruleset order.
    let all: Vec<&str> = c.evaluate_all(&ctx).map(|e| e.flag_key).collect();
    let expected: Vec<&str> = keys.iter().map(String::as_str).collect();
    assert_eq!(all, expected);
    assert_eq!(c.flag_keys().collect::<Vec<_>>(), expected);
}

#[test]
fn duplicate_flags_keep_first_and_warn() {
    let (c, w) = compile(ruleset(
        json!([
            abc_flag("f", json!([]), json!({"variant": "b"})),
            abc_flag("f", json!([]), json!({"variant": "c"})),
            abc_flag("g", json!([]), json!({"variant": "c"})),
        ]),
        json!([{"key": "s", "conditions": []}, {"key": "s", "conditions": []}]),
        json!([]),
    ));
    assert_eq!(c.len(), 2);
    assert_eq!(eval(&c, "f", &Context::new()).variant, Some("b"));
    assert_eq!(w.len(), 2, "{w:?}");
    assert_eq!(c.environment(), "test");
    assert_eq!(c.source().flags.len(), 3);
}

#[test]
fn bad_segment_condition_never_matches_and_warns() {
    let (c, w) = compile(ruleset(
        json!([abc_flag(
            "f",
            json!([rule("r", json!([]), json!(["s"]), "b")]),
            json!({"variant": "c"})
        )]),
        json!([{"key": "s", "conditions": [cond("v", "semver_gt", json!("not-semver"))]}]),
        json!([]),
    ));
    let e = eval(&c, "f", &ctx(json!({"v": "9.9.9"})));
    assert_eq!((e.variant, e.reason), (Some("c"), Reason::Default));
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].flag, "f");
}

#[test]
fn evaluation_serializes_with_ofrep_strings() {
    let c = compile_clean(ruleset(
        json!([abc_flag("f", json!([]), json!({"variant": "b"}))]),
        json!([]),
        json!([]),
    ));
    let e = eval(&c, "f", &Context::new());
    let v = serde_json::to_value(e).unwrap_or_default();
    assert_eq!(
        v,
        json!({"flag_key": "f", "variant": "b", "value": "B", "reason": "STATIC",
               "flag_version": 3, "error": null, "rule_id": null, "exposure": null})
    );
    #[rustfmt::skip]
    let reasons = [
        (Reason::Static, "STATIC"), (Reason::TargetingMatch, "TARGETING_MATCH"),
        (Reason::Split, "SPLIT"), (Reason::Disabled, "DISABLED"),
        (Reason::Default, "DEFAULT"), (Reason::Error, "ERROR"),
    ];
    for (r, s) in reasons {
        assert_eq!(r.as_ofrep_str(), s);
        assert_eq!(serde_json::to_value(r).unwrap_or_default(), json!(s));
    }
    for (code, s) in [
        (ErrorCode::TargetingKeyMissing, "TARGETING_KEY_MISSING"),
        (ErrorCode::ParseError, "PARSE_ERROR"),
        (ErrorCode::General, "GENERAL"),
    ] {
        assert_eq!(code.as_ofrep_str(), s);
        assert_eq!(serde_json::to_value(code).unwrap_or_default(), json!(s));
    }
}

#[test]
fn wire_format_round_trips_and_rejects_unknown_fields() {
    let flag = abc_flag(
        "f",
        json!([rule(
            "r",
            json!([cond("t", "in", json!(["x"]))]),
            json!([]),
            "b"
        )]),
        json!({"split": {
            "rollout": 25.5, "weights": [{"variant": "b", "weight": 100.0}],
            "experiment": {"key": "e", "phase": 1}
        }}),
    );
    let parsed: verdict_core::Flag =
        serde_json::from_value(flag.clone()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.bucket_by, "user_id");
    assert_eq!(parsed.effective_salt(), "f");
    let back = serde_json::to_value(&parsed).unwrap_or_default();
    let reparsed: verdict_core::Flag =
        serde_json::from_value(back).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed, reparsed);
    let mut extra = flag.clone();
    extra["colour"] = json!("red");
    assert!(serde_json::from_value::<verdict_core::Flag>(extra).is_err());
    let mut bad_op = flag;
    bad_op["rules"][0]["conditions"][0]["op"] = json!("matches_regex");
    assert!(serde_json::from_value::<verdict_core::Flag>(bad_op).is_err());
}
