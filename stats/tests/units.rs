//! Table-driven unit tests for SRM, Holm, BH, power and guardrail verdicts.

use verdict_stats::{
    ArmData, DifferenceType, GuardrailSpec, GuardrailVerdict, MetricSpec, MetricType,
    PowerBaseline, benjamini_hochberg, days_to_reach, evaluate_guardrail, guardrail, holm,
    n_per_arm, srm_test,
};

/// (observed, weights, expected mismatch, expected error)
type SrmCase<'a> = (&'a [f64], Option<&'a [f64]>, bool, bool);

#[test]
fn srm_table() {
    let cases: &[SrmCase] = &[
        (&[5000.0, 5000.0], None, false, false),
        (&[5000.0, 5300.0], None, false, false), // chi2 = 8.74, p = 0.0031
        (&[5000.0, 5400.0], None, true, false),  // chi2 = 15.4, p = 8.8e-5
        (&[3000.0, 7000.0], Some(&[0.3, 0.7]), false, false),
        (&[5000.0, 5000.0], Some(&[0.3, 0.7]), true, false),
        (&[100.0, 100.0, 100.0], Some(&[1.0, 1.0, 1.0]), false, false),
        (&[100.0], None, false, true),
        (&[0.0, 0.0], None, false, true),
        (&[-1.0, 10.0], None, false, true),
        (&[f64::NAN, 10.0], None, false, true),
        (&[10.0, 10.0], Some(&[1.0]), false, true),
        (&[10.0, 10.0], Some(&[1.0, 0.0]), false, true),
    ];
    for (obs, w, mismatch, error) in cases {
        match srm_test(obs, *w) {
            Ok(r) => {
                assert!(!error, "{obs:?} should error");
                assert_eq!(r.mismatch, *mismatch, "{obs:?} {w:?}");
                assert!((0.0..=1.0).contains(&r.p_value));
            }
            Err(_) => assert!(error, "{obs:?} should not error"),
        }
    }
    // Perfect split: chi2 = 0, p = 1.
    let r = srm_test(&[10.0, 10.0], None).expect("srm");
    assert_eq!((r.chi_square, r.p_value), (0.0, 1.0));
}

#[test]
fn holm_and_bh_tables() {
    // (p, holm, bh) — hand-computed.
    let cases: &[(&[f64], &[f64], &[f64])] = &[
        (
            &[0.01, 0.04, 0.03],
            &[0.03, 0.06, 0.06],
            &[0.03, 0.04, 0.04],
        ),
        (&[0.5], &[0.5], &[0.5]),
        (&[0.6, 0.7], &[1.0, 1.0], &[0.7, 0.7]),
        (&[0.01, 0.01], &[0.02, 0.02], &[0.01, 0.01]),
        (&[], &[], &[]),
    ];
    for (p, h, b) in cases {
        let gh = holm(p).expect("holm");
        let gb = benjamini_hochberg(p).expect("bh");
        for i in 0..p.len() {
            assert!((gh[i] - h[i]).abs() < 1e-15, "holm {p:?}: {gh:?}");
            assert!((gb[i] - b[i]).abs() < 1e-15, "bh {p:?}: {gb:?}");
        }
    }
    assert!(holm(&[0.1, f64::NAN]).is_err());
    assert!(benjamini_hochberg(&[1.5]).is_err());
}

#[test]
fn power_table() {
    // (baseline, mde, alpha, power, expected n or None for error)
    let cases = [
        // (1.959964 + 0.841621)² · (0.09 + 0.0979) / 0.01² = 14,748.04 → 14,749
        (PowerBaseline::Rate(0.1), 0.1, 0.05, 0.8, Some(14_749)),
        // mean 100, sd 20, 5 % lift: 7.84887 · 800 / 25 = 251.2 → 252
        (
            PowerBaseline::Mean {
                mean: 100.0,
                sd: 20.0,
            },
            0.05,
            0.05,
            0.8,
            Some(252),
        ),
        (PowerBaseline::Rate(0.6), 1.0, 0.05, 0.8, None),
        (PowerBaseline::Rate(0.1), 0.0, 0.05, 0.8, None),
        (PowerBaseline::Rate(0.1), 0.1, 0.0, 0.8, None),
        (PowerBaseline::Rate(0.1), 0.1, 0.05, 1.0, None),
        (
            PowerBaseline::Mean { mean: 0.0, sd: 1.0 },
            0.1,
            0.05,
            0.8,
            None,
        ),
        (
            PowerBaseline::Mean {
                mean: 1.0,
                sd: -1.0,
            },
            0.1,
            0.05,
            0.8,
            None,
        ),
    ];
    for (base, mde, alpha, power, want) in cases {
        assert_eq!(
            n_per_arm(base, mde, alpha, power).ok(),
            want,
            "{base:?} {mde}"
        );
    }
    assert_eq!(days_to_reach(10_000.0, 4_000.0, 1_000.0), Ok(6));
    assert_eq!(days_to_reach(10_000.0, 4_000.0, 700.0), Ok(9));
    assert_eq!(days_to_reach(10_000.0, 12_000.0, 0.0), Ok(0));
    assert!(days_to_reach(10_000.0, 4_000.0, 0.0).is_err());
    assert!(days_to_reach(f64::NAN, 4_000.0, 10.0).is_err());
}

