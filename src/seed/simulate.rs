//! Simulated traffic for the demo: users are assigned through real flag
//! evaluation (so exposures match what the SDK would report) and emit the
//! Mini App's events, with small true effects in the treatment arms.

use chrono::{NaiveDateTime, TimeDelta};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use verdict_core::Context;

use super::{DEMO_DAYS, SeedError};
use crate::db::{DbConnection, DbError};
use crate::events::{self, NewEvent};
use crate::exposures::{self, ExposureRecord};
use crate::ruleset::load_snapshot;

/// The bot's own steps, as it records them (`verdict-bot`).
const BOT_FUNNEL: [&str; 6] = [
    "bot_start",
    "questionnaire_started",
    "questionnaire_completed",
    "paywall_shown",
    "invoice_sent",
    "stars_payment_succeeded",
];

/// Rows buffered before each batched insert.
const FLUSH_EVERY: usize = 5000;

/// What the simulation wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SimulationReport {
    /// Users simulated.
    pub users: usize,
    /// Exposures stored.
    pub exposures: usize,
    /// Events stored.
    pub events: usize,
}

struct Writer {
    now: NaiveDateTime,
    events: Vec<NewEvent>,
    exposures: Vec<ExposureRecord>,
    report: SimulationReport,
}

impl Writer {
    fn event(
        &mut self,
        unit: &str,
        seq: &mut u32,
        name: &str,
        at: NaiveDateTime,
        value: Option<f64>,
        properties: Option<String>,
    ) {
        if at >= self.now {
            return;
        }
        *seq += 1;
        self.events.push(NewEvent {
            event_id: format!("demo-{unit}-{seq}"),
            unit_id: unit.to_owned(),
            name: name.to_owned(),
            timestamp: at,
            value,
            properties,
        });
    }

    fn flush(&mut self, conn: &mut DbConnection, force: bool) -> Result<(), SeedError> {
        if force || self.exposures.len() >= FLUSH_EVERY {
            self.report.exposures += exposures::insert_batch(conn, &self.exposures)?;
            self.exposures.clear();
        }
        if force || self.events.len() >= FLUSH_EVERY {
            self.report.events +=
                events::insert_batch(conn, &self.events).map_err(DbError::from)?;
            self.events.clear();
        }
        Ok(())
    }
}

fn minutes(rng: &mut StdRng, max: i64) -> TimeDelta {
    TimeDelta::minutes(rng.random_range(0..max.max(1)))
}

