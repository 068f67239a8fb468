//! Validation of definitions with field paths, on top of the core's validators.

use std::collections::BTreeSet;

use verdict_core::{Layer, Segment, validate_flag, validate_layer, validate_segment};

use super::{ENVIRONMENTS, FlagDefinition};
use verdict_core::FieldError;

/// Checks a flag in every environment it defines; `segment_exists` answers
/// whether a referenced segment is defined. Field paths of per-environment
/// problems start with `environments.<env>.`.
pub fn validate_flag_definition(
    flag: &FlagDefinition,
    segment_exists: impl Fn(&str) -> bool,
) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = Vec::new();
    let mut seen = BTreeSet::new();
    for env in flag.environments.keys() {
        if !ENVIRONMENTS.contains(&env.as_str()) {
            errors.push(FieldError::new(
                format!("environments.{env}"),
                format!(
                    "unknown environment; expected one of {}",
                    ENVIRONMENTS.join(", ")
                ),
            ));
        }
    }
    if flag.environments.is_empty() {
        errors.push(FieldError::new(
            "environments",
            "a flag must exist in at least one environment",
        ));
    }
    for env in flag.environments.keys() {
        let Some(core) = flag.for_environment(env, 1) else {
            continue;
        };
        for error in validate_flag(&core, &segment_exists) {
            let field = if is_environment_field(&error.field) {
                format!("environments.{env}.{}", error.field)
            } else {
                error.field
            };
            if seen.insert((field.clone(), error.message.clone())) {
                errors.push(FieldError::new(field, error.message));
            }
        }
    }
    errors
}

fn is_environment_field(field: &str) -> bool {
    ["enabled", "rules", "fallthrough"]
        .iter()
        .any(|prefix| field.starts_with(prefix))
}

/// Checks a segment definition.
pub fn validate_segment_definition(segment: &Segment) -> Vec<FieldError> {
    validate_segment(segment)
}

/// Checks a layer definition; `flag_exists` answers whether a member flag is defined.
pub fn validate_layer_definition(
    layer: &Layer,
    flag_exists: impl Fn(&str) -> bool,
) -> Vec<FieldError> {
    let mut errors = validate_layer(layer);
    for (i, member) in layer.members.iter().enumerate() {
        if !flag_exists(&member.flag) {
            errors.push(FieldError::new(
                format!("members[{i}].flag"),
                format!("flag `{}` does not exist", member.flag),
            ));
        }
    }
    errors
}
