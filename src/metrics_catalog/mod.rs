//! The metric catalogue: metrics defined over events, each with the direction
//! that counts as an improvement.

mod model;
pub mod semantics;
mod store;

pub use model::{
    Direction, EventSelector, FilterOp, Metric, MetricDefinition, PropertyFilter, validate_metric,
};
pub use semantics::metric_spec;
pub(crate) use store::existing_keys;
pub use store::{create, delete, get, list, metric_exists, update};
