//! The demo's metric catalogue, flags and experiments (Objective 4 of the
//! Telegram Mini App OKRs: `cta_copy`, `digest_layout`, `import_hint`,
//! `vip_paywall_copy`, each with an NPS or churn guardrail).

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::{Value, json};
use verdict_core::{Condition, Operator, Serve, ValueType, Variant};

use crate::experiments::{
    AnalysisSettings, Arm, Audience, Definition, Engine, Guardrail, MarginType,
};
use crate::flags::{EnvironmentConfig, FlagDefinition};
use crate::metrics_catalog::{
    Direction, EventSelector, FilterOp, Metric, MetricDefinition, PropertyFilter,
};

fn metric(
    key: &str,
    name: &str,
    description: &str,
    direction: Direction,
    definition: MetricDefinition,
) -> Metric {
    let now = Utc::now().naive_utc();
    Metric {
        key: key.into(),
        name: name.into(),
        description: description.into(),
        direction,
        definition,
        data_source: None,
        created_at: now,
        updated_at: now,
    }
}

/// The metric catalogue over the Mini App's events.
pub fn metrics() -> Vec<Metric> {
    use Direction::{HigherIsBetter as Up, LowerIsBetter as Down};
    vec![
        metric(
            "alert_ctr",
            "Alert CTR",
            "CTA clicks per alert push sent (KPI: ≥ 18%)",
            Up,
            MetricDefinition::Ratio {
                numerator: EventSelector {
                    event: "cta_click".into(),
                    filters: vec![],
                },
                denominator: EventSelector {
                    event: "alerts_push_sent".into(),
                    filters: vec![],
                },
            },
        ),
        metric(
            "cta_clicks",
            "CTA clicks per user",
            "Number of cta_click events per exposed user",
            Up,
            MetricDefinition::Count {
                event: "cta_click".into(),
                filters: vec![],
            },
        ),
        metric(
            "portfolio_import_rate",
            "Portfolio import (72 h)",
            "Share of users importing a portfolio within 72 hours of exposure (KR2.2)",
            Up,
            MetricDefinition::Conversion {
                event: "portfolio_import".into(),
                filters: vec![],
                window_hours: Some(72),
            },
        ),
        metric(
            "retention_d1_d7",
            "Returned on days 1–7",
            "Opened the Mini App (miniapp_auth) between day 1 and day 7 after exposure",
            Up,
            MetricDefinition::Retention {
                events: vec!["miniapp_auth".into()],
                from_day: 1,
                to_day: 8,
            },
        ),
        metric(
            "stars_revenue",
            "Net Stars revenue per user",
            "Stars paid (stars_payment_succeeded) net of Stars refunded (stars_payment_refunded) \
             per user, winsorized at p99",
            Up,
            MetricDefinition::Sum {
                event: "stars_payment_succeeded".into(),
                filters: vec![],
                subtract: Some(EventSelector {
                    event: "stars_payment_refunded".into(),
                    filters: vec![],
                }),
                winsorize_percentile: Some(99.0),
            },
        ),
        metric(
            "bot_funnel",
            "Bot funnel to payment (7 days)",
            "Bot start → questionnaire started → completed → paywall shown → invoice sent → \
             Stars payment, within 7 days of exposure (each step's drop-off KPI: ≤ 20%)",
            Up,
            MetricDefinition::Funnel {
                steps: [
                    "bot_start",
                    "questionnaire_started",
                    "questionnaire_completed",
                    "paywall_shown",
                    "invoice_sent",
                    "stars_payment_succeeded",
                ]
                .map(|event| EventSelector {
                    event: event.into(),
                    filters: vec![],
                })
                .to_vec(),
                window_hours: 168,
            },
        ),
        metric(
            "bot_blocked",
            "Bot blocked",
            "Share of users who blocked the bot (bot_blocked: Telegram answered 403)",
            Down,
            MetricDefinition::Conversion {
                event: "bot_blocked".into(),
                filters: vec![],
                window_hours: None,
            },
        ),
        metric(
            "auto_topup_rate",
            "Auto top-up payment",
            "Paid in Stars with auto top-up on (KR1.2: stars_payment_succeeded where auto_topup = true)",
            Up,
            MetricDefinition::Conversion {
                event: "stars_payment_succeeded".into(),
                filters: vec![PropertyFilter {
                    property: "auto_topup".into(),
                    op: FilterOp::Eq,
                    value: Value::Bool(true),
                }],
                window_hours: None,
            },
        ),
        metric(
            "push_opt_out",
            "Push opt-out",
            "Share of users who blocked alert pushes (alerts_push_blocked)",
            Down,
            MetricDefinition::Conversion {
                event: "alerts_push_blocked".into(),
                filters: vec![],
                window_hours: None,
            },
        ),
        metric(
            "nps",
            "NPS (Mini App)",
            "In-app survey nps_survey, value = score 0–10; % promoters − % detractors (KPI ≥ 45)",
            Up,
            MetricDefinition::Nps {
                event: "nps_survey".into(),
            },
        ),
        metric(
            "churn",
            "Churn",
            "Share of users cancelling a paid tier (subscription_cancelled; KPI < 4% Pro/Pro+, < 3% VIP)",
            Down,
            MetricDefinition::Conversion {
                event: "subscription_cancelled".into(),
                filters: vec![],
                window_hours: None,
            },
        ),
    ]
}

