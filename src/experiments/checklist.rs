//! The launch checklist: every item is evaluated, so a refused launch reports
//! all failures at once.

use serde::{Deserialize, Serialize};

use super::model::{CheckItem, CheckStatus, Checklist, Definition};

/// What to do when an experiment has no guardrail at launch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailPolicy {
    /// Refuse the launch.
    #[default]
    Require,
    /// Launch and record that it had none.
    Warn,
}

/// Facts about the world the checklist needs beyond the definition.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchContext {
    /// Guardrail policy in force.
    pub policy: GuardrailPolicy,
    /// Whether the primary metric exists in the catalogue.
    pub primary_metric_exists: bool,
    /// The flag's variant keys in the experiment's environment; `None` when the
    /// flag does not exist there.
    pub flag_variants: Option<Vec<String>>,
    /// Running experiments that would overlap (same layer, or same flag) in the environment.
    pub overlapping: Vec<String>,
}

fn item(name: &str, status: CheckStatus, message: impl Into<String>) -> CheckItem {
    CheckItem {
        item: name.to_owned(),
        status,
        message: message.into(),
    }
}

fn pass_or_fail(name: &str, problem: Option<String>, ok: &str) -> CheckItem {
    match problem {
        None => item(name, CheckStatus::Passed, ok),
        Some(message) => item(name, CheckStatus::Failed, message),
    }
}

/// Runs every checklist item for `def` in `ctx`.
pub fn run_checklist(def: &Definition, ctx: &LaunchContext) -> Checklist {
    let mut items = Vec::with_capacity(6);
    items.push(pass_or_fail(
        "hypothesis",
        def.hypothesis
            .trim()
            .is_empty()
            .then(|| "document the hypothesis: what change, what effect, and why".to_owned()),
        "hypothesis documented",
    ));
    items.push(pass_or_fail(
        "primary_metric",
        match &def.primary_metric {
            None => Some("choose a primary metric from the catalogue".to_owned()),
            Some(m) if !ctx.primary_metric_exists => {
                Some(format!("primary metric `{m}` is not in the catalogue"))
            }
            Some(_) => None,
        },
        "primary metric set",
    ));
    items.push(pass_or_fail(
        "flag",
        ctx.flag_variants.is_none().then(|| {
            format!(
                "flag `{}` does not exist in environment `{}`",
                def.flag, def.environment
            )
        }),
        "flag exists in the environment",
    ));
    items.push(pass_or_fail(
        "weights",
        weights_problem(def, ctx.flag_variants.as_deref()),
        "at least two arms, weights sum to 100, every arm is a flag variant",
    ));
    items.push(pass_or_fail(
        "overlap",
        (!ctx.overlapping.is_empty()).then(|| {
            format!(
                "running experiment(s) {} use the same {} in environment `{}`",
                ctx.overlapping.join(", "),
                if def.layer.is_some() {
                    "layer or flag"
                } else {
                    "flag"
                },
                def.environment
            )
        }),
        "no overlapping running experiment",
    ));
    items.push(if !def.guardrails.is_empty() {
        item("guardrail", CheckStatus::Passed, "guardrail documented")
    } else {
        match ctx.policy {
            GuardrailPolicy::Require => item(
                "guardrail",
                CheckStatus::Failed,
                "document at least one guardrail metric with its tolerated degradation (e.g. NPS, churn); policy `require`",
            ),
            GuardrailPolicy::Warn => item(
                "guardrail",
                CheckStatus::Warning,
                "no guardrail documented; launched under policy `warn` and recorded",
            ),
        }
    });
    Checklist {
        passed: items.iter().all(|i| i.status != CheckStatus::Failed),
        items,
    }
}

pub(super) fn weights_problem(def: &Definition, variants: Option<&[String]>) -> Option<String> {
    if def.arms.len() < 2 {
        return Some(format!(
            "an experiment needs at least two arms, got {}",
            def.arms.len()
        ));
    }
    let total: f64 = def.arms.iter().map(|a| a.weight).sum();
    if (total - 100.0).abs() > 1e-6 {
        return Some(format!("arm weights must sum to 100, got {total}"));
    }
    if let Some(variants) = variants {
        let unknown: Vec<&str> = def
            .arms
            .iter()
            .filter(|a| !variants.contains(&a.variant))
            .map(|a| a.variant.as_str())
            .collect();
        if !unknown.is_empty() {
            return Some(format!(
                "arm(s) {} are not variants of flag `{}` (it has {})",
                unknown.join(", "),
                def.flag,
                variants.join(", ")
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::model::{AnalysisSettings, Arm, Audience, Guardrail, MarginType};

    fn definition() -> Definition {
        Definition {
            name: "CTA copy".into(),
            owner: "alice".into(),
            hypothesis: "Urgency lifts clicks".into(),
            environment: "production".into(),
            flag: "cta_copy".into(),
            arms: vec![
                Arm {
                    variant: "control".into(),
                    weight: 50.0,
                },
                Arm {
                    variant: "urgency".into(),
                    weight: 50.0,
                },
            ],
            audience: Audience::default(),
            allocation: 100.0,
            layer: None,
            primary_metric: Some("cta_ctr".into()),
            secondary_metrics: vec![],
            guardrails: vec![Guardrail {
                metric: "nps".into(),
                max_degradation: 2.0,
                margin_type: MarginType::Absolute,
            }],
            analysis: AnalysisSettings::default(),
            minimum_detectable_effect: None,
            target_decision_at: None,
            dimensions: Vec::new(),
        }
    }

    fn context() -> LaunchContext {
        LaunchContext {
            policy: GuardrailPolicy::Require,
            primary_metric_exists: true,
            flag_variants: Some(vec!["control".into(), "urgency".into()]),
            overlapping: vec![],
        }
    }

    fn failed(c: &Checklist) -> Vec<&str> {
        c.items
            .iter()
            .filter(|i| i.status == CheckStatus::Failed)
            .map(|i| i.item.as_str())
            .collect()
    }

    #[test]
    fn a_complete_definition_passes() {
        let c = run_checklist(&definition(), &context());
        assert!(c.passed, "{c:?}");
        assert_eq!(c.items.len(), 6);
    }

    #[test]
    fn every_failure_is_reported_at_once() {
        let mut def = definition();
        def.hypothesis = " ".into();
        def.primary_metric = None;
        def.arms[0].weight = 40.0;
        def.guardrails.clear();
        let ctx = LaunchContext {
            flag_variants: None,
            overlapping: vec!["other".into()],
            ..context()
        };
        let c = run_checklist(&def, &ctx);
        assert!(!c.passed);
        assert_eq!(
            failed(&c),
            [
                "hypothesis",
                "primary_metric",
                "flag",
                "weights",
                "overlap",
                "guardrail"
            ]
        );
    }

    #[test]
    fn guardrail_policy_warn_passes_with_a_warning() {
        let mut def = definition();
        def.guardrails.clear();
        let c = run_checklist(
            &def,
            &LaunchContext {
                policy: GuardrailPolicy::Warn,
                ..context()
            },
        );
        assert!(c.passed);
        assert_eq!(c.items[5].status, CheckStatus::Warning);
    }

    #[test]
    fn arms_must_be_flag_variants() {
        let mut def = definition();
        def.arms[1].variant = "scarcity".into();
        let c = run_checklist(&def, &context());
        assert_eq!(failed(&c), ["weights"]);
        assert!(c.items[3].message.contains("scarcity"));
    }
}