fn spec(margin: f64, inverse: bool) -> GuardrailSpec {
    GuardrailSpec {
        margin,
        margin_type: DifferenceType::Relative,
        inverse,
        alpha: 0.05,
    }
}

#[test]
fn guardrail_verdict_table() {
    // Normal reference (df = None): q = 1.6449.
    // (estimate, se, margin, inverse, verdict)
    use GuardrailVerdict::*;
    let cases = [
        (0.00, 0.01, 0.02, false, Pass), // lower bound −0.0164 > −0.02
        (-0.01, 0.01, 0.02, false, Inconclusive), // lower −0.026, upper 0.0064
        (-0.05, 0.01, 0.02, false, Fail), // upper −0.0336 < −0.02
        (0.00, 0.01, 0.02, true, Pass),  // upper bound 0.0164 < +0.02
        (0.01, 0.01, 0.02, true, Inconclusive),
        (0.05, 0.01, 0.02, true, Fail),  // lower 0.0336 > +0.02
        (-0.05, 0.01, 0.02, true, Pass), // lower-is-better metric fell: good
        (0.05, 0.01, 0.0, false, Pass),  // zero margin = superiority-style
        (0.0, 0.01, 0.0, false, Inconclusive),
    ];
    for (est, se, margin, inverse, want) in cases {
        let r = evaluate_guardrail(est, se, None, &spec(margin, inverse)).expect("guardrail");
        assert_eq!(
            r.verdict, want,
            "est {est} margin {margin} inverse {inverse}"
        );
        assert_eq!(
            r.verdict == Pass,
            r.p_value < 0.05,
            "p-value agrees with bound"
        );
        let expect_bound = if inverse {
            est + 1.6448536269514722 * se
        } else {
            est - 1.6448536269514722 * se
        };
        assert!((r.bound - expect_bound).abs() < 1e-12);
    }
    // Student-t is wider than normal: borderline normal pass becomes inconclusive with df = 3.
    let s = spec(0.02, false);
    assert_eq!(
        evaluate_guardrail(0.0, 0.0115, None, &s).map(|r| r.verdict),
        Ok(Pass)
    );
    assert_eq!(
        evaluate_guardrail(0.0, 0.0115, Some(3.0), &s).map(|r| r.verdict),
        Ok(Inconclusive)
    );
    for bad in [
        evaluate_guardrail(f64::NAN, 0.01, None, &s),
        evaluate_guardrail(0.0, 0.0, None, &s),
        evaluate_guardrail(0.0, 0.01, Some(-1.0), &s),
        evaluate_guardrail(0.0, 0.01, None, &spec(-0.1, false)),
    ] {
        assert!(bad.is_err());
    }
}

#[test]
fn guardrail_from_arms() {
    let metric = MetricSpec {
        metric_type: MetricType::Binomial,
        numerator: None,
        denominator: None,
        cuped: false,
        pre: None,
        inverse: true,
    };
    let arm = |name: &str, n: f64, sum: f64| ArmData {
        name: name.into(),
        n,
        sum: Some(sum),
        ..ArmData::default()
    };
    // Error rate (lower is better) 5 % → 5 %, 20 000 units each, 10 % relative margin.
    let s = GuardrailSpec {
        margin: 0.1,
        margin_type: DifferenceType::Relative,
        inverse: true,
        alpha: 0.05,
    };
    let r = guardrail(
        &metric,
        &arm("c", 20_000.0, 1000.0),
        &arm("t", 20_000.0, 1000.0),
        &s,
    )
    .expect("ok");
    assert_eq!(r.verdict, GuardrailVerdict::Pass);
    // Error rate 5 % → 7 %: a 40 % relative rise, clearly beyond the margin.
    let r = guardrail(
        &metric,
        &arm("c", 20_000.0, 1000.0),
        &arm("t", 20_000.0, 1400.0),
        &s,
    )
    .expect("ok");
    assert_eq!(r.verdict, GuardrailVerdict::Fail);
    assert!(guardrail(&metric, &arm("c", 1.0, 0.0), &arm("t", 10.0, 1.0), &s).is_err());
}

