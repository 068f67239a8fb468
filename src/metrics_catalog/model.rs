//! Metric definitions and their validation.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use verdict_core::FieldError;

/// Which direction of change is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// More is better (conversion, revenue, NPS).
    HigherIsBetter,
    /// Less is better (churn, push opt-outs).
    LowerIsBetter,
}

impl Direction {
    /// Whether lower values are better (the stats engine's `inverse`).
    pub fn inverse(self) -> bool {
        self == Direction::LowerIsBetter
    }
}

/// A comparison on an event property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    /// Property equals `value` (no type coercion).
    Eq,
    /// Property is present and differs from `value`.
    Neq,
    /// Property equals one of the values in the array `value`.
    In,
    /// Number property > `value`.
    Gt,
    /// Number property >= `value`.
    Gte,
    /// Number property < `value`.
    Lt,
    /// Number property <= `value`.
    Lte,
}

/// A property filter, e.g. `{"property": "auto_topup", "op": "eq", "value": true}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyFilter {
    /// Property name.
    #[schema(example = "auto_topup")]
    #[schema(min_length = 1, pattern = "\\S")]
    pub property: String,
    /// Comparison.
    pub op: FilterOp,
    /// Operand: a scalar, or an array for `in`.
    #[schema(example = json!(true))]
    pub value: Value,
}

impl PropertyFilter {
    /// Whether an event with `properties` passes this filter; a missing property never does.
    pub fn matches(&self, properties: &Map<String, Value>) -> bool {
        let Some(actual) = properties.get(&self.property).filter(|v| !v.is_null()) else {
            return false;
        };
        let num = |v: &Value| v.as_f64();
        match self.op {
            FilterOp::Eq => scalar_eq(actual, &self.value),
            FilterOp::Neq => !scalar_eq(actual, &self.value),
            FilterOp::In => self
                .value
                .as_array()
                .is_some_and(|items| items.iter().any(|v| scalar_eq(actual, v))),
            FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => {
                match (num(actual), num(&self.value)) {
                    (Some(a), Some(b)) => match self.op {
                        FilterOp::Gt => a > b,
                        FilterOp::Gte => a >= b,
                        FilterOp::Lt => a < b,
                        _ => a <= b,
                    },
                    _ => false,
                }
            }
        }
    }
}

fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// An event name with optional property filters (all must match).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventSelector {
    /// Event name.
    #[schema(example = "cta_click")]
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
    pub event: String,
    /// Property filters, ANDed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<PropertyFilter>,
}

/// How a metric is computed per unit from the events after the unit's first
/// exposure in the current phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MetricDefinition {
    /// 1 when the unit did `event` (matching `filters`) within `window_hours` of
    /// first exposure (no limit when absent), else 0.
    Conversion {
        /// Event name.
        #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
        event: String,
        /// Property filters, ANDed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filters: Vec<PropertyFilter>,
        /// Conversion window after first exposure, in hours.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(minimum = 1)]
        window_hours: Option<u32>,
    },
    /// Number of matching events per unit.
    Count {
        /// Event name.
        #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
        event: String,
        /// Property filters, ANDed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filters: Vec<PropertyFilter>,
    },
    /// Sum of the matching events' `value` per unit (e.g. revenue in Stars),
    /// net of the values of `subtract` events in the same window (refunds).
    Sum {
        /// Event name.
        #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
        event: String,
        /// Property filters, ANDed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filters: Vec<PropertyFilter>,
        /// Events whose values are taken off the sum, e.g.
        /// `stars_payment_refunded` for revenue net of refunds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subtract: Option<EventSelector>,
        /// Cap per-unit values at this percentile (e.g. 99) of all units' values.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(exclusive_minimum = 0, exclusive_maximum = 100)]
        winsorize_percentile: Option<f64>,
    },
    /// Mean of the matching events' `value` per unit (units without events are excluded).
    Mean {
        /// Event name.
        #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
        event: String,
        /// Property filters, ANDed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        filters: Vec<PropertyFilter>,
        /// Cap per-unit values at this percentile of all units' values.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schema(exclusive_minimum = 0, exclusive_maximum = 100)]
        winsorize_percentile: Option<f64>,
    },
    /// Per unit: sum of `numerator` values over sum of `denominator` values (an
    /// event without a value counts 1), analysed with the delta method.
    Ratio {
        /// Numerator events.
        numerator: EventSelector,
        /// Denominator events.
        denominator: EventSelector,
    },
    /// 1 when the unit did any of `events` between day `from_day` (inclusive) and
    /// day `to_day` (exclusive) after first exposure, else 0; units whose window
    /// has not ended yet are excluded.
    Retention {
        /// Events that count as activity.
        #[schema(min_items = 1)]
        events: Vec<String>,
        /// First day of the window (0 = exposure day).
        from_day: u32,
        /// End of the window (exclusive).
        to_day: u32,
    },
    /// Net promoter score from a survey event whose `value` is the 0–10 score:
    /// per unit +100 (promoter, 9–10), 0 (passive, 7–8) or −100 (detractor,
    /// 0–6) from its latest answer, so the mean is % promoters − % detractors.
    Nps {
        /// Survey event name.
        #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")]
        event: String,
    },
    /// Ordered steps within `window_hours` of first exposure: step 1 is
    /// reached at the earliest step-1 event at or after the first exposure,
    /// step j at the earliest step-j event at or after step j − 1 was reached,
    /// both no later than the window's end. Per unit: 1 when the last step is
    /// reached, else 0; results also give each step's units and its conversion
    /// from the step before.
    Funnel {
        /// The steps, in order (2 to 20): an event name with optional filters each.
        #[schema(min_items = 2, max_items = 20)]
        steps: Vec<EventSelector>,
        /// How long after first exposure the last step may be reached, in hours.
        #[schema(minimum = 1, maximum = 4294967295_u64)]
        window_hours: u32,
    },
}

