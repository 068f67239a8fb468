//! Changing flags, segments and layers: validation and cross-definition rules
//! checked inside the write's transaction.

use std::collections::BTreeSet;

use verdict_core::{Layer, Rule, Segment};

use super::{EnvironmentConfig, FlagDefinition, validate_flag_definition};
use super::{validate_layer_definition, validate_segment_definition};
use crate::db::DbConnection;
use crate::definitions::{self, DefinitionError, Stored, Write};
use verdict_core::FieldError;

/// Why a flag, segment or layer change was refused.
#[derive(Debug, thiserror::Error)]
pub enum FlagWriteError {
    /// Invalid fields.
    #[error("invalid definition")]
    Invalid(Vec<FieldError>),
    /// The change conflicts with other definitions (e.g. deleting a referenced segment).
    #[error("{0}")]
    Conflict(String),
    /// Storage-level failure (not found, exists, version mismatch, database).
    #[error(transparent)]
    Definition(#[from] DefinitionError),
}

impl From<crate::db::DbError> for FlagWriteError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Definition(e.into())
    }
}

impl From<diesel::result::Error> for FlagWriteError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Definition(e.into())
    }
}

fn keys<T: definitions::Definition>(
    conn: &mut DbConnection,
) -> Result<BTreeSet<String>, FlagWriteError> {
    Ok(definitions::list::<T>(conn)?
        .into_iter()
        .map(|(key, _)| key)
        .collect())
}

fn invalid_unless_empty(errors: Vec<FieldError>) -> Result<(), FlagWriteError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(FlagWriteError::Invalid(errors))
    }
}

/// Creates, replaces or deletes a flag. A flag that a layer lists cannot be deleted.
pub fn save_flag(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    change: Write<FlagDefinition>,
) -> Result<Option<Stored<FlagDefinition>>, FlagWriteError> {
    let proposed = match &change {
        Write::Create(d) | Write::Update { definition: d, .. } => Some(d.clone()),
        Write::Delete => None,
    };
    definitions::write(conn, actor, key, change, |conn, _| match proposed {
        Some(flag) => {
            let segments = keys::<Segment>(conn)?;
            invalid_unless_empty(validate_flag_definition(&flag, |s| segments.contains(s)))
        }
        None => {
            let layers = definitions::list::<Layer>(conn)?;
            match layers
                .iter()
                .find(|(_, l)| l.definition.members.iter().any(|m| m.flag == key))
            {
                Some((layer, _)) => Err(FlagWriteError::Conflict(format!(
                    "flag `{key}` is a member of layer `{layer}`: remove it from the layer first"
                ))),
                None => Ok(()),
            }
        }
    })
}

/// Replaces a flag's configuration in one environment (the kill switch,
/// targeting rules, fallthrough), keeping everything else.
pub fn set_flag_environment(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    environment: &str,
    update: impl FnOnce(Option<EnvironmentConfig>, &FlagDefinition) -> EnvironmentConfig,
) -> Result<Stored<FlagDefinition>, FlagWriteError> {
    let current = definitions::get::<FlagDefinition>(conn, key)?.ok_or_else(|| {
        DefinitionError::NotFound {
            kind: "flag",
            key: key.to_owned(),
        }
    })?;
    let mut definition = current.definition.clone();
    let existing = definition.environments.get(environment).cloned();
    let config = update(existing, &definition);
    definition
        .environments
        .insert(environment.to_owned(), config);
    save_flag(
        conn,
        actor,
        key,
        Write::Update {
            definition,
            expected_version: Some(current.version),
        },
    )?
    .ok_or_else(|| {
        FlagWriteError::Definition(DefinitionError::NotFound {
            kind: "flag",
            key: key.to_owned(),
        })
    })
}

/// The id of the targeting rule an experiment owns in its flag.
pub fn experiment_rule_id(experiment_key: &str) -> String {
    format!("experiment:{experiment_key}")
}

/// Puts an experiment's rule into `flag_key` in `environment`: replaces the rule
/// with the same id, or appends it after the PM's own rules (so explicit
/// overrides still win).
pub fn set_experiment_rule(
    conn: &mut DbConnection,
    actor: &str,
    environment: &str,
    flag_key: &str,
    rule: Rule,
) -> Result<Stored<FlagDefinition>, FlagWriteError> {
    set_flag_environment(conn, actor, flag_key, environment, |existing, flag| {
        let mut config =
            existing.unwrap_or_else(|| FlagDefinition::initial_environment(&flag.default_variant));
        match config.rules.iter_mut().find(|r| r.id == rule.id) {
            Some(slot) => *slot = rule,
            None => config.rules.push(rule),
        }
        config.enabled = true;
        config
    })
}

/// Removes an experiment's rule from `flag_key` in `environment` (no-op if absent).
pub fn remove_experiment_rule(
    conn: &mut DbConnection,
    actor: &str,
    environment: &str,
    flag_key: &str,
    experiment_key: &str,
) -> Result<Stored<FlagDefinition>, FlagWriteError> {
    let id = experiment_rule_id(experiment_key);
    set_flag_environment(conn, actor, flag_key, environment, |existing, flag| {
        let mut config =
            existing.unwrap_or_else(|| FlagDefinition::initial_environment(&flag.default_variant));
        config.rules.retain(|r| r.id != id);
        config
    })
}

/// Creates, replaces or deletes a segment. A segment used by a flag cannot be deleted.
pub fn save_segment(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    change: Write<Segment>,
) -> Result<Option<Stored<Segment>>, FlagWriteError> {
    let proposed = match &change {
        Write::Create(d) | Write::Update { definition: d, .. } => Some(d.clone()),
        Write::Delete => None,
    };
    definitions::write(conn, actor, key, change, |conn, _| match proposed {
        Some(segment) => invalid_unless_empty(validate_segment_definition(&segment)),
        None => {
            let flags = definitions::list::<FlagDefinition>(conn)?;
            let user = flags.iter().find(|(_, f)| {
                f.definition
                    .environments
                    .values()
                    .flat_map(|e| &e.rules)
                    .any(|r| r.segments.iter().any(|s| s == key))
            });
            match user {
                Some((flag, _)) => Err(FlagWriteError::Conflict(format!(
                    "segment `{key}` is used by flag `{flag}`: remove it from the flag's rules first"
                ))),
                None => Ok(()),
            }
        }
    })
}

/// Creates, replaces or deletes a layer. Member flags must exist and belong to
/// no other layer.
pub fn save_layer(
    conn: &mut DbConnection,
    actor: &str,
    key: &str,
    change: Write<Layer>,
) -> Result<Option<Stored<Layer>>, FlagWriteError> {
    let proposed = match &change {
        Write::Create(d) | Write::Update { definition: d, .. } => Some(d.clone()),
        Write::Delete => None,
    };
    definitions::write(conn, actor, key, change, |conn, _| {
        let Some(layer) = proposed else {
            return Ok(());
        };
        let flags = keys::<FlagDefinition>(conn)?;
        let mut errors = validate_layer_definition(&layer, |f| flags.contains(f));
        for (other_key, other) in definitions::list::<Layer>(conn)? {
            if other_key == key {
                continue;
            }
            for (i, member) in layer.members.iter().enumerate() {
                if other
                    .definition
                    .members
                    .iter()
                    .any(|m| m.flag == member.flag)
                {
                    errors.push(FieldError::new(
                        format!("members[{i}].flag"),
                        format!("flag `{}` is already in layer `{other_key}`", member.flag),
                    ));
                }
            }
        }
        invalid_unless_empty(errors)
    })
}
