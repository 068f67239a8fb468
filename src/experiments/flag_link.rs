//! The experiment's side of its flag: the targeting rule it owns there.
//!
//! Pending the flags module: lookups report the flag as missing and rule writes
//! do nothing, so launches fail the `flag` checklist item.

use verdict_core::{ExperimentRef, Rule, Serve, Split, Weight};

use super::model::{Definition, phase_salt};
use crate::db::DbConnection;
use crate::domain_error::DomainError;

/// The targeting rule experiment `key` owns in its flag during `phase`: the
/// audience as conditions/segments, allocation as rollout, arms as weights,
/// salted `<key>:<phase>` and tagged as an experiment exposure.
pub fn experiment_rule(key: &str, def: &Definition, phase: u32) -> Rule {
    Rule {
        id: format!("experiment:{key}"),
        conditions: def.audience.conditions.clone(),
        segments: def.audience.segments.clone(),
        serve: Serve::Split(Split {
            rollout: def.allocation,
            weights: def
                .arms
                .iter()
                .map(|a| Weight {
                    variant: a.variant.clone(),
                    weight: a.weight,
                })
                .collect(),
            salt: Some(phase_salt(key, phase)),
            experiment: Some(ExperimentRef {
                key: key.to_owned(),
                phase,
            }),
        }),
    }
}

/// The variant keys of `flag` in `environment`; `None` when it does not exist there.
pub(super) fn flag_variants(
    _conn: &mut DbConnection,
    _environment: &str,
    _flag: &str,
) -> Result<Option<Vec<String>>, DomainError> {
    Ok(None)
}

/// Installs (or replaces) the experiment's rule in its flag.
pub(super) fn install_rule(
    _conn: &mut DbConnection,
    _actor: &str,
    _key: &str,
    _def: &Definition,
    _phase: u32,
) -> Result<(), DomainError> {
    Ok(())
}

/// Removes the experiment's rule from its flag.
pub(super) fn remove_rule(
    _conn: &mut DbConnection,
    _actor: &str,
    _key: &str,
    _def: &Definition,
) -> Result<(), DomainError> {
    Ok(())
}