impl MetricDefinition {
    /// The kind as stored and filtered on (`conversion`, `sum`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Conversion { .. } => "conversion",
            Self::Count { .. } => "count",
            Self::Sum { .. } => "sum",
            Self::Mean { .. } => "mean",
            Self::Ratio { .. } => "ratio",
            Self::Retention { .. } => "retention",
            Self::Nps { .. } => "nps",
            Self::Funnel { .. } => "funnel",
        }
    }

    /// Every event name the metric reads.
    pub fn event_names(&self) -> Vec<&str> {
        match self {
            Self::Conversion { event, .. }
            | Self::Count { event, .. }
            | Self::Mean { event, .. }
            | Self::Nps { event } => vec![event.as_str()],
            Self::Sum {
                event, subtract, ..
            } => std::iter::once(event.as_str())
                .chain(subtract.as_ref().map(|s| s.event.as_str()))
                .collect(),
            Self::Funnel { steps, .. } => steps.iter().map(|s| s.event.as_str()).collect(),
            Self::Ratio {
                numerator,
                denominator,
            } => vec![numerator.event.as_str(), denominator.event.as_str()],
            Self::Retention { events, .. } => events.iter().map(String::as_str).collect(),
        }
    }
}

/// A catalogue entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    /// Slug.
    pub key: String,
    /// Display name.
    pub name: String,
    /// What it measures, for humans.
    pub description: String,
    /// Which direction is an improvement.
    pub direction: Direction,
    /// How it is computed.
    pub definition: MetricDefinition,
    /// The data source it is computed on (`None`: Verdict's own events).
    pub data_source: Option<String>,
    /// When it was created (UTC).
    pub created_at: NaiveDateTime,
    /// When it last changed (UTC).
    pub updated_at: NaiveDateTime,
}

fn check_event(field: &str, name: &str, errors: &mut Vec<FieldError>) {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'));
    if !ok {
        errors.push(FieldError::new(
            field,
            "event names are 1–128 characters of [A-Za-z0-9_.:-]",
        ));
    }
}

fn check_filters(field: &str, filters: &[PropertyFilter], errors: &mut Vec<FieldError>) {
    for (i, f) in filters.iter().enumerate() {
        if f.property.trim().is_empty() {
            errors.push(FieldError::new(
                format!("{field}[{i}].property"),
                "must not be empty",
            ));
        }
        let ok = match f.op {
            FilterOp::In => f.value.is_array(),
            FilterOp::Gt | FilterOp::Gte | FilterOp::Lt | FilterOp::Lte => f.value.is_number(),
            FilterOp::Eq | FilterOp::Neq => {
                f.value.is_string() || f.value.is_number() || f.value.is_boolean()
            }
        };
        if !ok {
            errors.push(FieldError::new(
                format!("{field}[{i}].value"),
                "`in` takes an array, `gt`/`gte`/`lt`/`lte` a number, `eq`/`neq` a string, number or boolean",
            ));
        }
    }
}

fn check_percentile(field: &str, p: Option<f64>, errors: &mut Vec<FieldError>) {
    if let Some(p) = p
        && !(p > 0.0 && p < 100.0)
    {
        errors.push(FieldError::new(
            field,
            "winsorize_percentile must be between 0 and 100 (exclusive), e.g. 99",
        ));
    }
}

/// Most steps a funnel may have.
pub const MAX_FUNNEL_STEPS: usize = 20;

