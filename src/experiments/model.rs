//! Experiment definitions, lifecycle states and phases.

use chrono::{NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use verdict_core::Condition;

use verdict_core::FieldError;

/// Most dimensions an experiment may declare.
pub const MAX_DIMENSIONS: usize = 5;

/// Days from launch to the target decision date when none is set.
pub const DEFAULT_DECISION_DAYS: i64 = 14;

/// Lifecycle state: `draft → running → stopped → decided → archived`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being defined; freely editable.
    Draft,
    /// Assigning units; arms, weights, audience and allocation are frozen.
    Running,
    /// No longer assigning; awaiting a decision.
    Stopped,
    /// A decision was taken.
    Decided,
    /// Kept for the record only.
    Archived,
}

impl Status {
    /// The snake_case name, as stored and filtered on.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Running => "running",
            Status::Stopped => "stopped",
            Status::Decided => "decided",
            Status::Archived => "archived",
        }
    }

    /// Parses a stored or queried status name.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "draft" => Status::Draft,
            "running" => Status::Running,
            "stopped" => Status::Stopped,
            "decided" => Status::Decided,
            "archived" => Status::Archived,
            _ => return None,
        })
    }

    /// States a `transition` may start from.
    pub fn allowed_from(transition: Transition) -> &'static [Status] {
        match transition {
            Transition::Launch => &[Status::Draft],
            Transition::Stop => &[Status::Running],
            Transition::Decide => &[Status::Stopped],
            Transition::Archive => &[Status::Draft, Status::Stopped, Status::Decided],
        }
    }
}

/// An explicit lifecycle transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// `draft → running`, after the launch checklist passes.
    Launch,
    /// `running → stopped`.
    Stop,
    /// `stopped → decided`.
    Decide,
    /// `draft | stopped | decided → archived`.
    Archive,
}

impl Transition {
    /// The verb, as used in paths and audit entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Launch => "launch",
            Transition::Stop => "stop",
            Transition::Decide => "decide",
            Transition::Archive => "archive",
        }
    }

    /// The state this transition leads to.
    pub fn target(self) -> Status {
        match self {
            Transition::Launch => Status::Running,
            Transition::Stop => Status::Stopped,
            Transition::Decide => Status::Decided,
            Transition::Archive => Status::Archived,
        }
    }
}

/// One arm: a variant of the experiment's flag and its share of the traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Arm {
    /// Variant key of the flag.
    #[schema(example = "control")]
    #[schema(min_length = 1, pattern = "\\S")]
    pub variant: String,
    /// Percentage of allocated units (arms sum to 100).
    #[schema(example = 50.0)]
    #[schema(minimum = 0, maximum = 100)]
    pub weight: f64,
}

/// Who may enter the experiment: all conditions and segments must match
/// (empty = everyone).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    /// Attribute conditions (the flag rule condition format), ANDed.
    #[serde(default)]
    #[schema(example = json!([{"attribute": "tier", "op": "in", "value": ["pro", "pro_plus"]}]))]
    pub conditions: Vec<Condition>,
    /// Segment keys, ANDed.
    #[serde(default)]
    pub segments: Vec<String>,
}

/// How a guardrail's tolerated degradation is expressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MarginType {
    /// In the metric's units (NPS points; a proportion, so 0.005 = 0.5 percentage points).
    #[default]
    Absolute,
    /// As a fraction of the control mean (0.05 = 5 %).
    Relative,
}

/// A metric that must not degrade by more than `max_degradation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Guardrail {
    /// Metric key from the catalogue.
    #[schema(example = "nps")]
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub metric: String,
    /// Tolerated degradation (≥ 0) in the metric's bad direction.
    #[schema(example = 2.0)]
    #[schema(minimum = 0)]
    pub max_degradation: f64,
    /// Absolute (default) or relative margin.
    #[serde(default)]
    pub margin_type: MarginType,
}

/// Inference engine for the analysis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Fixed-horizon Welch t-test.
    #[default]
    Frequentist,
    /// Always-valid confidence sequences (safe to peek daily).
    Sequential,
    /// Gaussian Bayesian.
    Bayesian,
}

impl From<Engine> for verdict_stats::Engine {
    fn from(e: Engine) -> Self {
        match e {
            Engine::Frequentist => verdict_stats::Engine::Frequentist,
            Engine::Sequential => verdict_stats::Engine::Sequential,
            Engine::Bayesian => verdict_stats::Engine::Bayesian,
        }
    }
}

fn default_alpha() -> f64 {
    0.05
}

fn default_pre_period() -> u32 {
    14
}

/// Analysis settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalysisSettings {
    /// Inference engine (default frequentist).
    #[serde(default)]
    pub engine: Engine,
    /// Significance level (default 0.05).
    #[serde(default = "default_alpha")]
    #[schema(default = 0.05, exclusive_minimum = 0, exclusive_maximum = 0.5)]
    pub alpha: f64,
    /// CUPED variance reduction with the pre-exposure period as covariate.
    #[serde(default)]
    pub cuped: bool,
    /// Length of the CUPED pre-period in days (default 14).
    #[serde(default = "default_pre_period")]
    #[schema(default = 14, maximum = 365)]
    pub cuped_pre_period_days: u32,
}

