//! Feature flags, segments and layers: domain model, validation and writes.

mod model;
mod validate;
mod writes;

pub use model::{ENVIRONMENTS, EnvironmentConfig, FlagDefinition};
pub use validate::{
    validate_flag_definition, validate_layer_definition, validate_segment_definition,
};
pub use writes::{
    FlagWriteError, experiment_rule_id, remove_experiment_rule, save_flag, save_layer,
    save_segment, set_experiment_rule, set_flag_environment,
};
