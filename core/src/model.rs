//! Flag, segment and layer definitions: the JSON wire format shared by the
//! service (storage, `GET /api/v1/sdk/config`) and the SDK.
//!
//! Every definition type rejects unknown fields. Field names are snake_case.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Default bucketing attribute for flags and layers.
pub const DEFAULT_BUCKET_BY: &str = "user_id";

fn default_bucket_by() -> String {
    DEFAULT_BUCKET_BY.to_owned()
}

fn default_rollout() -> f64 {
    100.0
}

/// One environment's complete ruleset.
///
/// ```json
/// { "environment": "production", "flags": [], "segments": [], "layers": [] }
/// ```
/// `flags`, `segments` and `layers` default to empty lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Ruleset {
    /// Environment key, e.g. `"production"`.
    pub environment: String,
    /// Flags, in the order `evaluate_all` reports them.
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// Reusable audiences referenced by rules.
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// Mutual-exclusion layers.
    #[serde(default)]
    pub layers: Vec<Layer>,
}

/// Type of every variant value of a flag.
///
/// JSON: `"boolean" | "string" | "number" | "json"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ValueType {
    /// JSON `true` / `false`.
    Boolean,
    /// JSON string.
    String,
    /// JSON number.
    Number,
    /// Any JSON value.
    Json,
}

impl ValueType {
    /// Whether `value` is acceptable for this type.
    pub fn accepts(self, value: &Value) -> bool {
        match self {
            ValueType::Boolean => value.is_boolean(),
            ValueType::String => value.is_string(),
            ValueType::Number => value.is_number(),
            ValueType::Json => true,
        }
    }

    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Boolean => "boolean",
            ValueType::String => "string",
            ValueType::Number => "number",
            ValueType::Json => "json",
        }
    }
}

/// A flag as seen by one environment.
///
/// ```json
/// {
///   "key": "cta_copy",
///   "value_type": "string",
///   "variants": [
///     { "key": "control", "value": "Buy now" },
///     { "key": "urgency", "value": "Only 3 left!" }
///   ],
///   "default_variant": "control",
///   "bucket_by": "user_id",
///   "salt": "cta_copy",
///   "version": 7,
///   "enabled": true,
///   "rules": [
///     { "id": "vips", "segments": ["vip_users"], "serve": { "variant": "urgency" } },
///     { "id": "ios", "conditions": [
///         { "attribute": "app_version", "op": "semver_gte", "value": "2.3.0" }
///       ],
///       "serve": { "variant": "control" } }
///   ],
///   "fallthrough": { "split": {
///     "rollout": 100.0,
///     "weights": [
///       { "variant": "control", "weight": 50.0 },
///       { "variant": "urgency", "weight": 50.0 }
///     ],
///     "experiment": { "key": "cta_copy", "phase": 1 }
///   } }
/// }
/// ```
/// Optional fields: `bucket_by` (default `"user_id"`), `salt` (default
/// empty = the flag key), `version` (default 0), `rules` (default empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Flag {
    /// Slug identifying the flag (`[a-z0-9_-]`, 1–64 chars, starts alphanumeric).
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub key: String,
    /// Type every variant value must have.
    pub value_type: ValueType,
    /// Possible values, addressed by variant key.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub variants: Vec<Variant>,
    /// Variant served when disabled, out of rollout, or on error.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub default_variant: String,
    /// Context attribute whose value is the bucketing unit.
    #[serde(default = "default_bucket_by")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub bucket_by: String,
    /// Hash salt; empty means "use the flag key".
    #[serde(default)]
    pub salt: String,
    /// Monotonic definition version, echoed in evaluations.
    #[serde(default)]
    pub version: u64,
    /// Kill switch: `false` serves the default variant with reason `DISABLED`.
    pub enabled: bool,
    /// Targeting rules, first match wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// What to serve when no rule matches.
    pub fallthrough: Serve,
}

impl Flag {
    /// The salt actually used for hashing: `salt`, or `key` when `salt` is empty.
    pub fn effective_salt(&self) -> &str {
        if self.salt.is_empty() {
            &self.key
        } else {
            &self.salt
        }
    }
}

