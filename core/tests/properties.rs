//! Property tests: rollout monotonicity and panic freedom.

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};
use verdict_core::{
    BucketRange, CompiledRuleset, Condition, Context, ErrorCode, ExperimentRef, Flag, Layer,
    LayerMember, Operator, Reason, Rule, Ruleset, Segment, Serve, Split, ValueType, Variant,
    Weight,
};

fn split_flag(salt: &str, rollout: f64, weights: &[f64]) -> CompiledRuleset {
    let flag = Flag {
        key: "f".into(),
        value_type: ValueType::Number,
        variants: (0..weights.len())
            .map(|i| Variant {
                key: format!("v{i}"),
                value: json!(i),
            })
            .chain(std::iter::once(Variant {
                key: "default".into(),
                value: json!(-1),
            }))
            .collect(),
        default_variant: "default".into(),
        bucket_by: "user_id".into(),
        salt: salt.into(),
        version: 1,
        enabled: true,
        rules: vec![],
        fallthrough: Serve::Split(Split {
            rollout,
            weights: weights
                .iter()
                .enumerate()
                .map(|(i, w)| Weight {
                    variant: format!("v{i}"),
                    weight: *w,
                })
                .collect(),
            salt: None,
            experiment: None,
        }),
    };
    let (c, w) = CompiledRuleset::compile(Ruleset {
        environment: "p".into(),
        flags: vec![flag],
        segments: vec![],
        layers: vec![],
    });
    assert!(w.is_empty(), "{w:?}");
    c
}

