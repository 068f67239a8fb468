//! The decision SLA and the quarter's experimentation report, computed from
//! per-experiment timings (pure functions, table-tested).

use chrono::NaiveDateTime;
use serde::Serialize;

/// When things happened to one experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentTiming {
    /// Experiment key.
    pub key: String,
    /// Lifecycle status.
    pub status: String,
    /// Launch time.
    pub started_at: Option<NaiveDateTime>,
    /// Launched with at least one guardrail documented.
    pub launched_with_guardrail: bool,
    /// Target decision time.
    pub target_decision_at: Option<NaiveDateTime>,
    /// First variant assignment (exposure).
    pub first_exposure: Option<NaiveDateTime>,
    /// First decision.
    pub first_decision: Option<NaiveDateTime>,
}

fn days(from: NaiveDateTime, to: NaiveDateTime) -> f64 {
    (to - from).num_seconds() as f64 / 86_400.0
}

impl ExperimentTiming {
    /// Days from first exposure to first decision.
    pub fn days_to_decision(&self) -> Option<f64> {
        Some(days(self.first_exposure?, self.first_decision?))
    }
}

/// Where a running experiment stands against its decision date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SlaStatus {
    /// More than 2 days left.
    OnTrack,
    /// Within 2 days of the target date.
    DueSoon,
    /// Past the target date.
    Overdue,
}

/// One running experiment in the SLA report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlaEntry {
    /// Experiment key.
    pub key: String,
    /// First variant assignment.
    pub first_exposure: Option<NaiveDateTime>,
    /// Days since then.
    pub days_since_first_exposure: Option<f64>,
    /// Target decision time.
    pub target_decision_at: Option<NaiveDateTime>,
    /// Days left until the target (negative when overdue).
    pub days_left: Option<f64>,
    /// Standing.
    pub status: SlaStatus,
}

/// Running experiments, longest-running first, each against its target date.
pub fn decision_sla(timings: &[ExperimentTiming], now: NaiveDateTime) -> Vec<SlaEntry> {
    let mut entries: Vec<SlaEntry> = timings
        .iter()
        .filter(|t| t.status == "running")
        .map(|t| {
            let days_left = t.target_decision_at.map(|target| days(now, target));
            let status = match days_left {
                Some(left) if left < 0.0 => SlaStatus::Overdue,
                Some(left) if left <= 2.0 => SlaStatus::DueSoon,
                _ => SlaStatus::OnTrack,
            };
            SlaEntry {
                key: t.key.clone(),
                first_exposure: t.first_exposure,
                days_since_first_exposure: t.first_exposure.map(|f| days(f, now)),
                target_decision_at: t.target_decision_at,
                days_left,
                status,
            }
        })
        .collect();
    entries.sort_by(|a, b| {
        b.days_since_first_exposure
            .unwrap_or(-1.0)
            .total_cmp(&a.days_since_first_exposure.unwrap_or(-1.0))
            .then_with(|| a.key.cmp(&b.key))
    });
    entries
}

/// The median (mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The experimentation OKRs over a period, each beside its target, with the
/// experiments behind every number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OkrReport {
    /// Experiments launched in the period (KR4.1: target ≥ 4).
    pub launched: Vec<String>,
    /// Experiments first decided in the period.
    pub decided: Vec<String>,
    /// KR4.1 target.
    pub launched_target: usize,
    /// Of `decided`, those decided within 14 days of first exposure.
    pub decided_within_14_days: Vec<String>,
    /// Of `decided`, those with no exposure (time to decision unknown).
    pub decided_without_exposure: Vec<String>,
    /// KR4.2: share of decided experiments decided within 14 days (target 1.0).
    pub share_decided_within_14_days: Option<f64>,
    /// KR4.2: median days from first exposure to decision (target ≤ 14).
    pub median_days_to_decision: Option<f64>,
    /// Of `launched`, those with a guardrail documented before launch.
    pub launched_with_guardrail: Vec<String>,
    /// KR4.3: share of launched experiments with a guardrail (target ≥ 0.7).
    pub share_launched_with_guardrail: Option<f64>,
}

/// Decision deadline of KR4.2, in days.
pub const DECISION_DAYS: f64 = 14.0;

/// Computes the report for `[from, to)`.
pub fn experimentation_report(
    timings: &[ExperimentTiming],
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> OkrReport {
    let within = |t: Option<NaiveDateTime>| t.is_some_and(|t| from <= t && t < to);
    let launched: Vec<&ExperimentTiming> =
        timings.iter().filter(|t| within(t.started_at)).collect();
    let decided: Vec<&ExperimentTiming> = timings
        .iter()
        .filter(|t| within(t.first_decision))
        .collect();
    let measured: Vec<(&ExperimentTiming, f64)> = decided
        .iter()
        .filter_map(|t| t.days_to_decision().map(|d| (*t, d)))
        .collect();
    let keys = |items: &mut dyn Iterator<Item = &ExperimentTiming>| -> Vec<String> {
        items.map(|t| t.key.clone()).collect()
    };
    let share = |part: usize, whole: usize| (whole > 0).then(|| part as f64 / whole as f64);
    let within_14: Vec<String> = measured
        .iter()
        .filter(|(_, d)| *d <= DECISION_DAYS)
        .map(|(t, _)| t.key.clone())
        .collect();
    let with_guardrail = keys(
        &mut launched
            .iter()
            .copied()
            .filter(|t| t.launched_with_guardrail),
    );
    OkrReport {
        share_decided_within_14_days: share(within_14.len(), measured.len()),
        median_days_to_decision: median(&measured.iter().map(|(_, d)| *d).collect::<Vec<_>>()),
        share_launched_with_guardrail: share(with_guardrail.len(), launched.len()),
        launched_target: 4,
        decided_without_exposure: keys(
            &mut decided
                .iter()
                .copied()
                .filter(|t| t.days_to_decision().is_none()),
        ),
        launched: keys(&mut launched.iter().copied()),
        decided: keys(&mut decided.iter().copied()),
        decided_within_14_days: within_14,
        launched_with_guardrail: with_guardrail,
    }
}

/// A key result: its value beside its target, and the experiments behind it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct KeyResult {
    /// What is measured.
    pub name: &'static str,
    /// The measured value (null when there is nothing to measure).
    pub value: Option<f64>,
    /// The target.
    pub target: f64,
    /// `≥` or `≤`: how value compares to target when met.
    pub comparison: &'static str,
    /// Whether the target is met.
    pub met: bool,
    /// The experiments the value is computed from.
    pub experiments: Vec<String>,
}

