//! The in-memory ruleset snapshot the evaluation hot path reads: immutable,
//! swapped whole on change, refreshed from the database by version polling.

mod load;
mod rendered;
mod snapshot;

pub use load::load_snapshot;
pub use rendered::{RenderedFlags, ofrep_error_details, write_json_str};
pub use snapshot::{EnvironmentSnapshot, Snapshot, Snapshots};
