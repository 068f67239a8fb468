//! The metric catalogue: metrics defined over events, each with the direction
//! that counts as an improvement.

mod model;
mod store;
mod unit_values;

pub use model::{
    Direction, EventSelector, FilterOp, Metric, MetricDefinition, PropertyFilter, validate_metric,
};
pub(crate) use store::existing_keys;
pub use store::{create, delete, get, list, metric_exists, update};
pub use unit_values::{UnitValue, arm_data, metric_spec, unit_values};
