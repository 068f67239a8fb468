//! Evaluation context: the attributes of the unit being evaluated.

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
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    /// Sorted by key, keys unique. A handful of attributes is the norm, and a
    /// scan that compares lengths first beats a tree walk of string compares
    /// (every rule condition looks one up).
    attributes: Vec<(String, Value)>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder: sets `key` to `value` and returns the context.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.insert(key, value);
        self
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        let key = key.into();
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.attributes[i].1, value.into())),
            Err(i) => {
                self.attributes.insert(i, (key, value.into()));
                None
            }
        }
    }

    /// Builds a context from a JSON object's entries.
    pub fn from_json_object(object: serde_json::Map<String, Value>) -> Self {
        object.into_iter().collect()
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
        let found = if self.attributes.len() <= LINEAR_SCAN_MAX {
            self.attributes
                .iter()
                .find(|(k, _)| k.len() == key.len() && k == key)
        } else {
            self.position(key).ok().map(|i| &self.attributes[i])
        };
        match found {
            Some((_, Value::Null)) | None => None,
            Some((_, v)) => Some(v),
        }
    }

    /// Removes the attribute `key`.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.position(key).ok().map(|i| self.attributes.remove(i).1)
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

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.attributes
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
    }
}

/// Up to this many attributes, lookups scan instead of bisecting.
const LINEAR_SCAN_MAX: usize = 16;

impl Serialize for Context {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Context {
    /// A JSON object; a repeated key keeps its last value.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ContextVisitor)
    }
}

struct ContextVisitor;

impl<'de> serde::de::Visitor<'de> for ContextVisitor {
    type Value = Context;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object of attributes")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Context, A::Error> {
        let mut attributes: Vec<(String, Value)> = Vec::with_capacity(map.size_hint().unwrap_or(8));
        while let Some(entry) = map.next_entry()? {
            attributes.push(entry);
        }
        // Last occurrence first, so the stable sort and dedup keep it.
        attributes.reverse();
        attributes.sort_by(|a, b| a.0.cmp(&b.0));
        attributes.dedup_by(|later, earlier| later.0 == earlier.0);
        Ok(Context { attributes })
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Context {
    /// A repeated key keeps its last value.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut ctx = Self::new();
        for (k, v) in iter {
            ctx.insert(k, v);
        }
        ctx
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lookups_match_a_map_with_last_value_winning() {
        let cases = [
            (
                r#"{"b": 1, "a": 2, "b": 3}"#,
                vec![("a", json!(2)), ("b", json!(3))],
            ),
            (
                r#"{"tier": null, "id": "x"}"#,
                vec![("id", json!("x")), ("tier", json!(null))],
            ),
            (r#"{}"#, vec![]),
        ];
        for (raw, expected) in cases {
            let ctx: Context = serde_json::from_str(raw).expect(raw);
            let pairs: Vec<(&str, Value)> = ctx.iter().map(|(k, v)| (k, v.clone())).collect();
            assert_eq!(pairs, expected, "{raw}");
            for (k, v) in &expected {
                assert_eq!(ctx.get(k), (!v.is_null()).then_some(v), "{raw} {k}");
            }
            assert_eq!(ctx.get("missing"), None);
            let round_trip: Context =
                serde_json::from_value(serde_json::to_value(&ctx).expect("serialize")).expect(raw);
            assert_eq!(round_trip, ctx);
        }
        assert!(serde_json::from_str::<Context>("[1]").is_err());
    }

    #[test]
    fn insert_remove_and_many_attributes_stay_sorted_and_unique() {
        let mut ctx: Context = (0..40).rev().map(|i| (format!("k{i:02}"), i)).collect();
        assert_eq!(ctx.insert("k07", "seven"), Some(json!(7)));
        assert_eq!(ctx.len(), 40);
        assert_eq!(ctx.get("k07"), Some(&json!("seven")));
        assert_eq!(ctx.get("k39"), Some(&json!(39)));
        assert_eq!(ctx.remove("k00"), Some(json!(0)));
        assert_eq!(ctx.get("k00"), None);
        let keys: Vec<&str> = ctx.iter().map(|(k, _)| k).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(keys, sorted);
        let dup: Context = [("a", 1), ("a", 2)].into_iter().collect();
        assert_eq!(dup.get("a"), Some(&json!(2)));
    }
}
