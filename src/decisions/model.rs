//! What a decision is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::results::compat::Frozen;

/// What was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Ship a variant.
    Ship,
    /// Go back to control.
    RollBack,
    /// Change the idea and test again.
    Iterate,
    /// No conclusion.
    Inconclusive,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ship => "ship",
            Outcome::RollBack => "roll_back",
            Outcome::Iterate => "iterate",
            Outcome::Inconclusive => "inconclusive",
        }
    }

    /// Parses a stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        [
            Outcome::Ship,
            Outcome::RollBack,
            Outcome::Iterate,
            Outcome::Inconclusive,
        ]
        .into_iter()
        .find(|o| o.as_str() == raw)
    }
}

/// A decision to append.
#[derive(Debug, Clone)]
pub struct NewDecision {
    /// Experiment decided.
    pub experiment_key: String,
    /// What was decided.
    pub outcome: Outcome,
    /// The variant shipped (with `ship`).
    pub variant: Option<String>,
    /// Why (required).
    pub rationale: String,
    /// Supporting links.
    pub links: Vec<String>,
    /// The decision this one corrects.
    pub supersedes: Option<i64>,
    /// Also act on the flag: `ship` serves the variant to everyone, `roll_back`
    /// serves the default (control).
    pub apply: bool,
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Position in the log.
    pub id: i64,
    /// Experiment decided.
    pub experiment_key: String,
    /// What was decided.
    pub outcome: Outcome,
    /// The variant shipped.
    pub variant: Option<String>,
    /// Why.
    pub rationale: String,
    /// Supporting links.
    pub links: Vec<String>,
    /// Who (token subject).
    pub author: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The decision this one corrects.
    pub supersedes: Option<i64>,
    /// The results the decision was based on, frozen at decision time.
    pub results_snapshot: Frozen,
    /// What was done to the flag, if anything.
    pub action_taken: Option<String>,
}