/// Checks a metric's key, name and definition; returns every problem found.
pub fn validate_metric(
    key: &str,
    name: &str,
    definition: &MetricDefinition,
) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if !verdict_core::is_slug(key) {
        errors.push(FieldError::new(
            "key",
            "must be a slug: 1–64 characters of [a-z0-9_-], starting with a letter or digit",
        ));
    }
    if name.trim().is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "must be 1–200 characters"));
    }
    let d = "definition";
    match definition {
        MetricDefinition::Conversion {
            event,
            filters,
            window_hours,
        } => {
            check_event(&format!("{d}.event"), event, &mut errors);
            check_filters(&format!("{d}.filters"), filters, &mut errors);
            if *window_hours == Some(0) {
                errors.push(FieldError::new(
                    format!("{d}.window_hours"),
                    "must be at least 1 (omit it for no limit)",
                ));
            }
        }
        MetricDefinition::Count { event, filters } => {
            check_event(&format!("{d}.event"), event, &mut errors);
            check_filters(&format!("{d}.filters"), filters, &mut errors);
        }
        MetricDefinition::Sum {
            event,
            filters,
            subtract,
            winsorize_percentile,
        } => {
            check_event(&format!("{d}.event"), event, &mut errors);
            check_filters(&format!("{d}.filters"), filters, &mut errors);
            if let Some(sel) = subtract {
                check_event(&format!("{d}.subtract.event"), &sel.event, &mut errors);
                check_filters(&format!("{d}.subtract.filters"), &sel.filters, &mut errors);
            }
            check_percentile(
                &format!("{d}.winsorize_percentile"),
                *winsorize_percentile,
                &mut errors,
            );
        }
        MetricDefinition::Mean {
            event,
            filters,
            winsorize_percentile,
        } => {
            check_event(&format!("{d}.event"), event, &mut errors);
            check_filters(&format!("{d}.filters"), filters, &mut errors);
            check_percentile(
                &format!("{d}.winsorize_percentile"),
                *winsorize_percentile,
                &mut errors,
            );
        }
        MetricDefinition::Ratio {
            numerator,
            denominator,
        } => {
            for (part, sel) in [("numerator", numerator), ("denominator", denominator)] {
                check_event(&format!("{d}.{part}.event"), &sel.event, &mut errors);
                check_filters(&format!("{d}.{part}.filters"), &sel.filters, &mut errors);
            }
        }
        MetricDefinition::Retention {
            events,
            from_day,
            to_day,
        } => {
            if events.is_empty() {
                errors.push(FieldError::new(
                    format!("{d}.events"),
                    "name at least one event",
                ));
            }
            for (i, e) in events.iter().enumerate() {
                check_event(&format!("{d}.events[{i}]"), e, &mut errors);
            }
            if from_day >= to_day {
                errors.push(FieldError::new(
                    format!("{d}.to_day"),
                    format!("to_day ({to_day}) must be greater than from_day ({from_day})"),
                ));
            }
        }
        MetricDefinition::Nps { event } => check_event(&format!("{d}.event"), event, &mut errors),
        MetricDefinition::Funnel {
            steps,
            window_hours,
        } => {
            if !(2..=MAX_FUNNEL_STEPS).contains(&steps.len()) {
                errors.push(FieldError::new(
                    format!("{d}.steps"),
                    format!(
                        "a funnel has 2 to {MAX_FUNNEL_STEPS} steps, got {}",
                        steps.len()
                    ),
                ));
            }
            for (i, step) in steps.iter().enumerate() {
                check_event(&format!("{d}.steps[{i}].event"), &step.event, &mut errors);
                check_filters(
                    &format!("{d}.steps[{i}].filters"),
                    &step.filters,
                    &mut errors,
                );
            }
            if *window_hours == 0 {
                errors.push(FieldError::new(
                    format!("{d}.window_hours"),
                    "must be at least 1",
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_match_without_coercion() {
        let props = json!({"auto_topup": true, "stars": 50, "tier": "vip"});
        let props = props.as_object().expect("object");
        let f = |op, value| PropertyFilter {
            property: "x".into(),
            op,
            value,
        };
        let cases = [
            ("auto_topup", FilterOp::Eq, json!(true), true),
            ("auto_topup", FilterOp::Eq, json!("true"), false),
            ("stars", FilterOp::Gte, json!(50), true),
            ("stars", FilterOp::Lt, json!(50.0), false),
            ("tier", FilterOp::In, json!(["pro", "vip"]), true),
            ("tier", FilterOp::Neq, json!("vip"), false),
            ("missing", FilterOp::Neq, json!("vip"), false),
        ];
        for (property, op, value, expected) in cases {
            let filter = PropertyFilter {
                property: property.into(),
                ..f(op, value)
            };
            assert_eq!(filter.matches(props), expected, "{filter:?}");
        }
    }

    #[test]
    fn validation_lists_every_problem() {
        let def = MetricDefinition::Retention {
            events: vec!["bad name".into()],
            from_day: 7,
            to_day: 7,
        };
        let errors = validate_metric("Bad Key", "", &def).expect_err("invalid");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["key", "name", "definition.events[0]", "definition.to_day"]
        );
    }
}