impl Default for AnalysisSettings {
    fn default() -> Self {
        Self {
            engine: Engine::default(),
            alpha: default_alpha(),
            cuped: false,
            cuped_pre_period_days: default_pre_period(),
        }
    }
}

/// Everything a PM defines about an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    /// Display name.
    pub name: String,
    /// Responsible person.
    pub owner: String,
    /// What we expect and why (required before launch).
    pub hypothesis: String,
    /// Environment whose flag the experiment drives.
    pub environment: String,
    /// The flag whose variants are the arms.
    pub flag: String,
    /// Arms and weights.
    pub arms: Vec<Arm>,
    /// Who may enter.
    pub audience: Audience,
    /// Percentage of the audience that enters (0–100).
    pub allocation: f64,
    /// Mutual-exclusion layer, if any.
    pub layer: Option<String>,
    /// Decision metric (required before launch).
    pub primary_metric: Option<String>,
    /// Further metrics to report.
    pub secondary_metrics: Vec<String>,
    /// Metrics that must not degrade.
    pub guardrails: Vec<Guardrail>,
    /// Analysis settings.
    pub analysis: AnalysisSettings,
    /// Planned minimum detectable effect (relative, e.g. 0.05 = 5 %).
    pub minimum_detectable_effect: Option<f64>,
    /// When a decision is due; defaults to launch + 14 days.
    pub target_decision_at: Option<NaiveDateTime>,
    /// Context attributes recorded with each unit's first exposure, to break
    /// results down by (e.g. `icp_segment`, `tier`, `language`).
    #[serde(default)]
    pub dimensions: Vec<String>,
}

impl Definition {
    /// Every metric key the definition references, with the field naming it.
    pub fn metric_refs(&self) -> Vec<(String, &str)> {
        let mut refs = Vec::new();
        if let Some(m) = &self.primary_metric {
            refs.push(("primary_metric".to_owned(), m.as_str()));
        }
        for (i, m) in self.secondary_metrics.iter().enumerate() {
            refs.push((format!("secondary_metrics[{i}]"), m.as_str()));
        }
        for (i, g) in self.guardrails.iter().enumerate() {
            refs.push((format!("guardrails[{i}].metric"), g.metric.as_str()));
        }
        refs
    }

    /// Whether the assignment-relevant parts (arms, weights, audience, allocation,
    /// flag, environment, layer) differ from `other`'s; lists the fields that do.
    pub fn frozen_changes(&self, other: &Definition) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.arms != other.arms {
            changed.push("arms");
        }
        if self.audience != other.audience {
            changed.push("audience");
        }
        if self.allocation != other.allocation {
            changed.push("allocation");
        }
        if self.flag != other.flag {
            changed.push("flag");
        }
        if self.environment != other.environment {
            changed.push("environment");
        }
        if self.layer != other.layer {
            changed.push("layer");
        }
        if self.dimensions != other.dimensions {
            changed.push("dimensions");
        }
        changed
    }

    /// Structural checks every draft must pass (launch adds the checklist).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            errors.push(FieldError::new("name", "must be 1–200 characters"));
        }
        if self.owner.trim().is_empty() {
            errors.push(FieldError::new("owner", "must not be empty"));
        }
        if !verdict_core::is_slug(&self.environment) {
            errors.push(FieldError::new("environment", "must be a slug"));
        }
        if !verdict_core::is_slug(&self.flag) {
            errors.push(FieldError::new("flag", "must be a flag key (a slug)"));
        }
        if let Some(layer) = &self.layer
            && !verdict_core::is_slug(layer)
        {
            errors.push(FieldError::new("layer", "must be a layer key (a slug)"));
        }
        errors.extend(validate_assignment(
            &self.arms,
            &self.audience,
            self.allocation,
        ));
        for (i, g) in self.guardrails.iter().enumerate() {
            if !(g.max_degradation.is_finite() && g.max_degradation >= 0.0) {
                errors.push(FieldError::new(
                    format!("guardrails[{i}].max_degradation"),
                    "must be a finite number ≥ 0",
                ));
            }
        }
        if !(self.analysis.alpha > 0.0 && self.analysis.alpha < 0.5) {
            errors.push(FieldError::new(
                "analysis.alpha",
                "must be between 0 and 0.5 (exclusive)",
            ));
        }
        if self.analysis.cuped && self.analysis.cuped_pre_period_days == 0 {
            errors.push(FieldError::new(
                "analysis.cuped_pre_period_days",
                "must be at least 1 when CUPED is on",
            ));
        }
        if self.dimensions.len() > MAX_DIMENSIONS {
            errors.push(FieldError::new(
                "dimensions",
                format!("at most {MAX_DIMENSIONS} dimensions"),
            ));
        }
        for (i, d) in self.dimensions.iter().enumerate() {
            if d.trim().is_empty() || d.chars().count() > 64 {
                errors.push(FieldError::new(
                    format!("dimensions[{i}]"),
                    "must be a context attribute name of 1–64 characters",
                ));
            } else if self.dimensions[..i].contains(d) {
                errors.push(FieldError::new(
                    format!("dimensions[{i}]"),
                    format!("`{d}` appears twice"),
                ));
            }
        }
        if let Some(mde) = self.minimum_detectable_effect
            && !(mde.is_finite() && mde > 0.0)
        {
            errors.push(FieldError::new(
                "minimum_detectable_effect",
                "must be a positive number (relative, e.g. 0.05 = 5 %)",
            ));
        }
        errors
    }
}

