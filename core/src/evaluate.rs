//! Evaluation results and the per-flag evaluation algorithm (the hot path).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bucket::{UnitBuf, bucket_with_seed, unit_bytes};
use crate::compile::{Body, CompiledFlag, CompiledServe, GateResult};
use crate::condition_table::Outcomes;
use crate::context::Context;

static NULL: Value = Value::Null;

/// Why a value was served. Serialized as the OpenFeature reason string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    /// Enabled flag with no rules whose fallthrough is a fixed variant.
    Static,
    /// A rule matched and served a fixed variant.
    TargetingMatch,
    /// Served by a split (from a rule or the fallthrough).
    Split,
    /// The flag is disabled (kill switch): default variant.
    Disabled,
    /// Fell back: not in rollout, in a layer holdout / outside the flag's
    /// layer range, missing bucketing key, or fixed fallthrough after no
    /// rule matched.
    Default,
    /// The flag definition is invalid: default variant (or null).
    Error,
}

impl Reason {
    /// OpenFeature / OFREP reason string (`STATIC`, `TARGETING_MATCH`, …).
    pub fn as_ofrep_str(self) -> &'static str {
        match self {
            Reason::Static => "STATIC",
            Reason::TargetingMatch => "TARGETING_MATCH",
            Reason::Split => "SPLIT",
            Reason::Disabled => "DISABLED",
            Reason::Default => "DEFAULT",
            Reason::Error => "ERROR",
        }
    }
}

/// Error detail attached to an evaluation. Serialized as the OFREP error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The bucketing attribute (`bucket_by`) is missing or not a string/integer.
    TargetingKeyMissing,
    /// The flag definition is invalid (see compile warnings).
    ParseError,
    /// Any other problem (e.g. an invalid layer the flag belongs to).
    General,
}

impl ErrorCode {
    /// OFREP error code string (`TARGETING_KEY_MISSING`, `PARSE_ERROR`, `GENERAL`).
    pub fn as_ofrep_str(self) -> &'static str {
        match self {
            ErrorCode::TargetingKeyMissing => "TARGETING_KEY_MISSING",
            ErrorCode::ParseError => "PARSE_ERROR",
            ErrorCode::General => "GENERAL",
        }
    }
}

/// An experiment exposure: the unit was assigned `variant` by a split tagged
/// with an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Exposure<'a> {
    /// Experiment key.
    pub experiment: &'a str,
    /// Experiment phase.
    pub phase: u32,
    /// Assigned variant key.
    pub variant: &'a str,
    /// The context attribute the unit was bucketed by (e.g. `user_id`); its
    /// value in the context is the exposed unit.
    pub bucket_by: &'a str,
    /// Context attributes the experiment records with the exposure.
    pub dimensions: &'a [String],
}

impl<'a> Exposure<'a> {
    /// The experiment's dimensions present in `ctx` as text (numbers and
    /// booleans written as JSON writes them), in declaration order; absent,
    /// null and non-scalar attributes are left out.
    pub fn dimension_values(&self, ctx: &Context) -> Vec<(&'a str, String)> {
        self.dimensions
            .iter()
            .filter_map(|name| {
                let text = match ctx.get(name)? {
                    Value::String(s) => s.clone(),
                    v @ (Value::Number(_) | Value::Bool(_)) => v.to_string(),
                    _ => return None,
                };
                Some((name.as_str(), text))
            })
            .collect()
    }
}

/// The result of evaluating one flag, borrowing from the compiled ruleset.
///
/// JSON (via `Serialize`):
/// `{ "flag_key": "cta_copy", "variant": "urgency", "value": "Only 3 left!",
///    "reason": "SPLIT", "flag_version": 7, "error": null, "rule_id": null,
///    "exposure": { "experiment": "cta_copy", "phase": 1, "variant": "urgency" } }`
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation<'a> {
    /// Flag key.
    pub flag_key: &'a str,
    /// Served variant key; `None` only for an invalid flag without a valid default.
    pub variant: Option<&'a str>,
    /// Served value (`null` when `variant` is `None`).
    pub value: &'a Value,
    /// Why this value was served.
    pub reason: Reason,
    /// The flag definition's version.
    pub flag_version: u64,
    /// Error detail (with `Reason::Error`, or `TargetingKeyMissing` with `Reason::Default`).
    pub error: Option<ErrorCode>,
    /// Id of the matched rule, if any.
    pub rule_id: Option<&'a str>,
    /// Experiment exposure, when served by an experiment split.
    pub exposure: Option<Exposure<'a>>,
    /// Position of the served variant in the flag definition's `variants`
    /// (`None` exactly when `variant` is).
    #[serde(skip)]
    pub variant_index: Option<usize>,
    /// Position of the matched rule in the flag definition's `rules`.
    #[serde(skip)]
    pub rule_index: Option<usize>,
}

/// The rule that matched: its position and id.
type MatchedRule<'a> = Option<(usize, &'a str)>;

