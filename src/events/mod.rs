//! Event ingestion: per-event validation and the batched, idempotent store.
//!
//! Events are keyed by their client-chosen `event_id`: storing an event whose id
//! is already known does nothing, so a retried batch never double counts.

mod store;
mod validate;

pub use store::insert_batch;
pub use validate::{IngestLimits, NewEvent, RawEvent, dedupe};
