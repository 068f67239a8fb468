//! The texts of Telegram messages: the daily digest and the alerts (pure
//! functions of domain values; every piece of stored text is escaped).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::html::{MESSAGE_LIMIT, escape, shorten, split};
use crate::decisions::SlaStatus;
use crate::experiments::MarginType;
use crate::results::{Action, ExperimentResults, GuardrailOutcome, Recommendation};

/// Most characters of a free-text field (name, reason) shown, so that one
/// experiment's lines stay far below a message's limit.
const FREE_TEXT: usize = 300;

/// How messages show times and where they link to.
#[derive(Debug, Clone, PartialEq)]
pub struct Presentation {
    /// Base URL of the console, e.g. `https://verdict.example.com`.
    pub public_url: String,
    /// Times are shown in this zone.
    pub tz: Tz,
}

impl Presentation {
    /// The experiment's console page (keys are slugs: nothing to encode).
    fn console(&self, key: &str) -> String {
        format!(
            "{}/ui/experiments/{key}",
            self.public_url.trim_end_matches('/')
        )
    }

    fn link(&self, key: &str, label: &str) -> String {
        format!(
            "<a href=\"{}\">{}</a>",
            escape(&self.console(key)),
            escape(&shorten(label, FREE_TEXT))
        )
    }

    fn time(&self, t: DateTime<Utc>) -> String {
        t.with_timezone(&self.tz)
            .format("%a %-d %b %H:%M")
            .to_string()
    }
}

/// One running experiment in the digest.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestEntry {
    /// Experiment key.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Its owner.
    pub owner: String,
    /// Target decision time (UTC).
    pub target_decision_at: Option<NaiveDateTime>,
    /// Days left to it (negative when overdue).
    pub days_left: Option<f64>,
    /// Standing against the decision SLA.
    pub sla: SlaStatus,
    /// The latest stored results' recommendation, if any is stored.
    pub latest: Option<LatestRecommendation>,
}

/// A recommendation and the data cut-off of the results it came with.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestRecommendation {
    /// The results' data cut-off.
    pub as_of: DateTime<Utc>,
    /// What they recommend.
    pub recommendation: Recommendation,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn days(d: f64) -> String {
    format!("{:.1} days", d.abs())
}

fn recommendation_line(r: &Recommendation) -> String {
    let variant = r
        .variant
        .as_deref()
        .map(|v| format!(" <b>{}</b>", escape(v)))
        .unwrap_or_default();
    match r.action {
        Action::Ship => format!("ship{variant}"),
        Action::RollBack => format!("roll back{variant}"),
        Action::Inconclusive => "inconclusive".into(),
        Action::KeepRunning => match r.days_left {
            Some(0) | None => "keep running".into(),
            Some(1) => "keep running (about 1 more day to the planned sample)".into(),
            Some(n) => format!("keep running (about {n} more days to the planned sample)"),
        },
    }
}

fn entry_lines(entry: &DigestEntry, view: &Presentation) -> Vec<String> {
    let due = match (entry.days_left, entry.target_decision_at) {
        (Some(left), Some(target)) => {
            let when = view.time(target.and_utc());
            if left < 0.0 {
                format!("{} overdue (was due {when})", days(left))
            } else {
                format!("{} left (due {when})", days(left))
            }
        }
        _ => "no decision date".into(),
    };
    let mut lines = vec![
        format!(
            "{} · <code>{}</code>",
            view.link(&entry.key, &entry.name),
            escape(&entry.key)
        ),
        format!(
            "{due} · owner {}",
            escape(&shorten(&entry.owner, FREE_TEXT))
        ),
    ];
    match &entry.latest {
        Some(latest) => {
            let r = &latest.recommendation;
            lines.push(format!(
                "Recommendation: {} · results as of {}",
                recommendation_line(r),
                view.time(latest.as_of)
            ));
            if let Some(reason) = r.reasons.first() {
                lines.push(format!("<i>{}</i>", escape(&shorten(reason, FREE_TEXT))));
            }
        }
        None => lines.push("No stored results yet.".into()),
    }
    lines
}

