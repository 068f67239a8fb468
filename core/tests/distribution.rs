//! Statistical checks of the bucket function and of splits.

mod common;

use common::{compile_clean, ruleset};
use serde_json::json;
use verdict_core::{BUCKETS, Context, Reason, bucket};

const N: usize = 100_000;

/// `scipy.stats.chi2.ppf(0.999, 99)` = 148.2304 (also reproduced by bisection
/// on the regularized lower incomplete gamma function).
const CHI2_999_DF99: f64 = 148.2304;

fn chi_square(counts: &[u64], expected: f64) -> f64 {
    counts
        .iter()
        .map(|&c| {
            let d = c as f64 - expected;
            d * d / expected
        })
        .sum()
}

#[test]
fn bucket_is_uniform_chi_square() {
    for (salt, unit_prefix) in [("cta_copy", "user-"), ("another-salt", ""), ("", "device:")] {
        let mut cells = [0u64; 100];
        for i in 0..N {
            let b = bucket(salt, &format!("{unit_prefix}{i}"));
            assert!(b < BUCKETS);
            cells[(b / (BUCKETS / 100)) as usize] += 1;
        }
        let stat = chi_square(&cells, N as f64 / 100.0);
        assert!(stat < CHI2_999_DF99, "salt {salt:?}: chi2 = {stat}");
    }
}

#[test]
fn chi_square_detects_skew() {
    // Sanity check of the test itself: a mildly skewed histogram fails.
    let mut cells = [1000u64; 100];
    cells[0] += 300;
    cells[1] -= 300;
    assert!(chi_square(&cells, 1000.0) > CHI2_999_DF99);
}

#[test]
fn fifty_fifty_split_within_binomial_tolerance() {
    let c = compile_clean(ruleset(
        json!([{
            "key": "f", "value_type": "boolean",
            "variants": [{"key": "off", "value": false}, {"key": "on", "value": true}],
            "default_variant": "off", "enabled": true,
            "fallthrough": {"split": {"weights": [
                {"variant": "off", "weight": 50.0}, {"variant": "on", "weight": 50.0}
            ]}}
        }]),
        json!([]),
        json!([]),
    ));
    let mut on = 0usize;
    for i in 0..N {
        let e = c
            .evaluate("f", &Context::new().with("user_id", format!("u{i}")))
            .expect("flag");
        assert_eq!(e.reason, Reason::Split);
        if e.variant == Some("on") {
            on += 1;
        }
    }
    // Binomial(100000, 0.5): sd = sqrt(N/4) ≈ 158; allow 4 sd (p ≈ 6e-5).
    let sd = (N as f64 * 0.25).sqrt();
    let z = (on as f64 - N as f64 / 2.0).abs() / sd;
    assert!(z < 4.0, "on = {on}, z = {z}");
}

#[test]
fn rollout_fraction_within_binomial_tolerance() {
    let c = compile_clean(ruleset(
        json!([{
            "key": "f", "value_type": "boolean",
            "variants": [{"key": "off", "value": false}, {"key": "on", "value": true}],
            "default_variant": "off", "enabled": true,
            "fallthrough": {"split": {"rollout": 12.5, "weights": [{"variant": "on", "weight": 100.0}]}}
        }]),
        json!([]),
        json!([]),
    ));
    let on = (0..N)
        .filter(|i| {
            c.evaluate("f", &Context::new().with("user_id", *i as u64))
                .is_some_and(|e| e.variant == Some("on"))
        })
        .count();
    let p = 0.125;
    let sd = (N as f64 * p * (1.0 - p)).sqrt();
    let z = (on as f64 - N as f64 * p).abs() / sd;
    assert!(z < 4.0, "on = {on}, z = {z}");
}
