//! Evaluation results handed to callers, and typed value extraction.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use verdict_core::{ErrorCode, Evaluation, Reason};

/// Why a flag evaluation fell back or is incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EvalError {
    /// The bucketing attribute is missing from the context.
    TargetingKeyMissing,
    /// The flag definition is invalid.
    ParseError,
    /// Any other evaluation problem reported by the core or the service.
    General,
    /// No flag with this key in the ruleset.
    FlagNotFound,
    /// The flag's value does not have the requested type.
    TypeMismatch,
    /// No ruleset yet (cold start before the first download).
    ProviderNotReady,
}

impl From<ErrorCode> for EvalError {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::TargetingKeyMissing => EvalError::TargetingKeyMissing,
            ErrorCode::ParseError => EvalError::ParseError,
            ErrorCode::General => EvalError::General,
        }
    }
}

impl EvalError {
    /// Parses an OFREP error code string; unknown codes map to `General`.
    pub(crate) fn from_code(code: &str) -> Self {
        match code {
            "TARGETING_KEY_MISSING" => EvalError::TargetingKeyMissing,
            "PARSE_ERROR" => EvalError::ParseError,
            "FLAG_NOT_FOUND" => EvalError::FlagNotFound,
            "TYPE_MISMATCH" => EvalError::TypeMismatch,
            "PROVIDER_NOT_READY" => EvalError::ProviderNotReady,
            _ => EvalError::General,
        }
    }
}

/// What [`variant`](crate::Client::variant) served for one flag.
///
/// When there is nothing to serve (no ruleset yet, unknown flag) `variant`
/// is `None`, `value` is `null` and `error` says why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Details {
    /// Flag key.
    pub flag_key: String,
    /// Served variant key.
    pub variant: Option<String>,
    /// Served value.
    pub value: Value,
    /// Why it was served (`DEFAULT` before the first ruleset arrives).
    pub reason: Reason,
    /// Error detail, if any.
    pub error: Option<EvalError>,
    /// Version of the flag definition, when known.
    pub flag_version: Option<u64>,
    /// Id of the matched targeting rule.
    pub rule_id: Option<String>,
}

impl Details {
    /// Nothing served: `null`, reason `DEFAULT` (not ready) or `ERROR`.
    pub(crate) fn missing(flag_key: &str, error: EvalError) -> Self {
        let reason = if error == EvalError::ProviderNotReady {
            Reason::Default
        } else {
            Reason::Error
        };
        Self {
            flag_key: flag_key.to_owned(),
            variant: None,
            value: Value::Null,
            reason,
            error: Some(error),
            flag_version: None,
            rule_id: None,
        }
    }

    /// An owned copy of a core evaluation.
    pub(crate) fn from_evaluation(e: &Evaluation<'_>) -> Self {
        Self {
            flag_key: e.flag_key.to_owned(),
            variant: e.variant.map(str::to_owned),
            value: e.value.clone(),
            reason: e.reason,
            error: e.error.map(EvalError::from),
            flag_version: Some(e.flag_version),
            rule_id: e.rule_id.map(str::to_owned),
        }
    }
}

/// Value types the typed accessors read out of a flag value.
pub(crate) trait FromFlagValue: Sized {
    fn from_flag_value(value: &Value) -> Option<Self>;
}

impl FromFlagValue for bool {
    fn from_flag_value(value: &Value) -> Option<Self> {
        value.as_bool()
    }
}

impl FromFlagValue for f64 {
    fn from_flag_value(value: &Value) -> Option<Self> {
        value.as_f64()
    }
}

impl FromFlagValue for String {
    fn from_flag_value(value: &Value) -> Option<Self> {
        value.as_str().map(str::to_owned)
    }
}

/// Wrapper reading any `DeserializeOwned` type out of a JSON value.
pub(crate) struct Json<T>(pub(crate) T);

impl<T: DeserializeOwned> FromFlagValue for Json<T> {
    fn from_flag_value(value: &Value) -> Option<Self> {
        T::deserialize(value).ok().map(Json)
    }
}

/// The typed value to hand out, or `None` to use the caller's default:
/// evaluations with reason `ERROR` and values of the wrong type fall back.
pub(crate) fn typed<T: FromFlagValue>(reason: Reason, value: &Value) -> Option<T> {
    if reason == Reason::Error {
        return None;
    }
    T::from_flag_value(value)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn typed_extraction_respects_type_and_reason() {
        assert_eq!(typed::<bool>(Reason::Split, &json!(true)), Some(true));
        assert_eq!(typed::<bool>(Reason::Split, &json!("true")), None);
        assert_eq!(typed::<f64>(Reason::Static, &json!(3)), Some(3.0));
        assert_eq!(
            typed::<String>(Reason::Default, &json!("x")),
            Some("x".to_owned())
        );
        assert_eq!(typed::<String>(Reason::Error, &json!("x")), None);
        #[derive(serde::Deserialize, PartialEq, Debug)]
        struct Paywall {
            price: u32,
        }
        let p = typed::<Json<Paywall>>(Reason::Split, &json!({"price": 5})).map(|j| j.0);
        assert_eq!(p, Some(Paywall { price: 5 }));
        assert!(typed::<Json<Paywall>>(Reason::Split, &json!({"cost": 5})).is_none());
    }

    #[test]
    fn error_codes_parse_leniently() {
        assert_eq!(
            EvalError::from_code("TARGETING_KEY_MISSING"),
            EvalError::TargetingKeyMissing
        );
        assert_eq!(EvalError::from_code("SOMETHING_NEW"), EvalError::General);
    }
}