/// Simulates `users` Mini App users arriving over the [`DEMO_DAYS`] before
/// `now` (since the demo experiments' launch): each is evaluated against the
/// production flags at its first visit (recording the experiment exposures
/// that implies) and then sends events. Deterministic for a given `seed` and `now`.
pub fn simulate_users(
    conn: &mut DbConnection,
    users: usize,
    seed: u64,
    now: NaiveDateTime,
) -> Result<SimulationReport, SeedError> {
    let snapshot = load_snapshot(conn)?;
    let Some(production) = snapshot.environments.get("production").cloned() else {
        return Err(SeedError::Domain("no production ruleset".into()));
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = Writer {
        now,
        events: Vec::new(),
        exposures: Vec::new(),
        report: SimulationReport::default(),
    };
    for u in 0..users {
        let unit = format!("demo-{u}");
        let tier = match rng.random_range(0..100) {
            0..50 => "free",
            50..80 => "pro",
            80..95 => "pro_plus",
            _ => "vip",
        };
        let first_seen = now - TimeDelta::minutes(rng.random_range(60..DEMO_DAYS * 24 * 60));
        // The bot's questionnaire scores users into ICP segments; paying
        // tiers are more often a high fit.
        let icp_segment = match (tier, rng.random_range(0..100)) {
            ("vip" | "pro_plus", 0..60) | ("pro", 0..35) | ("free", 0..15) => "high",
            (_, 0..65) => "medium",
            _ => "low",
        };
        let language = if rng.random_bool(0.7) { "ru" } else { "en" };
        let ctx = Context::new()
            .with("user_id", unit.clone())
            .with("tier", tier)
            .with("icp_segment", icp_segment)
            .with("language", language);
        let mut variant = |flag: &str| -> String {
            let Some(evaluation) = production.compiled.evaluate(flag, &ctx) else {
                return String::new();
            };
            if let Some(exposure) = evaluation.exposure {
                w.exposures.push(ExposureRecord {
                    experiment_key: exposure.experiment.to_owned(),
                    phase: i32::try_from(exposure.phase).unwrap_or(i32::MAX),
                    unit_id: unit.clone(),
                    variant: exposure.variant.to_owned(),
                    first_seen,
                    dimensions: exposures::dimensions_json(exposure.dimension_values(&ctx)),
                });
            }
            evaluation.variant.unwrap_or_default().to_owned()
        };
        let urgency = variant("cta_copy") == "urgency";
        let cards = variant("digest_layout") == "cards";
        let hint = variant("import_hint") == "example";
        let exclusive = variant("vip_paywall_copy") == "bold";
        let paid = tier != "free";
        let elapsed = (now - first_seen).num_minutes();
        let mut seq = 0;

        // Pre-exposure activity (the CUPED covariate) and the first visit.
        for day in 1..=7 {
            if rng.random_bool(0.3) {
                let at = first_seen - TimeDelta::days(day) + minutes(&mut rng, 600);
                w.event(&unit, &mut seq, "miniapp_auth", at, None, None);
            }
        }
        w.event(&unit, &mut seq, "miniapp_auth", first_seen, None, None);
        // Returns on later days.
        for day in 1..=(elapsed / (24 * 60)) {
            if rng.random_bool(if cards { 0.40 } else { 0.35 }) {
                let at = first_seen + TimeDelta::days(day) + minutes(&mut rng, 720);
                w.event(&unit, &mut seq, "miniapp_auth", at, None, None);
            }
        }
        // Alert pushes, clicks and opt-outs.
        if paid || rng.random_bool(0.5) {
            for _ in 0..rng.random_range(1..=4) {
                let at = first_seen + minutes(&mut rng, elapsed);
                w.event(&unit, &mut seq, "alerts_push_sent", at, None, None);
                if rng.random_bool(if urgency { 0.18 } else { 0.15 }) {
                    w.event(
                        &unit,
                        &mut seq,
                        "cta_click",
                        at + TimeDelta::minutes(5),
                        None,
                        None,
                    );
                }
                if rng.random_bool(if urgency { 0.012 } else { 0.01 }) {
                    w.event(
                        &unit,
                        &mut seq,
                        "alerts_push_blocked",
                        at + TimeDelta::minutes(6),
                        None,
                        None,
                    );
                }
            }
        }
        // Portfolio import within three days.
        if rng.random_bool(if hint { 0.62 } else { 0.55 }) {
            let at = first_seen + minutes(&mut rng, 72 * 60);
            w.event(&unit, &mut seq, "portfolio_import", at, None, None);
        }
        // The bot's funnel to a Stars payment: every step the bot has, in
        // order; payers walk it to the end, others drop off on the way.
        let pay = match tier {
            "vip" => 0.2,
            "free" => 0.03,
            _ if exclusive => 0.12,
            _ => 0.10,
        };
        let paid_now = rng.random_bool(pay);
        let reached = if paid_now {
            BOT_FUNNEL.len()
        } else {
            // Drop-off after each step: most users start, fewer see the paywall.
            let mut steps = 0;
            for keep in [0.9, 0.85, 0.8, 0.6, 0.35] {
                if rng.random_bool(keep) {
                    steps += 1;
                } else {
                    break;
                }
            }
            steps
        };
        let mut at = first_seen + TimeDelta::minutes(1);
        for step in &BOT_FUNNEL[..reached] {
            let props = format!(r#"{{"tier":"{tier}","icp_segment":"{icp_segment}"}}"#);
            if *step == "stars_payment_succeeded" {
                let stars = f64::from(rng.random_range(50..500u32));
                let auto_topup = rng.random_bool(if exclusive { 0.45 } else { 0.4 });
                at += minutes(&mut rng, elapsed.min(3 * 24 * 60));
                let props = format!(r#"{{"auto_topup":{auto_topup},"tier":"{tier}"}}"#);
                w.event(&unit, &mut seq, step, at, Some(stars), Some(props));
                // Some payments are refunded (Telegram's refundStarPayment).
                if rng.random_bool(if exclusive { 0.1 } else { 0.08 }) {
                    let later = at + TimeDelta::hours(rng.random_range(1..48));
                    let props = format!(r#"{{"tier":"{tier}"}}"#);
                    w.event(
                        &unit,
                        &mut seq,
                        "stars_payment_refunded",
                        later,
                        Some(stars),
                        Some(props),
                    );
                }
            } else {
                at += TimeDelta::minutes(rng.random_range(1..90));
                w.event(&unit, &mut seq, step, at, None, Some(props));
            }
        }
        if rng.random_bool(if exclusive { 0.025 } else { 0.02 }) {
            let at = first_seen + minutes(&mut rng, elapsed);
            w.event(&unit, &mut seq, "bot_blocked", at, None, None);
        }
        // NPS survey and churn.
        if rng.random_bool(0.25) {
            let score = match rng.random_range(0..100) {
                0..50 => rng.random_range(9..=10),
                50..80 => rng.random_range(7..=8),
                _ => rng.random_range(0..=6),
            };
            let at = first_seen + minutes(&mut rng, elapsed);
            w.event(
                &unit,
                &mut seq,
                "nps_survey",
                at,
                Some(f64::from(score)),
                None,
            );
        }
        if paid && rng.random_bool(0.03) {
            let at = first_seen + minutes(&mut rng, elapsed);
            w.event(&unit, &mut seq, "subscription_cancelled", at, None, None);
        }
        w.report.users += 1;
        w.flush(conn, false)?;
    }
    w.flush(conn, true)?;
    Ok(w.report)
}
