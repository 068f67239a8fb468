//! Remote evaluation results (`POST /api/v1/evaluate`).

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use verdict_core::Reason;

use crate::details::{Details, EvalError, FromFlagValue, Json, typed};

/// The service's answer to a bulk evaluation.
#[derive(Debug, Deserialize)]
pub(crate) struct EvaluateResponse {
    #[serde(default)]
    pub(crate) environment: String,
    #[serde(default)]
    pub(crate) flags: Vec<RemoteFlag>,
}

/// One flag of a bulk evaluation.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RemoteFlag {
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) value: Value,
    #[serde(default)]
    pub(crate) variant: Option<String>,
    #[serde(deserialize_with = "lenient_reason")]
    pub(crate) reason: Reason,
    #[serde(default)]
    pub(crate) version: Option<u64>,
    #[serde(default)]
    pub(crate) error_code: Option<String>,
    #[serde(default)]
    pub(crate) rule_id: Option<String>,
}

/// Unknown reason strings (a newer service) read as `DEFAULT`.
fn lenient_reason<'de, D: Deserializer<'de>>(d: D) -> Result<Reason, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(match s.as_deref() {
        Some("STATIC") => Reason::Static,
        Some("TARGETING_MATCH") => Reason::TargetingMatch,
        Some("SPLIT") => Reason::Split,
        Some("DISABLED") => Reason::Disabled,
        Some("ERROR") => Reason::Error,
        _ => Reason::Default,
    })
}

/// Every flag's value for one context, evaluated by the service.
///
/// The accessors mirror the [`Client`](crate::Client) ones without the
/// context argument; unknown flags and wrong types give the caller's default.
#[derive(Debug, Clone, Default)]
pub struct FlagValues {
    environment: String,
    flags: HashMap<String, RemoteFlag>,
}

impl FlagValues {
    pub(crate) fn from_response(resp: EvaluateResponse) -> Self {
        Self {
            environment: resp.environment,
            flags: resp.flags.into_iter().map(|f| (f.key.clone(), f)).collect(),
        }
    }

    /// Environment the service evaluated in.
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// Flag keys present.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.flags.keys().map(String::as_str)
    }

    fn get<T: FromFlagValue>(&self, flag: &str) -> Option<T> {
        self.flags
            .get(flag)
            .and_then(|f| typed::<T>(f.reason, &f.value))
    }

    /// Boolean value of `flag`, or `default`.
    pub fn bool_value(&self, flag: &str, default: bool) -> bool {
        self.get(flag).unwrap_or(default)
    }

    /// String value of `flag`, or `default`.
    pub fn string_value(&self, flag: &str, default: &str) -> String {
        self.get(flag).unwrap_or_else(|| default.to_owned())
    }

    /// Numeric value of `flag`, or `default`.
    pub fn number_value(&self, flag: &str, default: f64) -> f64 {
        self.get(flag).unwrap_or(default)
    }

    /// Value of `flag` deserialized into `T`, or `default`.
    pub fn json_value<T: DeserializeOwned>(&self, flag: &str, default: T) -> T {
        self.get::<Json<T>>(flag).map_or(default, |j| j.0)
    }

    /// Variant, value and reason of `flag`.
    pub fn variant(&self, flag: &str) -> Details {
        match self.flags.get(flag) {
            None => Details::missing(flag, EvalError::FlagNotFound),
            Some(f) => Details {
                flag_key: f.key.clone(),
                variant: f.variant.clone(),
                value: f.value.clone(),
                reason: f.reason,
                error: f.error_code.as_deref().map(EvalError::from_code),
                flag_version: f.version,
                rule_id: f.rule_id.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_evaluate_response() {
        let resp: EvaluateResponse = serde_json::from_value(json!({
            "environment": "production",
            "flags": [
                {"key": "cta_copy", "value": "Only 3 left!", "variant": "urgency",
                 "reason": "SPLIT", "version": 3, "error_code": null},
                {"key": "dark", "value": false, "variant": "off", "reason": "NEW_REASON",
                 "version": 1, "error_code": "TARGETING_KEY_MISSING", "extra": 1}
            ]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let v = FlagValues::from_response(resp);
        assert_eq!(v.environment(), "production");
        assert_eq!(v.string_value("cta_copy", "Buy"), "Only 3 left!");
        assert!(!v.bool_value("dark", true));
        assert!(v.bool_value("missing", true));
        assert_eq!(v.number_value("cta_copy", 1.5), 1.5);
        let d = v.variant("dark");
        assert_eq!(d.reason, Reason::Default);
        assert_eq!(d.error, Some(EvalError::TargetingKeyMissing));
        assert_eq!(v.variant("nope").error, Some(EvalError::FlagNotFound));
    }
}
