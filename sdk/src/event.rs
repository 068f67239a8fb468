//! Tracked events and experiment exposures, as queued and sent.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// A metric event to [`track`](crate::Client::track).
///
/// ```
/// use verdict_sdk::Event;
/// let event = Event::new("purchase", "42")
///     .value(9.99)
///     .property("currency", "EUR");
/// assert_eq!(event.name(), "purchase");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    name: String,
    unit_id: String,
    value: Option<f64>,
    properties: Option<Map<String, Value>>,
    timestamp: Option<DateTime<Utc>>,
    event_id: Option<Uuid>,
}

impl Event {
    /// An event `name` (e.g. `"cta_click"`) for the unit `unit_id`.
    pub fn new(name: impl Into<String>, unit_id: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            unit_id: unit_id.into(),
            value: None,
            properties: None,
            timestamp: None,
            event_id: None,
        }
    }

    /// Numeric value (revenue, duration, …).
    pub fn value(mut self, value: f64) -> Self {
        self.value = Some(value);
        self
    }

    /// Adds one property.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties
            .get_or_insert_with(Map::new)
            .insert(key.into(), value.into());
        self
    }

    /// Replaces all properties.
    pub fn properties(mut self, properties: Map<String, Value>) -> Self {
        self.properties = Some(properties);
        self
    }

    /// When it happened (default: when tracked).
    pub fn timestamp(mut self, at: DateTime<Utc>) -> Self {
        self.timestamp = Some(at);
        self
    }

    /// A caller-chosen id (default: a random UUIDv4). Reusing an id makes the
    /// service ignore the event as a duplicate.
    pub fn event_id(mut self, id: Uuid) -> Self {
        self.event_id = Some(id);
        self
    }

    /// The event name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Fixes id and timestamp for sending.
    pub(crate) fn into_record(self) -> EventRecord {
        EventRecord {
            event_id: self.event_id.unwrap_or_else(Uuid::new_v4),
            unit_id: self.unit_id,
            name: self.name,
            timestamp: rfc3339(self.timestamp.unwrap_or_else(Utc::now)),
            value: self.value,
            properties: self.properties,
        }
    }
}

/// RFC 3339 UTC with millisecond precision (`2026-11-21T10:00:00.000Z`).
pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// An event as sent to `POST /api/v1/events`; its id is fixed at `track`
/// time so retries never double count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct EventRecord {
    pub(crate) event_id: Uuid,
    pub(crate) unit_id: String,
    pub(crate) name: String,
    pub(crate) timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) properties: Option<Map<String, Value>>,
}

/// An exposure as sent to `POST /api/v1/exposures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ExposureRecord {
    pub(crate) experiment: String,
    pub(crate) phase: u32,
    pub(crate) variant: String,
    pub(crate) unit_id: String,
    pub(crate) timestamp: String,
    /// The experiment's dimensions in the unit's context (see the ruleset's
    /// experiment references), so results can be broken down by them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) dimensions: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_serializes_to_the_wire_shape() {
        let id = Uuid::new_v4();
        let at = DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let r = Event::new("cta_click", "42")
            .value(1.0)
            .property("source", "bot")
            .timestamp(at)
            .event_id(id)
            .into_record();
        let json = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"event_id": id.to_string(), "unit_id": "42",
                "name": "cta_click", "timestamp": "2026-11-21T10:00:00.000Z",
                "value": 1.0, "properties": {"source": "bot"}})
        );
        let bare = serde_json::to_value(Event::new("x", "1").into_record()).unwrap_or_default();
        assert!(bare.get("value").is_none() && bare.get("properties").is_none());
    }

    #[test]
    fn generated_ids_are_unique() {
        let a = Event::new("x", "1").into_record();
        let b = Event::new("x", "1").into_record();
        assert_ne!(a.event_id, b.event_id);
    }
}