/// 1–5 weights summing to 100 (the last absorbs rounding).
fn weights() -> impl Strategy<Value = Vec<f64>> {
    vec(1u32..1000, 1..6).prop_map(|raw| {
        let total: u32 = raw.iter().sum();
        let mut w: Vec<f64> = raw
            .iter()
            .map(|r| (f64::from(*r) * 100.0 / f64::from(total) * 100.0).round() / 100.0)
            .collect();
        let head: f64 = w[..w.len() - 1].iter().sum();
        if let Some(last) = w.last_mut() {
            *last = 100.0 - head;
        }
        w
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn raising_rollout_keeps_units_and_variants(
        salt in "[a-z0-9_]{0,12}",
        units in vec("[a-zA-Z0-9@._-]{1,24}", 1..40),
        a in 0.0f64..=100.0,
        b in 0.0f64..=100.0,
        w in weights(),
    ) {
        prop_assume!(w.iter().all(|x| *x >= 0.0));
        let (r1, r2) = if a <= b { (a, b) } else { (b, a) };
        let low = split_flag(&salt, r1, &w);
        let high = split_flag(&salt, r2, &w);
        for unit in &units {
            let ctx = Context::new().with("user_id", unit.as_str());
            let e1 = low.evaluate("f", &ctx).expect("flag");
            let e2 = high.evaluate("f", &ctx).expect("flag");
            if e1.reason == Reason::Split {
                prop_assert_eq!(e2.reason, Reason::Split);
                prop_assert_eq!(e1.variant, e2.variant);
            } else {
                prop_assert_eq!(e1.variant, Some("default"));
            }
        }
    }
}

const OPS: [Operator; 20] = [
    Operator::Eq,
    Operator::Neq,
    Operator::In,
    Operator::NotIn,
    Operator::Contains,
    Operator::StartsWith,
    Operator::EndsWith,
    Operator::Gt,
    Operator::Gte,
    Operator::Lt,
    Operator::Lte,
    Operator::SemverEq,
    Operator::SemverGt,
    Operator::SemverGte,
    Operator::SemverLt,
    Operator::SemverLte,
    Operator::Exists,
    Operator::NotExists,
    Operator::Before,
    Operator::After,
];
const ATTRS: [&str; 5] = ["user_id", "tier", "x", "v", "t"];
const VARIANTS: [&str; 4] = ["a", "b", "c", "d"];
const SEGMENTS: [&str; 3] = ["s1", "s2", "s3"];
const FLAGS: [&str; 4] = ["f1", "f2", "f3", "Bad"];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-z0-9.:+ -]{0,12}".prop_map(Value::from),
        select(vec![
            "1.2.3",
            "v2.0.0-rc.1",
            "2024-01-01T00:00:00Z",
            "vip",
            "",
            "u1"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-c]", inner, 0..3).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_condition() -> impl Strategy<Value = Condition> {
    (select(ATTRS.to_vec()), select(OPS.to_vec()), arb_json()).prop_map(|(a, op, value)| {
        Condition {
            attribute: a.into(),
            op,
            value,
        }
    })
}

fn arb_serve() -> impl Strategy<Value = Serve> {
    prop_oneof![
        select(VARIANTS.to_vec()).prop_map(|v| Serve::Variant(v.into())),
        (
            prop_oneof![-10.0f64..110.0, Just(100.0), Just(f64::NAN)],
            vec(
                (
                    select(VARIANTS.to_vec()),
                    prop_oneof![-10.0f64..110.0, Just(50.0), Just(f64::INFINITY)]
                ),
                0..4
            ),
            proptest::option::of("[a-z]{0,4}"),
            proptest::option::of(("[a-z]{0,4}", any::<u32>())),
        )
            .prop_map(|(rollout, w, salt, exp)| {
                Serve::Split(Split {
                    rollout,
                    weights: w
                        .into_iter()
                        .map(|(v, weight)| Weight {
                            variant: v.into(),
                            weight,
                        })
                        .collect(),
                    salt,
                    experiment: exp.map(|(key, phase)| ExperimentRef {
                        key,
                        phase,
                        dimensions: Vec::new(),
                    }),
                })
            }),
    ]
}

fn arb_flag() -> impl Strategy<Value = Flag> {
    (
        (
            select(FLAGS.to_vec()),
            select(vec![
                ValueType::Boolean,
                ValueType::String,
                ValueType::Number,
                ValueType::Json,
            ]),
            vec((select(VARIANTS.to_vec()), arb_json()), 0..4),
            select(VARIANTS.to_vec()),
            select(vec!["user_id", "x", ""]),
        ),
        (
            "[a-z]{0,3}",
            any::<u64>(),
            any::<bool>(),
            vec(
                (
                    "[a-z0-9]{0,2}",
                    vec(arb_condition(), 0..3),
                    vec(select(SEGMENTS.to_vec()), 0..2),
                    arb_serve(),
                ),
                0..4,
            ),
            arb_serve(),
        ),
    )
        .prop_map(
            |(
                (key, value_type, variants, default, bucket_by),
                (salt, version, enabled, rules, ft),
            )| {
                Flag {
                    key: key.into(),
                    value_type,
                    variants: variants
                        .into_iter()
                        .map(|(k, value)| Variant {
                            key: k.into(),
                            value,
                        })
                        .collect(),
                    default_variant: default.into(),
                    bucket_by: bucket_by.into(),
                    salt,
                    version,
                    enabled,
                    rules: rules
                        .into_iter()
                        .map(|(id, conditions, segs, serve)| Rule {
                            id,
                            conditions,
                            segments: segs.into_iter().map(String::from).collect(),
                            serve,
                        })
                        .collect(),
                    fallthrough: ft,
                }
            },
        )
}

fn arb_range() -> impl Strategy<Value = BucketRange> {
    (0u32..11000, 0u32..11000).prop_map(|(start, end)| BucketRange { start, end })
}

fn arb_ruleset() -> impl Strategy<Value = Ruleset> {
    (
        vec(arb_flag(), 0..5),
        vec(
            (select(SEGMENTS.to_vec()), vec(arb_condition(), 0..3)),
            0..4,
        ),
        vec(
            (
                "[a-z]{1,3}",
                proptest::option::of(arb_range()),
                vec((select(FLAGS.to_vec()), arb_range()), 0..3),
            ),
            0..3,
        ),
    )
        .prop_map(|(flags, segments, layers)| Ruleset {
            environment: "prop".into(),
            flags,
            segments: segments
                .into_iter()
                .map(|(k, conditions)| Segment {
                    key: k.into(),
                    conditions,
                })
                .collect(),
            layers: layers
                .into_iter()
                .map(|(key, holdout, members)| Layer {
                    key,
                    salt: String::new(),
                    bucket_by: "user_id".into(),
                    holdout,
                    members: members
                        .into_iter()
                        .map(|(f, range)| LayerMember {
                            flag: f.into(),
                            range,
                        })
                        .collect(),
                })
                .collect(),
        })
}

fn arb_context() -> impl Strategy<Value = Context> {
    btree_map(select(ATTRS.to_vec()), arb_json(), 0..5)
        .prop_map(|m| m.into_iter().collect::<Context>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_and_results_are_consistent(rs in arb_ruleset(), contexts in vec(arb_context(), 1..4)) {
        // Definitions must survive the wire format too.
        let text = serde_json::to_string(&rs).expect("serializes");
        let _ = serde_json::from_str::<Ruleset>(&text);
        for f in &rs.flags {
            let _ = verdict_core::validate_flag(f, |s| s == "s1");
        }
        for l in &rs.layers {
            let _ = verdict_core::validate_layer(l);
        }
        let (c, _warnings) = CompiledRuleset::compile(rs);
        for ctx in &contexts {
            prop_assert_eq!(c.flags().count(), c.len());
            for (e, def) in c.evaluate_all(ctx).zip(c.flags()) {
                // Positions point into the definition `flags()` lists at the same place.
                prop_assert_eq!(e.flag_key, def.key.as_str());
                prop_assert_eq!(e.variant_index.map(|i| def.variants[i].key.as_str()), e.variant);
                prop_assert_eq!(e.rule_index.map(|i| def.rules[i].id.as_str()), e.rule_id);
                prop_assert_eq!(e.variant.is_none(), e.reason == Reason::Error && e.value.is_null() && e.variant.is_none());
                match e.reason {
                    Reason::Error => prop_assert!(matches!(e.error, Some(ErrorCode::ParseError | ErrorCode::General))),
                    Reason::Default => prop_assert!(matches!(e.error, None | Some(ErrorCode::TargetingKeyMissing))),
                    _ => prop_assert_eq!(e.error, None),
                }
                if let Some(x) = e.exposure {
                    prop_assert_eq!(e.reason, Reason::Split);
                    prop_assert_eq!(Some(x.variant), e.variant);
                }
                let again = c.evaluate(e.flag_key, ctx).expect("listed flag exists");
                prop_assert_eq!(again, e);
            }
        }
    }

    #[test]
    fn arbitrary_json_contexts_never_panic(v in arb_json(), x in arb_json(), uid in arb_json()) {
        let c = all_operators_ruleset();
        let ctx = Context::from_json(v).unwrap_or_default().with("x", x).with("user_id", uid);
        let n = c.evaluate_all(&ctx).inspect(|e| assert!(e.variant.is_some())).count();
        prop_assert_eq!(n, OPS.len());
    }
}

/// One valid flag per operator, each testing attribute `x` and bucketing by `x`.
fn all_operators_ruleset() -> CompiledRuleset {
    let operand = |op: Operator| match op {
        Operator::In | Operator::NotIn => json!(["a", 1, true]),
        Operator::Gt | Operator::Gte | Operator::Lt | Operator::Lte => json!(1.5),
        Operator::SemverEq
        | Operator::SemverGt
        | Operator::SemverGte
        | Operator::SemverLt
        | Operator::SemverLte => json!("1.2.3"),
        Operator::Before | Operator::After => json!("2024-01-01T00:00:00Z"),
        Operator::Exists | Operator::NotExists => Value::Null,
        _ => json!("a"),
    };
    let flags = OPS
        .iter()
        .map(|op| Flag {
            key: format!("f_{}", op.as_str()),
            value_type: ValueType::String,
            variants: VARIANTS
                .iter()
                .map(|v| Variant {
                    key: (*v).into(),
                    value: json!(v),
                })
                .collect(),
            default_variant: "a".into(),
            bucket_by: "x".into(),
            salt: String::new(),
            version: 0,
            enabled: true,
            rules: vec![Rule {
                id: "r".into(),
                conditions: vec![Condition {
                    attribute: "x".into(),
                    op: *op,
                    value: operand(*op),
                }],
                segments: vec![],
                serve: Serve::Split(Split {
                    rollout: 50.0,
                    weights: vec![
                        Weight {
                            variant: "b".into(),
                            weight: 50.0,
                        },
                        Weight {
                            variant: "c".into(),
                            weight: 50.0,
                        },
                    ],
                    salt: None,
                    experiment: Some(ExperimentRef {
                        key: "e".into(),
                        phase: 1,
                        dimensions: Vec::new(),
                    }),
                }),
            }],
            fallthrough: Serve::Variant("d".into()),
        })
        .collect();
    let (c, w) = CompiledRuleset::compile(Ruleset {
        environment: "e".into(),
        flags,
        segments: vec![],
        layers: vec![],
    });
    assert!(w.is_empty(), "{w:?}");
    c
}
