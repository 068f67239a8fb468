//! Validation of one incoming event, independent of HTTP and storage.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

/// Longest accepted `event_id`.
pub const MAX_EVENT_ID_LEN: usize = 128;
/// Longest accepted `unit_id`.
pub const MAX_UNIT_ID_LEN: usize = 256;
/// Longest accepted event `name`.
pub const MAX_NAME_LEN: usize = 128;
/// Largest accepted serialized `properties` object, in bytes.
pub const MAX_PROPERTIES_BYTES: usize = 16 * 1024;

/// Limits applied to every ingested batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestLimits {
    /// Most events in one batch.
    pub max_batch: usize,
    /// How far in the future an event's timestamp may lie.
    pub max_future: Duration,
    /// How old an event's timestamp may be.
    pub max_age: Duration,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            max_batch: 1000,
            max_future: Duration::from_secs(3600),
            max_age: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// An event as received, fields still unchecked.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    /// Idempotency key.
    pub event_id: String,
    /// The unit (user) the event belongs to.
    pub unit_id: String,
    /// Event name.
    pub name: String,
    /// RFC 3339 timestamp.
    pub timestamp: String,
    /// Optional numeric value.
    pub value: Option<f64>,
    /// Optional properties object.
    pub properties: Option<Map<String, Value>>,
}

/// A valid event, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Idempotency key.
    pub event_id: String,
    /// The unit (user) the event belongs to.
    pub unit_id: String,
    /// Event name.
    pub name: String,
    /// When it happened, UTC.
    pub timestamp: NaiveDateTime,
    /// Optional numeric value.
    pub value: Option<f64>,
    /// Properties as compact JSON text.
    pub properties: Option<String>,
}

/// Whether `name` may be an event name: `[A-Za-z0-9_.:-]`, starting alphanumeric.
fn is_event_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

fn check_id(field: &str, value: &str, max: usize) -> Result<(), (String, String)> {
    if value.trim().is_empty() {
        return Err((field.into(), format!("{field} must not be empty")));
    }
    if value.chars().count() > max {
        return Err((
            field.into(),
            format!("{field} is longer than {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err((field.into(), format!("{field} contains control characters")));
    }
    Ok(())
}

impl RawEvent {
    /// Checks every field against `limits` at time `now`; the error names the
    /// first offending field.
    pub fn validate(
        self,
        now: DateTime<Utc>,
        limits: &IngestLimits,
    ) -> Result<NewEvent, (String, String)> {
        check_id("event_id", &self.event_id, MAX_EVENT_ID_LEN)?;
        check_id("unit_id", &self.unit_id, MAX_UNIT_ID_LEN)?;
        if self.name.is_empty() || self.name.len() > MAX_NAME_LEN || !is_event_name(&self.name) {
            return Err((
                "name".into(),
                format!(
                    "name must be 1–{MAX_NAME_LEN} characters of [A-Za-z0-9_.:-] starting with a letter or digit"
                ),
            ));
        }
        let at = DateTime::parse_from_rfc3339(&self.timestamp)
            .map_err(|e| {
                (
                    "timestamp".to_owned(),
                    format!("timestamp must be RFC 3339 (e.g. 2026-11-21T12:00:00Z): {e}"),
                )
            })?
            .with_timezone(&Utc);
        if at > now + limits.max_future {
            return Err((
                "timestamp".into(),
                format!(
                    "timestamp is more than {} in the future",
                    humantime::format_duration(limits.max_future)
                ),
            ));
        }
        if at < now - limits.max_age {
            return Err((
                "timestamp".into(),
                format!(
                    "timestamp is older than {}",
                    humantime::format_duration(limits.max_age)
                ),
            ));
        }
        if let Some(value) = self.value
            && !value.is_finite()
        {
            return Err(("value".into(), "value must be a finite number".into()));
        }
        let properties = match self.properties {
            None => None,
            Some(map) => {
                let text = Value::Object(map).to_string();
                if text.len() > MAX_PROPERTIES_BYTES {
                    return Err((
                        "properties".into(),
                        format!("properties exceed {MAX_PROPERTIES_BYTES} bytes"),
                    ));
                }
                Some(text)
            }
        };
        Ok(NewEvent {
            event_id: self.event_id,
            unit_id: self.unit_id,
            name: self.name,
            timestamp: at.naive_utc(),
            value: self.value,
            properties,
        })
    }
}

/// Drops events whose `event_id` already occurred earlier in the batch; returns
/// how many were dropped.
pub fn dedupe(events: &mut Vec<NewEvent>) -> usize {
    let before = events.len();
    let keep: Vec<bool> = {
        let mut seen = HashSet::with_capacity(before);
        events
            .iter()
            .map(|e| seen.insert(e.event_id.as_str()))
            .collect()
    };
    let mut flags = keep.into_iter();
    events.retain(|_| flags.next().unwrap_or(true));
    before - events.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(timestamp: &str) -> RawEvent {
        RawEvent {
            event_id: "e1".into(),
            unit_id: "42".into(),
            name: "cta_click".into(),
            timestamp: timestamp.into(),
            value: None,
            properties: None,
        }
    }

    #[test]
    fn timestamp_limits() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
            .expect("ts")
            .with_timezone(&Utc);
        let limits = IngestLimits::default();
        let cases = [
            ("2026-11-21T12:59:00Z", true),
            ("2026-11-21T13:01:00Z", false),
            ("2026-10-23T12:00:00Z", true),
            ("2026-10-21T11:59:00Z", false),
            ("2026-11-21T14:00:00+03:00", true),
            ("yesterday", false),
        ];
        for (ts, ok) in cases {
            let result = raw(ts).validate(now, &limits);
            assert_eq!(result.is_ok(), ok, "{ts}: {result:?}");
            if let Err((field, _)) = result {
                assert_eq!(field, "timestamp");
            }
        }
    }

    #[test]
    fn names_and_ids() {
        let now = Utc::now();
        let limits = IngestLimits::default();
        let mut bad_name = raw(&now.to_rfc3339());
        bad_name.name = "has space".into();
        assert_eq!(
            bad_name.validate(now, &limits).map_err(|e| e.0),
            Err("name".to_owned())
        );
        let mut long_id = raw(&now.to_rfc3339());
        long_id.event_id = "x".repeat(129);
        assert_eq!(
            long_id.validate(now, &limits).map_err(|e| e.0),
            Err("event_id".to_owned())
        );
    }
}
