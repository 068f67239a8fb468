//! The experiment's side of its flag: the targeting rule it owns there.
//! Rule writes go through the flags module, so they are validated, audited and
//! bump the configuration version like any other flag change.

use verdict_core::{ExperimentRef, Rule, Serve, Split, Weight};

use super::model::{Definition, phase_salt};
use crate::db::DbConnection;
use crate::definitions::{self, DefinitionError};
use crate::domain_error::DomainError;
use crate::flags::{self, FlagDefinition, FlagWriteError};

/// The targeting rule experiment `key` owns in its flag during `phase`: the
/// audience as conditions/segments, allocation as rollout, arms as weights,
/// salted `<key>:<phase>` and tagged as an experiment exposure.
pub fn experiment_rule(key: &str, def: &Definition, phase: u32) -> Rule {
    Rule {
        id: flags::experiment_rule_id(key),
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
                dimensions: def.dimensions.clone(),
            }),
        }),
    }
}

fn flag_error(error: FlagWriteError, flag: &str) -> DomainError {
    match error {
        FlagWriteError::Invalid(errors) => DomainError::Invalid(
            errors
                .into_iter()
                .map(|mut e| {
                    e.message = format!("flag `{flag}` refused the experiment rule: {}", e.message);
                    e
                })
                .collect(),
        ),
        FlagWriteError::Conflict(message) => DomainError::Conflict(message),
        FlagWriteError::Definition(e) => definition_error(e),
    }
}

fn definition_error(error: DefinitionError) -> DomainError {
    match error {
        DefinitionError::NotFound { .. } => DomainError::NotFound(error.to_string()),
        DefinitionError::AlreadyExists { .. } | DefinitionError::VersionMismatch { .. } => {
            DomainError::Conflict(error.to_string())
        }
        DefinitionError::Db(e) => DomainError::Db(e),
        other => DomainError::Db(crate::db::DbError::Corrupt(other.to_string())),
    }
}

/// The variant keys of `flag` in `environment`; `None` when it does not exist there.
pub(super) fn flag_variants(
    conn: &mut DbConnection,
    environment: &str,
    flag: &str,
) -> Result<Option<Vec<String>>, DomainError> {
    let stored = definitions::get::<FlagDefinition>(conn, flag).map_err(definition_error)?;
    Ok(stored
        .filter(|f| f.definition.environments.contains_key(environment))
        .map(|f| f.definition.variants.into_iter().map(|v| v.key).collect()))
}

/// Installs (or replaces) the experiment's rule for `phase` in its flag.
pub(super) fn install_rule(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    def: &Definition,
    phase: u32,
) -> Result<(), DomainError> {
    flags::set_experiment_rule(
        conn,
        actor,
        &def.environment,
        &def.flag,
        experiment_rule(key, def, phase),
    )
    .map_err(|e| flag_error(e, &def.flag))?;
    Ok(())
}

/// Removes the experiment's rule from its flag.
pub(super) fn remove_rule(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    def: &Definition,
) -> Result<(), DomainError> {
    flags::remove_experiment_rule(conn, actor, &def.environment, &def.flag, key)
        .map_err(|e| flag_error(e, &def.flag))?;
    Ok(())
}
