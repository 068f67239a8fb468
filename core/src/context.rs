//! Evaluation context: the attributes of the unit being evaluated.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Attributes of the evaluated unit (user, device, …).
///
/// JSON: a plain object, e.g. `{ "user_id": "u-42", "tier": "vip" }`.
///
/// ```
/// use verdict_core::Context;
/// let ctx = Context::new().with("user_id", 42).with("tier", "vip");
/// assert_eq!(ctx.get("tier"), Some(&serde_json::json!("vip")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Context {
    attributes: BTreeMap<String, Value>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder: sets `key` to `value` and returns the context.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.attributes.insert(key.into(), value.into())
    }

    /// Builds a context from a JSON object's entries.
    pub fn from_json_object(object: serde_json::Map<String, Value>) -> Self {
        Self {
            attributes: object.into_iter().collect(),
        }
    }

    /// Builds a context from any JSON value; `None` unless it is an object.
    pub fn from_json(value: Value) -> Option<Self> {
        match value {
            Value::Object(map) => Some(Self::from_json_object(map)),
            _ => None,
        }
    }

    /// The attribute `key`, treating JSON `null` as absent.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self.attributes.get(key) {
            Some(Value::Null) | None => None,
            Some(v) => Some(v),
        }
    }

    /// Removes the attribute `key`.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.attributes.remove(key)
    }

    /// Iterates over all attributes (including nulls) in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.attributes.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.attributes.len()
    }

    /// Whether there are no attributes.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Context {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            attributes: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}