/// A named flag value. JSON: `{ "key": "on", "value": true }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Variant key, unique within the flag.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub key: String,
    /// Value returned to the caller.
    pub value: Value,
}

/// A targeting rule: all `conditions` AND all `segments` must match.
///
/// JSON: `{ "id": "r1", "conditions": [..], "segments": ["vip_users"], "serve": {..} }`;
/// `conditions` and `segments` default to empty (an empty rule matches everyone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Non-empty id, unique within the flag; reported as `rule_id`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub id: String,
    /// Attribute conditions, ANDed.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Segment keys, ANDed with the conditions.
    #[serde(default)]
    pub segments: Vec<String>,
    /// What to serve when the rule matches.
    pub serve: Serve,
}

/// One attribute test. JSON: `{ "attribute": "tier", "op": "in", "value": ["vip"] }`.
///
/// `value` may be omitted for `exists` / `not_exists`. See [`Operator`] for
/// the semantics of each operator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Context attribute name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub attribute: String,
    /// Comparison operator.
    pub op: Operator,
    /// Operand (type depends on `op`).
    #[serde(default)]
    pub value: Value,
}

/// Condition operators (snake_case on the wire).
///
/// General rules:
/// * An attribute that is absent or JSON `null` is *missing*. A missing
///   attribute never matches any operator except `not_exists` (so `neq` and
///   `not_in` are also false on a missing attribute).
/// * No type coercion: `"5"` is not equal to `5`.
/// * Numbers compare numerically (`1` equals `1.0`); integers are compared
///   exactly, mixed integer/float via `f64`.
/// * A condition whose `value` is invalid for its operator never matches
///   (and is reported by validation / compile warnings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    /// Attribute equals the scalar `value` (string, number or bool).
    Eq,
    /// Attribute is present and not equal to the scalar `value`.
    Neq,
    /// Attribute equals one of the scalars in the `value` array.
    In,
    /// Attribute is present and equals none of the scalars in the `value` array.
    NotIn,
    /// String attribute contains the string `value`; or array attribute has
    /// an element equal to the string `value`.
    Contains,
    /// String attribute starts with the string `value`.
    StartsWith,
    /// String attribute ends with the string `value`.
    EndsWith,
    /// Number attribute > number `value`.
    Gt,
    /// Number attribute >= number `value`.
    Gte,
    /// Number attribute < number `value`.
    Lt,
    /// Number attribute <= number `value`.
    Lte,
    /// Semver string attribute == semver string `value` (precedence; build metadata ignored).
    SemverEq,
    /// Semver attribute > `value`.
    SemverGt,
    /// Semver attribute >= `value`.
    SemverGte,
    /// Semver attribute < `value`.
    SemverLt,
    /// Semver attribute <= `value`.
    SemverLte,
    /// Attribute is present and not null (`value` ignored).
    Exists,
    /// Attribute is absent or null (`value` ignored).
    NotExists,
    /// Timestamp attribute strictly before timestamp `value`.
    Before,
    /// Timestamp attribute strictly after timestamp `value`.
    After,
}

impl Operator {
    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Neq => "neq",
            Operator::In => "in",
            Operator::NotIn => "not_in",
            Operator::Contains => "contains",
            Operator::StartsWith => "starts_with",
            Operator::EndsWith => "ends_with",
            Operator::Gt => "gt",
            Operator::Gte => "gte",
            Operator::Lt => "lt",
            Operator::Lte => "lte",
            Operator::SemverEq => "semver_eq",
            Operator::SemverGt => "semver_gt",
            Operator::SemverGte => "semver_gte",
            Operator::SemverLt => "semver_lt",
            Operator::SemverLte => "semver_lte",
            Operator::Exists => "exists",
            Operator::NotExists => "not_exists",
            Operator::Before => "before",
            Operator::After => "after",
        }
    }
}

/// What a rule or the fallthrough serves.
///
/// JSON: `{ "variant": "control" }` or `{ "split": { .. } }` (see [`Split`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Serve {
    /// A fixed variant key.
    Variant(String),
    /// A percentage split of bucketed units.
    Split(Split),
}

