//! Reading results written by earlier versions. Snapshots and the copies
//! frozen into decisions are kept forever (decisions are append-only), so
//! every older shape stays readable: each is upgraded, field by field, to the
//! current [`ExperimentResults`].
//!
//! Version 1 (before `schema_version`): timestamps without an offset, the SRM
//! test nested under `srm.test`, comparisons named `variant` / `control_mean`
//! / `lift`, and `source` / `computed_at` outside the results (in the
//! snapshot row, or wrapped around them in a decision).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::analysis::{ExperimentResults, RESULTS_SCHEMA_VERSION, SnapshotSource};

/// What a decision froze: the results, or (only in decisions recorded by
/// version 1, which could not always compute them) why there were none.
#[derive(Debug, Clone, PartialEq)]
pub enum Frozen {
    /// The results the decision rests on.
    Results(Box<ExperimentResults>),
    /// Why no results were frozen.
    Unavailable(String),
}

/// Reads a stored snapshot body, written by any version; `source` and
/// `computed_at` come from its row (version 1 bodies lack them).
pub fn read_snapshot(
    body: &str,
    source: SnapshotSource,
    computed_at: NaiveDateTime,
) -> Result<ExperimentResults, serde_json::Error> {
    let mut value: Value = serde_json::from_str(body)?;
    if let Value::Object(results) = &mut value
        && !results.contains_key("schema_version")
    {
        upgrade_v1(results, source, computed_at.and_utc());
    }
    serde_json::from_value(value)
}

/// Reads the results frozen into a decision, written by any version.
pub fn read_frozen(value: Value) -> Result<Frozen, serde_json::Error> {
    let Value::Object(mut outer) = value else {
        return Err(serde::de::Error::custom("frozen results are not an object"));
    };
    if outer.contains_key("schema_version") {
        return serde_json::from_value(Value::Object(outer)).map(|r| Frozen::Results(Box::new(r)));
    }
    if let Some(reason) = outer.get("unavailable") {
        return Ok(Frozen::Unavailable(
            reason.as_str().unwrap_or("unknown").to_owned(),
        ));
    }
    // Version 1: {"source", "computed_at", "results"}.
    let source = serde_json::from_value(outer.remove("source").unwrap_or(Value::Null))?;
    let computed_at = naive_or_utc(outer.get("computed_at"))
        .ok_or_else(|| serde::de::Error::custom("frozen results lack `computed_at`"))?;
    let Some(Value::Object(mut results)) = outer.remove("results") else {
        return Err(serde::de::Error::custom("frozen results lack `results`"));
    };
    upgrade_v1(&mut results, source, computed_at);
    serde_json::from_value(Value::Object(results)).map(|r| Frozen::Results(Box::new(r)))
}

/// A timestamp written with or without an offset (version 1 wrote none: UTC).
fn naive_or_utc(value: Option<&Value>) -> Option<DateTime<Utc>> {
    let raw = value?.as_str()?;
    raw.parse::<DateTime<Utc>>()
        .ok()
        .or_else(|| raw.parse::<NaiveDateTime>().ok().map(|t| t.and_utc()))
}

fn set_utc(object: &mut Map<String, Value>, key: &str) {
    if let Some(t) = naive_or_utc(object.get(key)) {
        object.insert(key.to_owned(), Value::String(t.to_rfc3339()));
    }
}

fn rename(object: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = object.remove(from) {
        object.insert(to.to_owned(), v);
    }
}