#[test]
fn analyze_never_emits_non_finite_values() {
    use verdict_stats::{AnalysisRequest, Engine, Prior, analyze};
    let weird = [0.0, -3.0, 1.0, 1e308, f64::NAN, f64::INFINITY, 2.0, 1e-300];
    let arm = |name: &str, n: f64, s: f64, ss: f64| ArmData {
        name: name.into(),
        n,
        sum: Some(s),
        sum_squares: Some(ss),
        numerator_sum: Some(s),
        numerator_sum_squares: Some(ss),
        denominator_sum: Some(n),
        denominator_sum_squares: Some(ss),
        numerator_denominator_sum_product: Some(s),
        pre_sum: Some(s),
        pre_sum_squares: Some(ss),
        post_pre_sum_product: Some(ss),
        ..ArmData::default()
    };
    let control = arm("control", 100.0, 10.0, 30.0);
    for metric_type in [MetricType::Binomial, MetricType::Mean, MetricType::Ratio] {
        for cuped in [false, true] {
            for engine in [Engine::Frequentist, Engine::Sequential, Engine::Bayesian] {
                for &n in &weird {
                    for &s in &weird {
                        let req = AnalysisRequest {
                            metric: MetricSpec {
                                metric_type,
                                numerator: None,
                                denominator: None,
                                cuped,
                                pre: None,
                                inverse: false,
                            },
                            engine,
                            difference: DifferenceType::Relative,
                            alpha: 0.05,
                            sequential_tuning: 5000.0,
                            prior: Prior {
                                proper: true,
                                ..Prior::default()
                            },
                            weights: None,
                            arms: vec![control.clone(), arm("t", n, s, s * 3.0)],
                        };
                        let res = analyze(&req);
                        for c in &res.comparisons {
                            let values = [
                                c.baseline,
                                c.treatment_mean,
                                c.estimate,
                                c.se,
                                c.ci_lower,
                                c.ci_upper,
                                c.p_value,
                                c.p_value_adjusted,
                                c.df,
                                c.chance_to_win,
                                c.risk_control,
                                c.risk_treatment,
                            ];
                            assert!(values.iter().flatten().all(|v| v.is_finite()), "{c:?}");
                            assert!(c.error.is_some() || c.estimate.is_some());
                        }
                        if let Some(s) = res.srm {
                            assert!(s.p_value.is_finite() && s.chi_square.is_finite());
                        }
                    }
                }
            }
        }
    }
}

/// A CUPED ratio whose arms have no pre-period activity at all adjusts
/// nothing: it equals the unadjusted ratio analysis (it used to fail with a
/// zero denominator).
#[test]
fn cuped_ratio_without_pre_period_activity_is_unadjusted() {
    let arm = |name: &str, m: f64, d: f64| {
        serde_json::json!({"name": name, "n": 100, "numerator_sum": m, "numerator_sum_squares": m * 2.0,
            "denominator_sum": d, "denominator_sum_squares": d * 3.0,
            "numerator_denominator_sum_product": m * 2.5})
    };
    let with_pre = |a: serde_json::Value| {
        let mut a = a;
        for f in [
            "pre_numerator_sum",
            "pre_numerator_sum_squares",
            "pre_denominator_sum",
            "pre_denominator_sum_squares",
            "numerator_pre_numerator_sum_product",
            "denominator_pre_denominator_sum_product",
            "pre_numerator_pre_denominator_sum_product",
            "numerator_pre_denominator_sum_product",
            "denominator_pre_numerator_sum_product",
        ] {
            a[f] = serde_json::json!(0.0);
        }
        a
    };
    let request = |cuped: bool, arms: Vec<serde_json::Value>| -> verdict_stats::AnalysisRequest {
        serde_json::from_value(serde_json::json!({
            "metric": {"type": "ratio", "cuped": cuped}, "arms": arms
        }))
        .expect("request")
    };
    let plain = verdict_stats::analyze(&request(
        false,
        vec![arm("c", 30.0, 150.0), arm("t", 40.0, 140.0)],
    ));
    let cuped = verdict_stats::analyze(&request(
        true,
        vec![
            with_pre(arm("c", 30.0, 150.0)),
            with_pre(arm("t", 40.0, 140.0)),
        ],
    ));
    assert_eq!(cuped.comparisons[0].error, None, "{cuped:?}");
    assert_eq!(cuped.comparisons[0].estimate, plain.comparisons[0].estimate);
    assert_eq!(cuped.comparisons[0].p_value, plain.comparisons[0].p_value);
}
