//! A flag as PMs define it: one definition with per-environment targeting.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use verdict_core::{Flag, Layer, Rule, Segment, Serve, ValueType, Variant};

use crate::definitions::{Definition, Kind};

/// The environments every flag can be configured in.
pub const ENVIRONMENTS: [&str; 2] = ["production", "staging"];

/// A flag's targeting in one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// Kill switch: when false every unit gets the default variant.
    pub enabled: bool,
    /// Ordered targeting rules; the first match wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// What units matching no rule get.
    pub fallthrough: Serve,
}

/// A feature flag definition across environments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagDefinition {
    /// Slug key.
    pub key: String,
    /// What the flag is for.
    #[serde(default)]
    pub description: String,
    /// Type of every variant's value.
    pub value_type: ValueType,
    /// Named values.
    pub variants: Vec<Variant>,
    /// Served when disabled, outside a rollout, or on error.
    pub default_variant: String,
    /// Context attribute units are bucketed by.
    pub bucket_by: String,
    /// Hash salt (empty: the key).
    #[serde(default)]
    pub salt: String,
    /// Targeting per environment; a flag exists in the environments listed here.
    pub environments: BTreeMap<String, EnvironmentConfig>,
}

impl Definition for FlagDefinition {
    const KIND: Kind = Kind::Flag;
}

impl Definition for Segment {
    const KIND: Kind = Kind::Segment;
}

impl Definition for Layer {
    const KIND: Kind = Kind::Layer;
}

impl FlagDefinition {
    /// The environment configuration every new flag starts with: disabled,
    /// serving the default variant.
    pub fn initial_environment(default_variant: &str) -> EnvironmentConfig {
        EnvironmentConfig {
            enabled: false,
            rules: Vec::new(),
            fallthrough: Serve::Variant(default_variant.to_owned()),
        }
    }

    /// The evaluation core's view of this flag in `environment` at `version`.
    pub fn for_environment(&self, environment: &str, version: i64) -> Option<Flag> {
        let env = self.environments.get(environment)?;
        Some(Flag {
            key: self.key.clone(),
            value_type: self.value_type,
            variants: self.variants.clone(),
            default_variant: self.default_variant.clone(),
            bucket_by: self.bucket_by.clone(),
            salt: self.salt.clone(),
            version: u64::try_from(version).unwrap_or(0),
            enabled: env.enabled,
            rules: env.rules.clone(),
            fallthrough: env.fallthrough.clone(),
        })
    }
}