fn flag(
    key: &str,
    description: &str,
    value_type: ValueType,
    variants: &[(&str, Value)],
) -> FlagDefinition {
    let default_variant = variants[0].0.to_owned();
    let environments: BTreeMap<String, EnvironmentConfig> = ["production", "staging"]
        .into_iter()
        .map(|env| {
            (
                env.to_owned(),
                EnvironmentConfig {
                    enabled: true,
                    rules: vec![],
                    fallthrough: Serve::Variant(default_variant.clone()),
                },
            )
        })
        .collect();
    FlagDefinition {
        key: key.into(),
        description: description.into(),
        value_type,
        variants: variants
            .iter()
            .map(|(k, v)| Variant {
                key: (*k).into(),
                value: v.clone(),
            })
            .collect(),
        default_variant,
        bucket_by: "user_id".into(),
        salt: String::new(),
        environments,
    }
}

/// The flags the experiments drive (enabled, serving the control by default).
pub fn flags() -> Vec<FlagDefinition> {
    vec![
        flag(
            "cta_copy",
            "Alert push call-to-action text",
            ValueType::String,
            &[
                ("control", json!("Try Pro free")),
                ("urgency", json!("Pro trial ends today")),
            ],
        ),
        flag(
            "digest_layout",
            "Daily digest layout in the Mini App",
            ValueType::String,
            &[("compact", json!("compact")), ("cards", json!("cards"))],
        ),
        flag(
            "import_hint",
            "Hint shown in the portfolio import flow",
            ValueType::String,
            &[
                (
                    "control",
                    json!("Send one position per line, e.g. `BTC 0.25`."),
                ),
                (
                    "example",
                    json!("Paste your holdings like this:\nBTC 0.25\nETH 1.5\nTON 100"),
                ),
            ],
        ),
        flag(
            "vip_paywall_copy",
            "VIP paywall title, body and price in Stars",
            ValueType::Json,
            &[
                (
                    "control",
                    json!({"title": "Verdict VIP", "body": "Exclusive push alerts, heatmap insights and priority support.", "price_stars": 250}),
                ),
                (
                    "bold",
                    json!({"title": "Go VIP today", "body": "Be first: VIP alerts land minutes before everyone else.", "price_stars": 200}),
                ),
            ],
        ),
    ]
}

fn arms(a: &str, b: &str) -> Vec<Arm> {
    vec![
        Arm {
            variant: a.into(),
            weight: 50.0,
        },
        Arm {
            variant: b.into(),
            weight: 50.0,
        },
    ]
}

