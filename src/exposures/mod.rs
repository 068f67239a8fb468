//! Experiment exposures: the first time a unit is served a variant of a running
//! experiment's phase. Evaluation queues them; a background task writes batches.

mod queue;
mod store;

pub use queue::ExposureSink;
pub use store::{ExposureRecord, dimensions_json, insert_batch};