/// The digest of `day`: running experiments grouped as overdue, due within
/// two days and on track (most urgent first), each with its days left, latest
/// recommendation and console link; in as many messages as it takes.
pub fn digest(day: NaiveDate, entries: &[DigestEntry], view: &Presentation) -> Vec<String> {
    let mut entries: Vec<&DigestEntry> = entries.iter().collect();
    entries.sort_by(|a, b| {
        let left = |e: &DigestEntry| e.days_left.unwrap_or(f64::INFINITY);
        left(a).total_cmp(&left(b)).then_with(|| a.key.cmp(&b.key))
    });
    let count = |status: SlaStatus| entries.iter().filter(|e| e.sla == status).count();
    let mut lines = vec![
        format!(
            "📊 <b>Verdict digest</b> · {} · times in {}",
            day.format("%A %-d %B %Y"),
            view.tz.name()
        ),
        if entries.is_empty() {
            "No running experiments.".into()
        } else {
            format!(
                "{}: {} overdue, {} due within 2 days.",
                plural(entries.len(), "running experiment", "running experiments"),
                plural(count(SlaStatus::Overdue), "decision", "decisions"),
                count(SlaStatus::DueSoon)
            )
        },
    ];
    let groups = [
        (SlaStatus::Overdue, "⏰ <b>Decision overdue</b>"),
        (SlaStatus::DueSoon, "⏳ <b>Decision due within 2 days</b>"),
        (SlaStatus::OnTrack, "✅ <b>On track</b>"),
    ];
    for (status, title) in groups {
        let group: Vec<&&DigestEntry> = entries.iter().filter(|e| e.sla == status).collect();
        if group.is_empty() {
            continue;
        }
        lines.push(String::new());
        lines.push(title.into());
        for entry in group {
            lines.push(String::new());
            lines.extend(entry_lines(entry, view));
        }
    }
    split(&lines, MESSAGE_LIMIT)
}

/// Up to four decimals, without trailing zeros (`0.005`, `5`).
fn amount(x: f64) -> String {
    let fixed = format!("{x:.4}");
    fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn number(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{x:.4}"),
        _ => "n/a".into(),
    }
}

fn p_value(p: Option<f64>) -> String {
    match p {
        Some(p) if p < 0.001 => format!("{p:.1e}"),
        Some(p) => format!("{p:.3}"),
        None => "n/a".into(),
    }
}

fn snapshot_line(r: &ExperimentResults, view: &Presentation) -> String {
    format!("Results of phase {} as of {}.", r.phase, view.time(r.as_of))
}

/// `srm.detected`: the exposures do not match the planned weights.
pub fn srm_alert(r: &ExperimentResults, view: &Presentation) -> String {
    let arms = r
        .arms
        .iter()
        .map(|a| {
            format!(
                "<code>{}</code> {} units (planned {}%)",
                escape(&a.variant),
                a.units,
                amount(a.weight)
            )
        })
        .collect::<Vec<_>>()
        .join(" · ");
    [
        format!(
            "⚠️ <b>Sample ratio mismatch</b> in {}",
            view.link(&r.experiment, &r.experiment)
        ),
        format!(
            "Exposures do not match the planned weights (chi-square p = {}): the results are \
             untrustworthy until assignment or exposure logging is fixed.",
            p_value(r.srm.p_value)
        ),
        arms,
        snapshot_line(r, view),
    ]
    .join("\n")
}

/// `guardrail.failed`: a guardrail metric degraded beyond its tolerance.
pub fn guardrail_alert(r: &ExperimentResults, g: &GuardrailOutcome, view: &Presentation) -> String {
    let tolerance = match g.margin_type {
        MarginType::Absolute => amount(g.max_degradation),
        MarginType::Relative => format!("{}% of control", amount(g.max_degradation * 100.0)),
    };
    [
        format!(
            "🛑 <b>Guardrail failed</b> in {}",
            view.link(&r.experiment, &r.experiment)
        ),
        format!(
            "<code>{}</code> on <code>{}</code> degraded beyond the tolerated {tolerance}: estimate {}, \
             bound {}, p = {}.",
            escape(&g.metric),
            escape(&g.variant),
            number(g.estimate),
            number(g.bound),
            p_value(g.p_value)
        ),
        snapshot_line(r, view),
    ]
    .join("\n")
}