/// Checks arms, audience and allocation shapes (not whether weights sum to 100:
/// that is a launch checklist item).
pub fn validate_assignment(arms: &[Arm], audience: &Audience, allocation: f64) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, arm) in arms.iter().enumerate() {
        if arm.variant.trim().is_empty() {
            errors.push(FieldError::new(
                format!("arms[{i}].variant"),
                "must name a flag variant",
            ));
        }
        if arms[..i].iter().any(|a| a.variant == arm.variant) {
            errors.push(FieldError::new(
                format!("arms[{i}].variant"),
                format!("variant `{}` appears twice", arm.variant),
            ));
        }
        if !(arm.weight.is_finite() && (0.0..=100.0).contains(&arm.weight)) {
            errors.push(FieldError::new(
                format!("arms[{i}].weight"),
                "must be a percentage between 0 and 100",
            ));
        }
    }
    if !(allocation.is_finite() && allocation > 0.0 && allocation <= 100.0) {
        errors.push(FieldError::new(
            "allocation",
            "must be a percentage above 0 and at most 100",
        ));
    }
    for (i, s) in audience.segments.iter().enumerate() {
        if !verdict_core::is_slug(s) {
            errors.push(FieldError::new(
                format!("audience.segments[{i}]"),
                "must be a segment key (a slug)",
            ));
        }
    }
    for (i, c) in audience.conditions.iter().enumerate() {
        if c.attribute.trim().is_empty() {
            errors.push(FieldError::new(
                format!("audience.conditions[{i}].attribute"),
                "must not be empty",
            ));
        }
    }
    errors
}

/// Outcome of one launch checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Satisfied.
    Passed,
    /// Not satisfied but allowed by policy (recorded).
    Warning,
    /// Not satisfied: blocks launch.
    Failed,
}

/// One launch checklist item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CheckItem {
    /// Item name: `hypothesis`, `primary_metric`, `flag`, `weights`, `overlap`, `guardrail`.
    pub item: String,
    /// Outcome.
    pub status: CheckStatus,
    /// Explanation.
    pub message: String,
}

/// A complete run of the launch checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Checklist {
    /// Whether launch may proceed (no item failed).
    pub passed: bool,
    /// Every item, in a fixed order.
    pub items: Vec<CheckItem>,
}

/// A stored experiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    /// Slug.
    pub key: String,
    /// The PM's definition.
    pub definition: Definition,
    /// Lifecycle state.
    pub status: Status,
    /// Current phase (0 before launch).
    pub current_phase: u32,
    /// Launched under the `warn` policy without a guardrail.
    pub launched_without_guardrail: bool,
    /// The checklist as run at launch.
    pub checklist: Option<Checklist>,
    /// Created (UTC).
    pub created_at: NaiveDateTime,
    /// Last changed (UTC).
    pub updated_at: NaiveDateTime,
    /// Launched (UTC).
    pub started_at: Option<NaiveDateTime>,
    /// Stopped (UTC).
    pub stopped_at: Option<NaiveDateTime>,
    /// Decided (UTC).
    pub decided_at: Option<NaiveDateTime>,
    /// Archived (UTC).
    pub archived_at: Option<NaiveDateTime>,
}

impl Experiment {
    /// The decision due date: the one set, else launch + 14 days.
    pub fn target_decision_at(&self) -> Option<NaiveDateTime> {
        self.definition.target_decision_at.or_else(|| {
            self.started_at
                .map(|s| s + TimeDelta::days(DEFAULT_DECISION_DAYS))
        })
    }
}

/// One assignment period of an experiment: its own salt and analysis window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    /// Phase number, from 1.
    pub number: u32,
    /// Assignment salt (`<key>:<phase>`).
    pub salt: String,
    /// Allocation during the phase.
    pub allocation: f64,
    /// Arms during the phase.
    pub arms: Vec<Arm>,
    /// Audience during the phase.
    pub audience: Audience,
    /// Why it was started.
    pub reason: String,
    /// Who started it.
    pub started_by: String,
    /// Start (UTC).
    pub started_at: NaiveDateTime,
    /// End (UTC), when a later phase started or the experiment stopped.
    pub ended_at: Option<NaiveDateTime>,
}

/// The salt of `phase` of experiment `key`.
pub fn phase_salt(key: &str, phase: u32) -> String {
    format!("{key}:{phase}")
}
