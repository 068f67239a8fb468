//! Evaluation response bodies (`POST /api/v1/evaluate` and OFREP bulk),
//! written straight into one pre-sized buffer from the snapshot's
//! pre-rendered entries (see [`crate::ruleset::RenderedFlags`]). With 50 flags
//! per request, serde's derived serializers were a quarter of the native
//! route's CPU time and more of OFREP's. The output is byte-identical to
//! serde_json serializing `EvaluateResponse` and `OfrepBulkResponse` (tested
//! below).

use verdict_core::Evaluation;

use crate::ruleset::{RenderedFlags, write_json_str};

/// Which wire shape the entries take.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Native,
    Ofrep,
}

/// Accumulates one evaluation response.
pub struct EvaluateBody {
    out: Vec<u8>,
    shape: Shape,
    empty: bool,
}

/// Bytes reserved per flag: most evaluations fit, so the buffer rarely grows.
const BYTES_PER_FLAG: usize = 160;

impl EvaluateBody {
    /// Starts `POST /api/v1/evaluate`'s response for `environment`, with room
    /// for `flags` entries.
    pub fn new(environment: &str, flags: usize) -> Self {
        let mut out = Vec::with_capacity(64 + flags * BYTES_PER_FLAG);
        out.extend_from_slice(b"{\"environment\":");
        write_json_str(&mut out, environment);
        out.extend_from_slice(b",\"flags\":[");
        Self {
            out,
            shape: Shape::Native,
            empty: true,
        }
    }

    /// Starts an OFREP bulk response with room for `flags` entries.
    pub fn ofrep(flags: usize) -> Self {
        let mut out = Vec::with_capacity(16 + flags * BYTES_PER_FLAG);
        out.extend_from_slice(b"{\"flags\":[");
        Self {
            out,
            shape: Shape::Ofrep,
            empty: true,
        }
    }

    /// Appends the evaluation of the flag at `position` in evaluation order.
    pub fn push(&mut self, rendered: &RenderedFlags, position: usize, e: &Evaluation<'_>) {
        if !std::mem::take(&mut self.empty) {
            self.out.push(b',');
        }
        match self.shape {
            Shape::Native => rendered.write(position, e, &mut self.out),
            Shape::Ofrep => rendered.write_ofrep(position, e, &mut self.out),
        }
    }

    /// The finished JSON document.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.extend_from_slice(b"]}");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use verdict_core::{CompiledRuleset, Context, Reason};

    use super::*;
    use crate::api::evaluate::{EvaluateResponse, FlagEvaluation};
    use crate::api::ofrep::{OfrepBulkResponse, outcome};

    /// Flags whose keys, values, variant keys and rule ids need escaping, and
    /// that serve every reason: a rule's variant, a split, the default, a
    /// missing unit, a disabled flag and broken definitions.
    fn ruleset() -> CompiledRuleset {
        let values = [
            json!("Pro trial ends today"),
            json!(true),
            json!(3.5),
            json!(-7),
            json!({"layout": "grid", "items": [1, 2, {"q": "a\"b"}]}),
            json!(null),
            json!("line\nbreak \u{1} tab\t \"quoted\" back\\slash — ü 🚀"),
        ];
        let names = [
            "cta_copy",
            "quote\"d",
            "back\\slash",
            "ctrl\u{7f}\u{1f}",
            "юникод",
        ];
        let flag = |i: usize| {
            let name = names[i % names.len()];
            let variants: Vec<Value> = (0..3)
                .map(|j| json!({"key": format!("{name}{j}"), "value": values[(i + j) % values.len()]}))
                .collect();
            json!({
                "key": format!("{name}-{i}"), "value_type": "json", "variants": variants,
                "default_variant": if i == 6 { "missing".to_owned() } else { format!("{name}0") },
                "version": u64::MAX - i as u64, "enabled": i != 5,
                "bucket_by": if i == 4 { "device" } else { "user_id" },
                "rules": [
                    {"id": format!("{name} rule"), "conditions": [
                        {"attribute": "tier", "op": "eq", "value": "vip"}],
                     "serve": {"variant": format!("{name}2")}},
                    {"id": format!("split {name}"), "conditions": [
                        {"attribute": "tier", "op": "eq", "value": "pro"}],
                     "serve": {"split": {"rollout": 50.0, "weights": [
                        {"variant": format!("{name}1"), "weight": 100.0}]}}}
                ],
                "fallthrough": {"split": {"rollout": 100.0, "weights": [
                    {"variant": format!("{name}0"), "weight": 50.0},
                    {"variant": format!("{name}1"), "weight": 50.0}]}}
            })
        };
        let ruleset = serde_json::from_value(json!({
            "environment": "env \"x\"",
            "flags": (0..8).map(flag).collect::<Vec<_>>(),
        }))
        .expect("ruleset");
        CompiledRuleset::compile(ruleset).0
    }

    #[test]
    fn matches_serde_json_byte_for_byte() {
        let compiled = ruleset();
        let rendered = RenderedFlags::new(&compiled);
        let mut reasons = std::collections::HashSet::new();
        for user in 0..40 {
            let tier = ["vip", "pro", "free"][user % 3];
            let mut ctx = Context::new().with("tier", tier);
            if user % 7 != 0 {
                ctx.insert("user_id", format!("u{user}"));
            }
            let evaluations: Vec<_> = compiled.evaluate_all(&ctx).collect();
            let mut native = EvaluateBody::new(compiled.environment(), evaluations.len());
            let mut ofrep = EvaluateBody::ofrep(evaluations.len());
            for (position, e) in evaluations.iter().enumerate() {
                reasons.insert((e.reason, e.error, e.variant.is_some(), e.rule_id.is_some()));
                native.push(&rendered, position, e);
                ofrep.push(&rendered, position, e);
            }
            let reference = serde_json::to_vec(&EvaluateResponse {
                environment: compiled.environment(),
                flags: evaluations.iter().map(FlagEvaluation::from).collect(),
            })
            .expect("serialize");
            assert_eq!(
                String::from_utf8_lossy(&native.finish()),
                String::from_utf8_lossy(&reference)
            );
            let reference = serde_json::to_vec(&OfrepBulkResponse {
                flags: evaluations.iter().map(outcome).collect(),
            })
            .expect("serialize");
            assert_eq!(
                String::from_utf8_lossy(&ofrep.finish()),
                String::from_utf8_lossy(&reference)
            );
        }
        for reason in [
            Reason::TargetingMatch,
            Reason::Split,
            Reason::Default,
            Reason::Disabled,
            Reason::Error,
        ] {
            assert!(
                reasons.iter().any(|r| r.0 == reason),
                "{reason:?} not covered"
            );
        }
        assert!(
            reasons.iter().any(|r| r.1.is_some() && r.3),
            "no error with a rule"
        );
        assert!(
            reasons.iter().any(|r| !r.2),
            "no evaluation without a variant"
        );
    }

    #[test]
    fn an_empty_body_is_valid_json() {
        let body = EvaluateBody::new("production", 0).finish();
        let parsed: Value = serde_json::from_slice(&body).expect("valid JSON");
        assert_eq!(parsed, json!({"environment": "production", "flags": []}));
        let body = EvaluateBody::ofrep(0).finish();
        let parsed: Value = serde_json::from_slice(&body).expect("valid JSON");
        assert_eq!(parsed, json!({"flags": []}));
    }
}