/// A percentage split.
///
/// ```json
/// { "rollout": 20.0,
///   "weights": [ { "variant": "control", "weight": 50.0 },
///                { "variant": "urgency", "weight": 50.0 } ],
///   "salt": "cta_copy_p2",
///   "experiment": { "key": "cta_copy", "phase": 2 } }
/// ```
/// `rollout` (default 100) is the percentage of units entering the split;
/// `weights` are percentages summing to 100. `salt` defaults to the flag's
/// effective salt. Units outside the rollout get the flag's default variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// Percentage (0–100, decimals allowed) of units that enter the split.
    #[serde(default = "default_rollout")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub rollout: f64,
    /// Variant weights in percent, summing to 100.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub weights: Vec<Weight>,
    /// Optional salt overriding the flag's salt (change it to re-shuffle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Marks assignments from this split as experiment exposures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<ExperimentRef>,
}

/// One variant's share of a split. JSON: `{ "variant": "control", "weight": 50.0 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Weight {
    /// Variant key.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub variant: String,
    /// Percentage of the split (0–100).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub weight: f64,
}

/// Experiment tag on a split. JSON: `{ "key": "cta_copy", "phase": 1 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExperimentRef {
    /// Experiment key.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub key: String,
    /// Experiment phase (bump together with the salt to re-randomise).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 2147483647))]
    pub phase: u32,
    /// Context attributes recorded with each unit's first exposure, so
    /// results can be broken down by them (e.g. `icp_segment`, `tier`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<String>,
}

/// A reusable audience: all conditions must match (an empty segment matches everyone).
///
/// JSON: `{ "key": "vip_users", "conditions": [ { "attribute": "tier", "op": "in", "value": ["vip"] } ] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Segment slug.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub key: String,
    /// Conditions, ANDed.
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// A half-open bucket range `[start, end)` over `0..10000`.
/// JSON: `{ "start": 0, "end": 2500 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BucketRange {
    /// Inclusive start.
    #[cfg_attr(feature = "openapi", schema(maximum = 9999))]
    pub start: u32,
    /// Exclusive end.
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10000))]
    pub end: u32,
}

impl BucketRange {
    /// Whether `bucket` lies in `[start, end)`.
    pub fn contains(&self, bucket: u32) -> bool {
        self.start <= bucket && bucket < self.end
    }

    /// Whether two ranges share at least one bucket.
    pub fn overlaps(&self, other: &BucketRange) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// A mutual-exclusion layer: each unit lands in at most one member's range.
///
/// ```json
/// { "key": "checkout", "salt": "checkout", "bucket_by": "user_id",
///   "holdout": { "start": 0, "end": 500 },
///   "members": [ { "flag": "cta_copy", "range": { "start": 500, "end": 5000 } },
///                { "flag": "price_test", "range": { "start": 5000, "end": 10000 } } ] }
/// ```
/// `salt` defaults to the layer key when empty/absent, `bucket_by` to `"user_id"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// Layer slug.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$"))]
    pub key: String,
    /// Layer hash salt (independent of member flags' salts).
    #[serde(default)]
    pub salt: String,
    /// Context attribute used as the layer's bucketing unit.
    #[serde(default = "default_bucket_by")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub bucket_by: String,
    /// Units in this range get every member flag's default variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout: Option<BucketRange>,
    /// Member flags and their exclusive ranges.
    #[serde(default)]
    pub members: Vec<LayerMember>,
}

impl Layer {
    /// The salt actually used for hashing: `salt`, or `key` when empty.
    pub fn effective_salt(&self) -> &str {
        if self.salt.is_empty() {
            &self.key
        } else {
            &self.salt
        }
    }
}

/// A flag's slice of a layer. JSON: `{ "flag": "cta_copy", "range": { "start": 0, "end": 5000 } }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LayerMember {
    /// Member flag key.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub flag: String,
    /// The flag's exclusive bucket range within the layer.
    pub range: BucketRange,
}