fn key_result(
    name: &'static str,
    value: Option<f64>,
    target: f64,
    at_least: bool,
    experiments: Vec<String>,
) -> KeyResult {
    let met = value.is_some_and(|v| if at_least { v >= target } else { v <= target });
    KeyResult {
        name,
        value,
        target,
        comparison: if at_least { "≥" } else { "≤" },
        met,
        experiments,
    }
}

/// KR4.1, KR4.2 (share decided within 14 days, median days) and KR4.3 of
/// `report`, each beside its target.
pub fn key_results(report: &OkrReport) -> Vec<KeyResult> {
    vec![
        key_result(
            "KR4.1 experiments launched",
            Some(report.launched.len() as f64),
            report.launched_target as f64,
            true,
            report.launched.clone(),
        ),
        key_result(
            "KR4.2 share decided within 14 days of first exposure",
            report.share_decided_within_14_days,
            1.0,
            true,
            report.decided_within_14_days.clone(),
        ),
        key_result(
            "KR4.2 median days from first exposure to decision",
            report.median_days_to_decision,
            DECISION_DAYS,
            false,
            report.decided.clone(),
        ),
        key_result(
            "KR4.3 share launched with a guardrail documented",
            report.share_launched_with_guardrail,
            0.7,
            true,
            report.launched_with_guardrail.clone(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(day: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 10, day)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("valid date")
    }

    fn timing(
        key: &str,
        status: &str,
        start: u32,
        exposure: Option<u32>,
        decision: Option<u32>,
        guardrail: bool,
    ) -> ExperimentTiming {
        ExperimentTiming {
            key: key.into(),
            status: status.into(),
            started_at: Some(at(start)),
            launched_with_guardrail: guardrail,
            target_decision_at: Some(at(start) + chrono::TimeDelta::days(14)),
            first_exposure: exposure.map(at),
            first_decision: decision.map(at),
        }
    }

    #[test]
    fn median_of_odd_even_and_empty() {
        let cases: [(&[f64], Option<f64>); 4] = [
            (&[], None),
            (&[3.0], Some(3.0)),
            (&[9.0, 1.0, 5.0], Some(5.0)),
            (&[10.0, 2.0, 4.0, 8.0], Some(6.0)),
        ];
        for (values, expected) in cases {
            assert_eq!(median(values), expected, "{values:?}");
        }
    }

    #[test]
    fn okr_report_counts_shares_and_median() {
        let timings = vec![
            timing("cta_copy", "decided", 1, Some(1), Some(11), true),
            timing("digest_layout", "decided", 2, Some(3), Some(23), true),
            timing("import_hint", "decided", 5, Some(5), Some(12), false),
            timing("vip_paywall_copy", "running", 8, Some(8), None, true),
            timing("old", "decided", 1, Some(1), Some(2), true),
        ];
        let timings: Vec<_> = timings
            .into_iter()
            .map(|mut t| {
                if t.key == "old" {
                    t.started_at = Some(at(1) - chrono::TimeDelta::days(40));
                }
                t
            })
            .collect();
        let report = experimentation_report(&timings, at(1), at(31));
        assert_eq!(
            report.launched,
            [
                "cta_copy",
                "digest_layout",
                "import_hint",
                "vip_paywall_copy"
            ]
        );
        assert_eq!(
            report.decided,
            ["cta_copy", "digest_layout", "import_hint", "old"]
        );
        assert_eq!(
            report.decided_within_14_days,
            ["cta_copy", "import_hint", "old"]
        );
        assert_eq!(report.share_decided_within_14_days, Some(0.75));
        assert_eq!(
            report.median_days_to_decision,
            Some(8.5),
            "median of 10, 20, 7, 1"
        );
        assert_eq!(
            report.launched_with_guardrail,
            ["cta_copy", "digest_layout", "vip_paywall_copy"]
        );
        assert_eq!(report.share_launched_with_guardrail, Some(0.75));
    }

    #[test]
    fn sla_flags_overdue_and_due_soon() {
        let timings = vec![
            timing("a", "running", 1, Some(1), None, true),
            timing("b", "running", 5, Some(6), None, true),
            timing("c", "running", 10, None, None, true),
            timing("d", "decided", 1, Some(1), Some(3), true),
        ];
        let sla = decision_sla(&timings, at(17));
        let summary: Vec<(&str, SlaStatus)> =
            sla.iter().map(|e| (e.key.as_str(), e.status)).collect();
        assert_eq!(
            summary,
            vec![
                ("a", SlaStatus::Overdue),
                ("b", SlaStatus::DueSoon),
                ("c", SlaStatus::OnTrack)
            ]
        );
        assert_eq!(sla[0].days_since_first_exposure, Some(16.0));
        assert_eq!(sla[1].days_left, Some(2.0));
    }
}
