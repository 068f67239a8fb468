//! Golden vectors produced by an independent Python implementation
//! (`tests/gen_bucket_vectors.py`, python `xxhash`), proving the documented
//! algorithm is reproducible.

mod common;

use common::{compile_clean, ruleset};
use serde_json::{Value, json};
use verdict_core::{BucketRange, Context, Reason, bucket, salt_seed, split_ranges};

fn vectors() -> Value {
    serde_json::from_str(include_str!("bucket_vectors.json")).expect("vectors file is valid JSON")
}

fn s(v: &Value) -> &str {
    v.as_str().expect("string field")
}

#[test]
fn seeds_match() {
    let v = vectors();
    let seeds = v["seeds"].as_array().expect("seeds");
    assert!(seeds.len() >= 5);
    for row in seeds {
        let expected: u64 = s(&row["seed"]).parse().expect("u64 seed");
        assert_eq!(
            salt_seed(s(&row["salt"])),
            expected,
            "salt {:?}",
            row["salt"]
        );
    }
}

#[test]
fn buckets_match() {
    let v = vectors();
    let rows = v["buckets"].as_array().expect("buckets");
    assert!(rows.len() >= 50);
    for row in rows {
        let expected = row["bucket"].as_u64().expect("bucket");
        let got = bucket(s(&row["salt"]), s(&row["unit"]));
        assert_eq!(u64::from(got), expected, "{row}");
    }
}

#[test]
fn split_assignments_match() {
    let v = vectors();
    let rows = v["assignments"].as_array().expect("assignments");
    assert!(rows.len() >= 40);
    for row in rows {
        let rollout = row["rollout"].as_f64().expect("rollout");
        let weights: Vec<f64> = row["weights"]
            .as_array()
            .expect("weights")
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        let ranges: Vec<BucketRange> = row["ranges"]
            .as_array()
            .expect("ranges")
            .iter()
            .map(|r| BucketRange {
                start: r[0].as_u64().unwrap_or(u64::MAX) as u32,
                end: r[1].as_u64().unwrap_or(u64::MAX) as u32,
            })
            .collect();
        assert_eq!(split_ranges(rollout, &weights), ranges, "{row}");

        // End to end through a compiled flag: variant i is named "v{i}".
        let variants: Vec<Value> = (0..weights.len())
            .map(|i| json!({"key": format!("v{i}"), "value": i}))
            .collect();
        let w: Vec<Value> = weights
            .iter()
            .enumerate()
            .map(|(i, w)| json!({"variant": format!("v{i}"), "weight": w}))
            .collect();
        let flag = json!({
            "key": "golden", "value_type": "number", "variants": variants,
            "default_variant": "v0", "salt": s(&row["salt"]), "enabled": true,
            "fallthrough": {"split": {"rollout": rollout, "weights": w}}
        });
        let c = compile_clean(ruleset(json!([flag]), json!([]), json!([])));
        let e = c
            .evaluate("golden", &Context::new().with("user_id", s(&row["unit"])))
            .expect("flag exists");
        match row["variant_index"].as_u64() {
            Some(i) => {
                assert_eq!(e.reason, Reason::Split, "{row}");
                assert_eq!(e.variant, Some(format!("v{i}").as_str()), "{row}");
            }
            None => {
                assert_eq!(e.reason, Reason::Default, "{row}");
                assert_eq!(e.variant, Some("v0"), "{row}");
            }
        }
    }
}