fn guard(metric: &str, max_degradation: f64) -> Guardrail {
    Guardrail {
        metric: metric.into(),
        max_degradation,
        margin_type: MarginType::Absolute,
    }
}

#[allow(clippy::too_many_arguments)]
fn experiment(
    name: &str,
    owner: &str,
    hypothesis: &str,
    flag: &str,
    arms: Vec<Arm>,
    audience: Audience,
    primary: &str,
    secondary: &[&str],
    guardrails: Vec<Guardrail>,
    mde: f64,
) -> Definition {
    Definition {
        name: name.into(),
        owner: owner.into(),
        hypothesis: hypothesis.into(),
        environment: "production".into(),
        flag: flag.into(),
        arms,
        audience,
        allocation: 100.0,
        layer: None,
        primary_metric: Some(primary.into()),
        secondary_metrics: secondary.iter().map(|s| (*s).to_owned()).collect(),
        guardrails,
        analysis: AnalysisSettings {
            engine: Engine::Sequential,
            alpha: 0.05,
            cuped: true,
            cuped_pre_period_days: 7,
        },
        minimum_detectable_effect: Some(mde),
        target_decision_at: None,
        dimensions: ["icp_segment", "tier", "language"]
            .map(String::from)
            .to_vec(),
    }
}

/// The four Objective 4 experiments (KR4.1), each with a guardrail (KR4.3).
pub fn experiments() -> Vec<(&'static str, Definition)> {
    let paid = Audience {
        conditions: vec![Condition {
            attribute: "tier".into(),
            op: Operator::In,
            value: json!(["pro", "pro_plus"]),
        }],
        segments: vec![],
    };
    vec![
        (
            "cta_copy",
            experiment(
                "Alert CTA copy: urgency vs neutral",
                "growth-pm",
                "Urgent wording on the alert push CTA raises alert CTR from ~15% towards the 18% KPI, \
                 without more users blocking pushes or a lower NPS.",
                "cta_copy",
                arms("control", "urgency"),
                Audience::default(),
                "alert_ctr",
                &["cta_clicks"],
                vec![guard("push_opt_out", 0.005), guard("nps", 2.0)],
                0.1,
            ),
        ),
        (
            "digest_layout",
            experiment(
                "Digest layout: cards vs list",
                "product-pm",
                "A card layout for the daily digest makes it easier to scan, so more users come back \
                 within the first week (KR2.3), without raising churn.",
                "digest_layout",
                arms("compact", "cards"),
                Audience::default(),
                "retention_d1_d7",
                &["cta_clicks"],
                vec![guard("churn", 0.005), guard("nps", 2.0)],
                0.05,
            ),
        ),
        (
            "import_hint",
            experiment(
                "Portfolio import hint with an example",
                "product-pm",
                "An import hint with a pasted example lifts the 72-hour portfolio import rate \
                 towards the 78% import success KR (KR2.2) without hurting NPS.",
                "import_hint",
                arms("control", "example"),
                Audience::default(),
                "portfolio_import_rate",
                &["retention_d1_d7"],
                vec![guard("nps", 2.0)],
                0.1,
            ),
        ),
        (
            "vip_paywall_copy",
            experiment(
                "VIP paywall copy: bolder offer",
                "monetization-pm",
                "A bolder VIP paywall (speed of alerts, 200 instead of 250 Stars) raises Stars \
                 revenue per Pro/Pro+ user and auto top-up adoption (KR1.2), without raising churn.",
                "vip_paywall_copy",
                arms("control", "bold"),
                paid,
                "stars_revenue",
                &["auto_topup_rate", "bot_funnel"],
                vec![
                    guard("churn", 0.005),
                    guard("nps", 2.0),
                    guard("bot_blocked", 0.01),
                ],
                0.08,
            ),
        ),
    ]
}
