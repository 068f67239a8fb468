//! The recommendation: a pure function of the result's signals.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use verdict_stats::GuardrailVerdict;

/// What to do with the experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Roll the named variant out.
    Ship,
    /// Stop the treatment(s): a guardrail failed or the primary metric got worse.
    RollBack,
    /// Not enough evidence yet.
    KeepRunning,
    /// No decision can be drawn (untrustworthy data, or no effect by the due date).
    Inconclusive,
}

/// A recommendation with its reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Recommendation {
    /// Machine-readable action.
    pub action: Action,
    /// The variant to ship or roll back, when one is singled out.
    #[schema(required = true)]
    pub variant: Option<String>,
    /// Predicted days until the planned sample is reached (`keep_running`).
    #[schema(required = true)]
    pub days_left: Option<u64>,
    /// Human-readable reasons, most important first.
    pub reasons: Vec<String>,
}

/// How a treatment did on the primary metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrimaryOutcome {
    /// Significantly better.
    Better,
    /// Significantly worse.
    Worse,
    /// No significant difference.
    Flat,
    /// Could not be computed.
    Unavailable,
}

/// One treatment arm's signals.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmSignal {
    /// Variant key.
    pub variant: String,
    /// Primary metric outcome.
    pub primary: PrimaryOutcome,
    /// Improvement on the primary metric (relative lift, sign flipped for
    /// lower-is-better metrics), when known.
    pub improvement: Option<f64>,
    /// Guardrail verdicts (`None`: could not be evaluated), by metric key.
    pub guardrails: Vec<(String, Option<GuardrailVerdict>)>,
}

/// Everything the recommendation depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct Signals {
    /// SRM p-value when the sample ratio mismatches.
    pub srm_mismatch: Option<f64>,
    /// Primary metric key.
    pub primary_metric: Option<String>,
    /// Treatment arms.
    pub arms: Vec<ArmSignal>,
    /// Predicted days until the planned sample is reached.
    pub days_left: Option<u64>,
    /// The target decision date has passed.
    pub past_decision_date: bool,
    /// The engine's inference is valid at one planned look only (frequentist,
    /// Bayesian), not at any time (sequential).
    pub fixed_horizon: bool,
}

impl Signals {
    /// Whether the primary metric may decide now: always with an
    /// always-valid engine; with a fixed-horizon one only once the planned
    /// sample is reached or the decision date has passed, since reading it
    /// every day and acting on the first significant look multiplies false
    /// positives (about 10% of A/A tests "ship" over 14 daily looks at α = 5%;
    /// `tests/peeking.rs`).
    fn primary_may_decide(&self) -> bool {
        !self.fixed_horizon || self.days_left == Some(0) || self.past_decision_date
    }
}

fn rec(action: Action, variant: Option<&str>, reasons: Vec<String>) -> Recommendation {
    Recommendation {
        action,
        variant: variant.map(str::to_owned),
        days_left: None,
        reasons,
    }
}

