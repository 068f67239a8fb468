//! A ruleset's distinct conditions, and the outcomes of those tested for one
//! context.
//!
//! Rules refer to conditions by id. A condition that several rules or flags
//! share (every flag targeting the `vip_users` segment, a common app-version
//! gate) is stored once and, during one `evaluate_all`, tested once.

use std::collections::HashMap;

use crate::condition::CompiledCondition;
use crate::context::Context;
use crate::model::Condition;

/// Index of a condition in its ruleset's [`ConditionTable`].
pub(crate) type ConditionId = usize;

/// The distinct compiled conditions of a ruleset.
#[derive(Default)]
pub(crate) struct ConditionTable {
    conditions: Vec<CompiledCondition>,
    ids: HashMap<String, ConditionId>,
}

impl ConditionTable {
    /// The id of `source`, compiled as `compiled`; conditions with the same
    /// attribute, operator and operand share one id.
    pub(crate) fn intern(
        &mut self,
        source: &Condition,
        compiled: CompiledCondition,
    ) -> ConditionId {
        let key = serde_json::to_string(source).unwrap_or_else(|_| format!("{source:?}"));
        *self.ids.entry(key).or_insert_with(|| {
            self.conditions.push(compiled);
            self.conditions.len() - 1
        })
    }

    /// Outcomes for a run of evaluations on one context, each condition
    /// tested at most once.
    pub(crate) fn remembering(&self) -> Outcomes<'_> {
        Outcomes {
            conditions: &self.conditions,
            known: vec![UNKNOWN; self.conditions.len()],
        }
    }

    /// Outcomes for a single flag's evaluation: nothing is remembered, so
    /// nothing is allocated.
    pub(crate) fn forgetting(&self) -> Outcomes<'_> {
        Outcomes {
            conditions: &self.conditions,
            known: Vec::new(),
        }
    }
}

const UNKNOWN: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;

/// Outcomes of the conditions tested so far, for one context.
pub(crate) struct Outcomes<'r> {
    conditions: &'r [CompiledCondition],
    /// Per condition id: `UNKNOWN`, `FALSE` or `TRUE`; empty when forgetting.
    known: Vec<u8>,
}

impl Outcomes<'_> {
    /// Whether `ctx` satisfies condition `id` (an unknown id never matches).
    pub(crate) fn test(&mut self, id: ConditionId, ctx: &Context) -> bool {
        match self.known.get(id) {
            Some(&TRUE) => true,
            Some(&FALSE) => false,
            remembered => {
                let outcome = self.conditions.get(id).is_some_and(|c| c.matches(ctx));
                if remembered.is_some() {
                    self.known[id] = if outcome { TRUE } else { FALSE };
                }
                outcome
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Operator;

    fn cond(attribute: &str, op: Operator, value: serde_json::Value) -> Condition {
        Condition {
            attribute: attribute.into(),
            op,
            value,
        }
    }

    fn intern(table: &mut ConditionTable, c: &Condition) -> ConditionId {
        let compiled =
            CompiledCondition::compile(c).unwrap_or_else(|_| CompiledCondition::never(c));
        table.intern(c, compiled)
    }

    #[test]
    fn equal_conditions_share_an_id_and_different_ones_do_not() {
        let mut table = ConditionTable::default();
        let vip = cond("tier", Operator::In, json!(["vip"]));
        let cases = [
            (cond("tier", Operator::In, json!(["vip"])), true),
            (cond("tier", Operator::In, json!(["vip", "pro"])), false),
            (cond("tier", Operator::NotIn, json!(["vip"])), false),
            (cond("plan", Operator::In, json!(["vip"])), false),
        ];
        let first = intern(&mut table, &vip);
        for (other, shared) in cases {
            assert_eq!(intern(&mut table, &other) == first, shared, "{other:?}");
        }
    }

    #[test]
    fn remembered_outcomes_match_fresh_ones() {
        let mut table = ConditionTable::default();
        let conditions = [
            cond("tier", Operator::Eq, json!("vip")),
            cond("app_version", Operator::SemverGte, json!("2.5.0")),
            cond("age", Operator::Gt, json!(30)),
            cond("age", Operator::Gt, json!("not a number")),
        ];
        let ids: Vec<_> = conditions.iter().map(|c| intern(&mut table, c)).collect();
        let contexts = [
            Context::new()
                .with("tier", "vip")
                .with("app_version", "2.5.0")
                .with("age", 31),
            Context::new()
                .with("tier", "free")
                .with("app_version", "2.4.9")
                .with("age", 30),
            Context::new(),
        ];
        for ctx in &contexts {
            let mut remembering = table.remembering();
            for (c, &id) in conditions.iter().zip(&ids) {
                let fresh = table.forgetting().test(id, ctx);
                let expected = CompiledCondition::compile(c).is_ok_and(|c| c.matches(ctx));
                assert_eq!(fresh, expected, "{c:?} on {ctx:?}");
                // Asked twice: computed, then remembered.
                assert_eq!(remembering.test(id, ctx), expected, "{c:?} on {ctx:?}");
                assert_eq!(remembering.test(id, ctx), expected, "{c:?} on {ctx:?}");
            }
        }
        assert!(!table.forgetting().test(ids.len() + 7, &contexts[0]));
    }
}
