//! Roles, ordered by what they may do.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A caller's role. Roles are ordered: each one may do everything the roles
/// before it may (`sdk` < `analyst` < `pm` < `admin`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Applications and SDKs: evaluate flags, send events.
    Sdk,
    /// Read everything, change nothing.
    Analyst,
    /// Define and change flags and experiments, record decisions.
    Pm,
    /// Everything, including the audit log.
    Admin,
}

impl Role {
    /// The lowercase name used in tokens and in the OpenAPI security scopes.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sdk => "sdk",
            Role::Analyst => "analyst",
            Role::Pm => "pm",
            Role::Admin => "admin",
        }
    }

    /// Whether this role may do what `required` may.
    pub fn satisfies(self, required: Role) -> bool {
        self >= required
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Role::{self, *};

    #[test]
    fn role_hierarchy() {
        let cases: [(Role, Role, bool); 8] = [
            (Admin, Pm, true),
            (Pm, Pm, true),
            (Pm, Analyst, true),
            (Analyst, Pm, false),
            (Sdk, Analyst, false),
            (Analyst, Sdk, true),
            (Pm, Admin, false),
            (Sdk, Sdk, true),
        ];
        for (have, need, ok) in cases {
            assert_eq!(have.satisfies(need), ok, "{have} satisfies {need}");
        }
    }
}