/// Decides: SRM → inconclusive; a failed guardrail → roll back; every
/// treatment significantly worse → roll back; a significant winner whose
/// guardrails all pass → ship it; otherwise keep running, or inconclusive once
/// the decision date passed or the planned sample was reached without effect.
pub fn recommend(s: &Signals) -> Recommendation {
    if let Some(p) = s.srm_mismatch {
        return rec(
            Action::Inconclusive,
            None,
            vec![format!(
                "sample ratio mismatch (chi-square p = {p:.2e} < 0.001): exposures do not match \
                 the planned weights, so these results are untrustworthy; check assignment and \
                 exposure logging"
            )],
        );
    }
    let Some(primary) = &s.primary_metric else {
        return rec(
            Action::Inconclusive,
            None,
            vec!["the experiment has no primary metric".into()],
        );
    };
    let failed: Vec<(&str, &str)> = s
        .arms
        .iter()
        .flat_map(|a| {
            a.guardrails
                .iter()
                .filter(|(_, v)| *v == Some(GuardrailVerdict::Fail))
                .map(move |(m, _)| (a.variant.as_str(), m.as_str()))
        })
        .collect();
    if !failed.is_empty() {
        let mut variants: Vec<&str> = failed.iter().map(|(v, _)| *v).collect();
        variants.dedup();
        let reasons = failed
            .iter()
            .map(|(v, m)| {
                format!("guardrail `{m}` failed for `{v}`: it degraded beyond the tolerated margin")
            })
            .collect();
        let variant = (variants.len() == 1).then(|| variants[0]);
        return rec(Action::RollBack, variant, reasons);
    }
    if !s.primary_may_decide()
        && s.arms
            .iter()
            .any(|a| a.primary != PrimaryOutcome::Unavailable)
    {
        let mut reasons = vec![format!(
            "the engine is fixed-horizon: primary metric `{primary}` is judged once the planned \
             sample is reached or at the target decision date, not at every look (acting on an \
             early significant look inflates false positives; the sequential engine may stop early)"
        )];
        if let Some(a) = s.arms.iter().find(|a| a.primary != PrimaryOutcome::Flat) {
            reasons.push(format!(
                "`{}` currently looks {} on `{primary}`",
                a.variant,
                if a.primary == PrimaryOutcome::Better {
                    "better"
                } else {
                    "worse"
                }
            ));
        }
        reasons.push(match s.days_left {
            Some(days) => {
                format!(
                    "about {days} more day(s) to reach the planned sample at the observed traffic"
                )
            }
            None => "no planned sample (no minimum detectable effect or no baseline yet): \
                 decide at the target decision date"
                .to_owned(),
        });
        return Recommendation {
            days_left: s.days_left,
            ..rec(Action::KeepRunning, None, reasons)
        };
    }
    if !s.arms.is_empty() && s.arms.iter().all(|a| a.primary == PrimaryOutcome::Worse) {
        let reasons = s
            .arms
            .iter()
            .map(|a| {
                format!(
                    "primary metric `{primary}` is significantly worse for `{}`",
                    a.variant
                )
            })
            .collect();
        let variant = (s.arms.len() == 1).then(|| s.arms[0].variant.as_str());
        return rec(Action::RollBack, variant, reasons);
    }
    let all_pass = |a: &ArmSignal| {
        a.guardrails
            .iter()
            .all(|(_, v)| *v == Some(GuardrailVerdict::Pass))
    };
    let winner = s
        .arms
        .iter()
        .filter(|a| a.primary == PrimaryOutcome::Better && all_pass(a))
        .max_by(|a, b| {
            a.improvement
                .unwrap_or(0.0)
                .total_cmp(&b.improvement.unwrap_or(0.0))
        });
    if let Some(w) = winner {
        let mut reasons = vec![match w.improvement {
            Some(lift) => format!(
                "primary metric `{primary}` is significantly better for `{}` ({:+.2} %)",
                w.variant,
                lift * 100.0
            ),
            None => format!(
                "primary metric `{primary}` is significantly better for `{}`",
                w.variant
            ),
        }];
        if w.guardrails.is_empty() {
            reasons.push("no guardrails are defined".into());
        } else {
            reasons.push("every guardrail passes its non-inferiority test".into());
        }
        return rec(Action::Ship, Some(&w.variant), reasons);
    }
    let mut reasons: Vec<String> = s
        .arms
        .iter()
        .filter(|a| a.primary == PrimaryOutcome::Better)
        .flat_map(|a| {
            a.guardrails
                .iter()
                .filter(|(_, v)| *v != Some(GuardrailVerdict::Pass))
                .map(move |(m, _)| {
                    format!(
                        "`{}` is significantly better on `{primary}` but guardrail `{m}` is not \
                         yet shown to hold",
                        a.variant
                    )
                })
        })
        .collect();
    if reasons.is_empty() {
        reasons.push(format!(
            "no significant difference on primary metric `{primary}` yet"
        ));
    }
    if s.past_decision_date {
        reasons.push("the target decision date has passed".into());
        return rec(Action::Inconclusive, None, reasons);
    }
    match s.days_left {
        Some(0) => {
            reasons.push("the planned sample size has been reached".into());
            rec(Action::Inconclusive, None, reasons)
        }
        Some(days) => {
            reasons.push(format!(
                "about {days} more day(s) to reach the planned sample at the observed traffic"
            ));
            Recommendation {
                days_left: Some(days),
                ..rec(Action::KeepRunning, None, reasons)
            }
        }
        None => {
            reasons.push(
                "no sample-size forecast (no planned minimum detectable effect or no baseline yet)"
                    .into(),
            );
            rec(Action::KeepRunning, None, reasons)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use GuardrailVerdict::{Fail, Inconclusive, Pass};
    use PrimaryOutcome::{Better, Flat, Worse};

    fn arm(v: &str, primary: PrimaryOutcome, lift: f64, g: &[GuardrailVerdict]) -> ArmSignal {
        ArmSignal {
            variant: v.into(),
            primary,
            improvement: Some(lift),
            guardrails: g
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("g{i}"), Some(*v)))
                .collect(),
        }
    }

    fn signals(arms: Vec<ArmSignal>) -> Signals {
        Signals {
            srm_mismatch: None,
            primary_metric: Some("ctr".into()),
            arms,
            days_left: Some(5),
            past_decision_date: false,
            fixed_horizon: false,
        }
    }

    #[test]
    fn decision_table() {
        let cases: Vec<(&str, Signals, Action, Option<&str>)> = vec![
            (
                "srm overrides a winner",
                Signals {
                    srm_mismatch: Some(1e-6),
                    ..signals(vec![arm("b", Better, 0.1, &[Pass])])
                },
                Action::Inconclusive,
                None,
            ),
            (
                "guardrail fail rolls back even a winner",
                signals(vec![arm("b", Better, 0.1, &[Pass, Fail])]),
                Action::RollBack,
                Some("b"),
            ),
            (
                "winner with passing guardrails ships",
                signals(vec![arm("b", Better, 0.1, &[Pass])]),
                Action::Ship,
                Some("b"),
            ),
            (
                "best of two winners ships",
                signals(vec![
                    arm("b", Better, 0.05, &[Pass]),
                    arm("c", Better, 0.08, &[Pass]),
                ]),
                Action::Ship,
                Some("c"),
            ),
            (
                "winner with inconclusive guardrail keeps running",
                signals(vec![arm("b", Better, 0.1, &[Inconclusive])]),
                Action::KeepRunning,
                None,
            ),
            (
                "all worse rolls back",
                signals(vec![arm("b", Worse, -0.1, &[Pass])]),
                Action::RollBack,
                Some("b"),
            ),
            (
                "flat keeps running",
                signals(vec![arm("b", Flat, 0.01, &[Pass])]),
                Action::KeepRunning,
                None,
            ),
            (
                "flat after the decision date is inconclusive",
                Signals {
                    past_decision_date: true,
                    ..signals(vec![arm("b", Flat, 0.01, &[Pass])])
                },
                Action::Inconclusive,
                None,
            ),
            (
                "flat at the planned sample is inconclusive",
                Signals {
                    days_left: Some(0),
                    ..signals(vec![arm("b", Flat, 0.01, &[])])
                },
                Action::Inconclusive,
                None,
            ),
            (
                "fixed horizon: a winner before the planned sample keeps running",
                Signals {
                    fixed_horizon: true,
                    ..signals(vec![arm("b", Better, 0.1, &[Pass])])
                },
                Action::KeepRunning,
                None,
            ),
            (
                "fixed horizon: a loser before the planned sample keeps running",
                Signals {
                    fixed_horizon: true,
                    ..signals(vec![arm("b", Worse, -0.1, &[Pass])])
                },
                Action::KeepRunning,
                None,
            ),
            (
                "fixed horizon: a winner at the planned sample ships",
                Signals {
                    fixed_horizon: true,
                    days_left: Some(0),
                    ..signals(vec![arm("b", Better, 0.1, &[Pass])])
                },
                Action::Ship,
                Some("b"),
            ),
            (
                "fixed horizon: a winner past the decision date ships",
                Signals {
                    fixed_horizon: true,
                    past_decision_date: true,
                    ..signals(vec![arm("b", Better, 0.1, &[Pass])])
                },
                Action::Ship,
                Some("b"),
            ),
            (
                "fixed horizon: a failed guardrail rolls back at any time",
                Signals {
                    fixed_horizon: true,
                    ..signals(vec![arm("b", Flat, 0.0, &[Fail])])
                },
                Action::RollBack,
                Some("b"),
            ),
            (
                "no primary metric",
                Signals {
                    primary_metric: None,
                    ..signals(vec![arm("b", Better, 0.1, &[])])
                },
                Action::Inconclusive,
                None,
            ),
        ];
        for (name, s, action, variant) in cases {
            let r = recommend(&s);
            assert_eq!(r.action, action, "{name}: {r:?}");
            assert_eq!(r.variant.as_deref(), variant, "{name}: {r:?}");
            assert!(!r.reasons.is_empty(), "{name}");
        }
        let r = recommend(&signals(vec![arm("b", Flat, 0.0, &[])]));
        assert_eq!(r.days_left, Some(5));
    }
}