impl CompiledFlag {
    /// Evaluates this flag for `ctx`, testing conditions through `outcomes`.
    /// Never panics.
    pub(crate) fn evaluate<'a>(
        &'a self,
        ctx: &Context,
        outcomes: &mut Outcomes<'_>,
    ) -> Evaluation<'a> {
        let live = match &self.body {
            Body::Broken(code) => return self.fallback(Reason::Error, Some(*code), None),
            Body::Live(live) => live,
        };
        if !live.enabled {
            return self.fallback(Reason::Disabled, None, None);
        }
        if let Some(gate) = &live.layer {
            match gate.admits(ctx) {
                GateResult::In => {}
                GateResult::Out => return self.fallback(Reason::Default, None, None),
                GateResult::MissingUnit => {
                    return self.fallback(
                        Reason::Default,
                        Some(ErrorCode::TargetingKeyMissing),
                        None,
                    );
                }
            }
        }
        for (i, rule) in live.rules.iter().enumerate() {
            if rule.conditions.iter().all(|&c| outcomes.test(c, ctx)) {
                return self.serve(
                    &rule.serve,
                    ctx,
                    Some((i, &rule.id)),
                    Reason::TargetingMatch,
                );
            }
        }
        let fixed = if live.rules.is_empty() {
            Reason::Static
        } else {
            Reason::Default
        };
        self.serve(&live.fallthrough, ctx, None, fixed)
    }

    fn serve<'a>(
        &'a self,
        serve: &'a CompiledServe,
        ctx: &Context,
        rule: MatchedRule<'a>,
        fixed_reason: Reason,
    ) -> Evaluation<'a> {
        let split = match serve {
            CompiledServe::Variant(i) => return self.served(*i, fixed_reason, rule, None),
            CompiledServe::Split(split) => split,
        };
        let mut buf: UnitBuf = [0; 20];
        let Some(unit) = ctx
            .get(&self.bucket_by)
            .and_then(|v| unit_bytes(v, &mut buf))
        else {
            return self.fallback(Reason::Default, Some(ErrorCode::TargetingKeyMissing), rule);
        };
        let bucket = bucket_with_seed(unit, split.seed);
        match split.ranges.iter().find(|(r, _)| r.contains(bucket)) {
            Some((_, idx)) => {
                let exposure = split.experiment.as_ref().and_then(|e| {
                    self.variants.get(*idx).map(|v| Exposure {
                        experiment: &e.key,
                        phase: e.phase,
                        variant: &v.key,
                        bucket_by: &self.bucket_by,
                        dimensions: &e.dimensions,
                    })
                });
                self.served(*idx, Reason::Split, rule, exposure)
            }
            None => self.fallback(Reason::Default, None, rule),
        }
    }

    fn served<'a>(
        &'a self,
        idx: usize,
        reason: Reason,
        rule: MatchedRule<'a>,
        exposure: Option<Exposure<'a>>,
    ) -> Evaluation<'a> {
        match self.variants.get(idx) {
            Some(v) => Evaluation {
                flag_key: &self.key,
                variant: Some(&v.key),
                value: &v.value,
                reason,
                flag_version: self.version,
                error: None,
                rule_id: rule.map(|(_, id)| id),
                exposure,
                variant_index: Some(idx),
                rule_index: rule.map(|(i, _)| i),
            },
            // Unreachable by construction; degrade instead of panicking.
            None => self.fallback(Reason::Error, Some(ErrorCode::General), rule),
        }
    }

    /// The default variant (or null) with the given reason.
    fn fallback<'a>(
        &'a self,
        reason: Reason,
        error: Option<ErrorCode>,
        rule: MatchedRule<'a>,
    ) -> Evaluation<'a> {
        let default = self
            .default
            .and_then(|i| self.variants.get(i).map(|v| (i, v)));
        Evaluation {
            flag_key: &self.key,
            variant: default.map(|(_, v)| v.key.as_str()),
            value: default.map_or(&NULL, |(_, v)| &v.value),
            reason,
            flag_version: self.version,
            error,
            rule_id: rule.map(|(_, id)| id),
            exposure: None,
            variant_index: default.map(|(i, _)| i),
            rule_index: rule.map(|(i, _)| i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimension_values_are_the_declared_scalars_present() {
        let dimensions = ["tier", "icp_segment", "age", "premium", "tags"].map(String::from);
        let exposure = Exposure {
            experiment: "e",
            phase: 1,
            variant: "a",
            bucket_by: "user_id",
            dimensions: &dimensions,
        };
        let ctx = Context::new()
            .with("tier", "pro")
            .with("age", 30)
            .with("premium", true)
            .with("tags", serde_json::json!(["x"]))
            .with("language", "ru");
        assert_eq!(
            exposure.dimension_values(&ctx),
            [
                ("tier", "pro".to_owned()),
                ("age", "30".to_owned()),
                ("premium", "true".to_owned())
            ]
        );
    }
}