/// `decision.deadline_reached`: a running experiment is past its target
/// decision date without a decision.
pub fn deadline_alert(
    key: &str,
    name: &str,
    owner: &str,
    target: NaiveDateTime,
    days_overdue: f64,
    view: &Presentation,
) -> String {
    [
        format!(
            "⏰ <b>Decision overdue</b>: {} · <code>{}</code>",
            view.link(key, name),
            escape(key)
        ),
        format!(
            "Due {}, {} ago; owner {}. Record a decision in the console.",
            view.time(target.and_utc()),
            days(days_overdue),
            escape(&shorten(owner, FREE_TEXT))
        ),
    ]
    .join("\n")
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::results::{ArmExposure, SrmCheck};

    fn view() -> Presentation {
        Presentation {
            public_url: "https://verdict.example.com/".into(),
            tz: chrono_tz::Europe::Moscow,
        }
    }

    fn at(raw: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M").expect("time")
    }

    fn entry(key: &str, days_left: f64, sla: SlaStatus) -> DigestEntry {
        DigestEntry {
            key: key.into(),
            name: format!("Test {key}"),
            owner: "pm".into(),
            target_decision_at: Some(
                at("2026-12-01 06:00") + TimeDelta::hours((days_left * 24.0) as i64),
            ),
            days_left: Some(days_left),
            sla,
            latest: None,
        }
    }

    fn recommendation(
        action: Action,
        variant: Option<&str>,
        days_left: Option<u64>,
    ) -> Recommendation {
        Recommendation {
            action,
            variant: variant.map(str::to_owned),
            days_left,
            reasons: vec!["because <data> & reasons".into()],
        }
    }

    #[test]
    fn digest_groups_by_urgency_and_escapes_stored_text() {
        let mut overdue = entry("cta_copy", -1.5, SlaStatus::Overdue);
        overdue.name = "CTA <urgent> & \"bold\"".into();
        overdue.latest = Some(LatestRecommendation {
            as_of: at("2026-12-01 00:00").and_utc(),
            recommendation: recommendation(Action::Ship, Some("urgency"), None),
        });
        let mut soon = entry("import_hint", 1.5, SlaStatus::DueSoon);
        soon.latest = Some(LatestRecommendation {
            as_of: at("2026-12-01 00:00").and_utc(),
            recommendation: recommendation(Action::KeepRunning, None, Some(3)),
        });
        let on_track = entry("digest_layout", 6.0, SlaStatus::OnTrack);
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("day");
        let messages = digest(day, &[on_track, soon, overdue], &view());
        let expected = "\
📊 <b>Verdict digest</b> · Tuesday 1 December 2026 · times in Europe/Moscow
3 running experiments: 1 decision overdue, 1 due within 2 days.

⏰ <b>Decision overdue</b>

<a href=\"https://verdict.example.com/ui/experiments/cta_copy\">CTA &lt;urgent&gt; &amp; &quot;bold&quot;</a> · <code>cta_copy</code>
1.5 days overdue (was due Sun 29 Nov 21:00) · owner pm
Recommendation: ship <b>urgency</b> · results as of Tue 1 Dec 03:00
<i>because &lt;data&gt; &amp; reasons</i>

⏳ <b>Decision due within 2 days</b>

<a href=\"https://verdict.example.com/ui/experiments/import_hint\">Test import_hint</a> · <code>import_hint</code>
1.5 days left (due Wed 2 Dec 21:00) · owner pm
Recommendation: keep running (about 3 more days to the planned sample) · results as of Tue 1 Dec 03:00
<i>because &lt;data&gt; &amp; reasons</i>

✅ <b>On track</b>

<a href=\"https://verdict.example.com/ui/experiments/digest_layout\">Test digest_layout</a> · <code>digest_layout</code>
6.0 days left (due Mon 7 Dec 09:00) · owner pm
No stored results yet.";
        assert_eq!(messages, [expected]);
    }

    #[test]
    fn recommendation_wording() {
        let cases = [
            (Action::Ship, Some("b<1>"), None, "ship <b>b&lt;1&gt;</b>"),
            (
                Action::RollBack,
                Some("bold"),
                None,
                "roll back <b>bold</b>",
            ),
            (Action::RollBack, None, None, "roll back"),
            (Action::Inconclusive, None, None, "inconclusive"),
            (Action::KeepRunning, None, None, "keep running"),
            (Action::KeepRunning, None, Some(0), "keep running"),
            (
                Action::KeepRunning,
                None,
                Some(1),
                "keep running (about 1 more day to the planned sample)",
            ),
        ];
        for (action, variant, days_left, expected) in cases {
            assert_eq!(
                recommendation_line(&recommendation(action, variant, days_left)),
                expected,
                "{action:?}"
            );
        }
    }

    #[test]
    fn an_empty_digest_says_so_and_a_long_one_is_split_between_entries() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("day");
        assert_eq!(
            digest(day, &[], &view()),
            [
                "📊 <b>Verdict digest</b> · Tuesday 1 December 2026 · times in Europe/Moscow\nNo running experiments."
            ]
        );
        let many: Vec<DigestEntry> = (0..80)
            .map(|i| {
                let mut e = entry(&format!("exp_{i:02}"), 5.0, SlaStatus::OnTrack);
                e.name = "N".repeat(200);
                e
            })
            .collect();
        let messages = digest(day, &many, &view());
        assert!(messages.len() >= 5, "{}", messages.len());
        for m in &messages {
            assert!(m.encode_utf16().count() <= MESSAGE_LIMIT);
            assert!(!m.starts_with('\n') && !m.ends_with('\n'));
            // Tags never straddle two messages.
            assert_eq!(m.matches("<a ").count(), m.matches("</a>").count(), "{m}");
        }
        let keys: usize = messages
            .iter()
            .map(|m| m.matches("<code>exp_").count())
            .sum();
        assert_eq!(keys, 80, "every experiment once");
    }

    fn results() -> ExperimentResults {
        serde_json::from_value(serde_json::json!({
            "schema_version": crate::results::RESULTS_SCHEMA_VERSION,
            "experiment": "vip_paywall_copy",
            "phase": 2,
            "as_of": "2026-12-01T00:00:00Z",
            "computed_at": "2026-12-01T00:00:05Z",
            "source": "scheduled",
            "engine": "sequential",
            "alpha": 0.05,
            "metric_correction": "none",
            "arms": [],
            "srm": {"chi_square": 25.0, "p_value": 0.0000012, "mismatch": true, "trustworthy": false, "message": ""},
            "metrics": [],
            "guardrails": [],
            "forecast": null,
            "recommendation": {"action": "inconclusive", "variant": null, "days_left": null, "reasons": []},
        }))
        .expect("results")
    }

    #[test]
    fn alerts_link_to_the_console_and_escape() {
        let mut r = results();
        r.srm = SrmCheck {
            p_value: Some(0.000_001_2),
            ..r.srm
        };
        r.arms = vec![
            ArmExposure {
                variant: "control".into(),
                weight: 50.0,
                units: 640,
            },
            ArmExposure {
                variant: "<bold>".into(),
                weight: 50.0,
                units: 360,
            },
        ];
        let guardrail = GuardrailOutcome {
            metric: "churn".into(),
            variant: "bold".into(),
            max_degradation: 0.005,
            margin_type: MarginType::Absolute,
            verdict: Some(verdict_stats::GuardrailVerdict::Fail),
            estimate: Some(0.0213),
            bound: Some(0.0101),
            p_value: Some(0.93),
            error: None,
        };
        let relative = GuardrailOutcome {
            margin_type: MarginType::Relative,
            max_degradation: 0.07,
            estimate: None,
            ..guardrail.clone()
        };
        let link = "<a href=\"https://verdict.example.com/ui/experiments/vip_paywall_copy\">vip_paywall_copy</a>";
        let cases = [
            (
                srm_alert(&r, &view()),
                format!(
                    "⚠️ <b>Sample ratio mismatch</b> in {link}\n\
                     Exposures do not match the planned weights (chi-square p = 1.2e-6): the results are \
                     untrustworthy until assignment or exposure logging is fixed.\n\
                     <code>control</code> 640 units (planned 50%) · <code>&lt;bold&gt;</code> 360 units (planned 50%)\n\
                     Results of phase 2 as of Tue 1 Dec 03:00."
                ),
            ),
            (
                guardrail_alert(&r, &guardrail, &view()),
                format!(
                    "🛑 <b>Guardrail failed</b> in {link}\n\
                     <code>churn</code> on <code>bold</code> degraded beyond the tolerated 0.005: \
                     estimate 0.0213, bound 0.0101, p = 0.930.\n\
                     Results of phase 2 as of Tue 1 Dec 03:00."
                ),
            ),
            (
                guardrail_alert(&r, &relative, &view()),
                format!(
                    "🛑 <b>Guardrail failed</b> in {link}\n\
                     <code>churn</code> on <code>bold</code> degraded beyond the tolerated 7% of control: \
                     estimate n/a, bound 0.0101, p = 0.930.\n\
                     Results of phase 2 as of Tue 1 Dec 03:00."
                ),
            ),
            (
                deadline_alert(
                    "cta_copy",
                    "CTA & copy",
                    "growth <pm>",
                    at("2026-11-28 21:00"),
                    2.5,
                    &view(),
                ),
                "⏰ <b>Decision overdue</b>: <a href=\"https://verdict.example.com/ui/experiments/cta_copy\">CTA &amp; copy</a> · <code>cta_copy</code>\n\
                 Due Sun 29 Nov 00:00, 2.5 days ago; owner growth &lt;pm&gt;. Record a decision in the console."
                    .to_owned(),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(text, expected);
        }
    }
}