fn upgrade_v1(
    results: &mut Map<String, Value>,
    source: SnapshotSource,
    computed_at: DateTime<Utc>,
) {
    results.insert("schema_version".into(), RESULTS_SCHEMA_VERSION.into());
    results.insert(
        "source".into(),
        serde_json::to_value(source).unwrap_or(Value::Null),
    );
    results.insert(
        "computed_at".into(),
        Value::String(computed_at.to_rfc3339()),
    );
    set_utc(results, "as_of");
    if let Some(Value::Object(forecast)) = results.get_mut("forecast") {
        set_utc(forecast, "predicted_date");
    }
    if let Some(Value::Object(srm)) = results.get_mut("srm") {
        let test = srm.remove("test").unwrap_or(Value::Null);
        for key in ["chi_square", "p_value", "mismatch"] {
            let v = test.get(key).cloned().unwrap_or(match key {
                "mismatch" => Value::Bool(false),
                _ => Value::Null,
            });
            srm.insert(key.into(), v);
        }
    }
    let metrics = results.get_mut("metrics").and_then(Value::as_array_mut);
    for metric in metrics.into_iter().flatten() {
        let comparisons = metric.get_mut("comparisons").and_then(Value::as_array_mut);
        for c in comparisons
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            rename(c, "variant", "arm");
            rename(c, "control_mean", "baseline");
            rename(c, "lift", "estimate");
            for absent in ["se", "df", "risk_control", "risk_treatment"] {
                c.entry(absent).or_insert(Value::Null);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::Action;

    const V1_SNAPSHOT: &str = include_str!("../../tests/fixtures/results/v1_snapshot_body.json");
    const V1_FROZEN: &str = include_str!("../../tests/fixtures/results/v1_decision_frozen.json");

    fn at(raw: &str) -> DateTime<Utc> {
        raw.parse().expect("timestamp")
    }

    /// A version 1 snapshot body (written by the release before
    /// `schema_version`) reads as the current type, every field carried over.
    #[test]
    fn version_1_snapshot_reads_as_current_results() {
        let mut v1: Value = serde_json::from_str(V1_SNAPSHOT).expect("fixture");
        v1["forecast"] = serde_json::json!({"minimum_detectable_effect": 0.1, "n_per_arm": 900,
            "units_per_day": 25.5, "days_to_reach": 4, "predicted_date": "2026-12-05T00:00:00"});
        let computed_at = "2026-12-01T09:29:06.4315".parse().expect("naive");
        let r = read_snapshot(&v1.to_string(), SnapshotSource::Scheduled, computed_at)
            .expect("readable");
        assert_eq!(r.schema_version, RESULTS_SCHEMA_VERSION);
        assert_eq!(r.experiment, "vip_paywall_copy");
        assert_eq!(r.as_of, at("2026-12-01T00:00:00Z"));
        assert_eq!(r.computed_at, at("2026-12-01T09:29:06.4315Z"));
        assert_eq!(r.source, SnapshotSource::Scheduled);
        assert_eq!(r.srm.chi_square, Some(0.8687258687258688));
        assert_eq!(r.srm.p_value, Some(0.3513082836606213));
        assert!(!r.srm.mismatch && r.srm.trustworthy);
        let c = &r.metrics[0].comparisons[0];
        assert_eq!(c.arm, "bold");
        assert_eq!(c.baseline, Some(11.188524590163935));
        assert_eq!(c.estimate, Some(1.1841982834683566));
        assert_eq!(c.p_value_holm, Some(0.9832433721378646));
        assert_eq!(c.p_value_adjusted, Some(1.0));
        assert_eq!(c.se, None);
        let forecast = r.forecast.as_ref().expect("forecast");
        assert_eq!(forecast.predicted_date, at("2026-12-05T00:00:00Z"));
        assert_eq!(r.recommendation.action, Action::KeepRunning);
        assert_eq!(r.guardrails.len(), 2);
    }

    /// A version 1 decision's frozen copy (results wrapped with their source
    /// and time) and its "unavailable" form both read.
    #[test]
    fn version_1_frozen_copies_read() {
        let frozen = read_frozen(serde_json::from_str(V1_FROZEN).expect("fixture")).expect("reads");
        let Frozen::Results(r) = frozen else {
            panic!("results expected, got {frozen:?}");
        };
        assert_eq!(r.experiment, "cta_copy");
        assert_eq!(r.source, SnapshotSource::Scheduled);
        assert_eq!(r.computed_at, at("2026-12-01T09:29:06.431500Z"));
        assert!(
            r.metrics
                .iter()
                .all(|m| m.comparisons.iter().all(|c| !c.arm.is_empty()))
        );
        let reason =
            "database query failed: Cannot perform this operation while a transaction is open";
        let unavailable = read_frozen(serde_json::json!({ "unavailable": reason })).expect("reads");
        assert_eq!(unavailable, Frozen::Unavailable(reason.into()));
    }

    /// The current version reads back exactly as written, as a snapshot and
    /// as a frozen copy.
    #[test]
    fn current_version_round_trips() {
        let v1: Value = serde_json::from_str(V1_FROZEN).expect("fixture");
        let Frozen::Results(current) = read_frozen(v1).expect("reads") else {
            panic!("results expected");
        };
        let body = serde_json::to_string(&*current).expect("serializes");
        assert!(
            body.contains("\"as_of\":\"2026-12-01T00:00:00Z\""),
            "{body}"
        );
        let computed_at = NaiveDateTime::default();
        let snapshot = read_snapshot(&body, SnapshotSource::Manual, computed_at).expect("reads");
        assert_eq!(
            &snapshot, &*current,
            "row metadata does not override a current body"
        );
        let frozen = read_frozen(serde_json::from_str(&body).expect("json")).expect("reads");
        assert_eq!(frozen, Frozen::Results(current));
        assert!(read_frozen(Value::Array(vec![])).is_err());
    }
}
