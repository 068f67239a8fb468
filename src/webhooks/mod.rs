//! Outgoing notifications: an outbox written in the same transaction as the
//! change it reports, delivered by a background task as HMAC-signed JSON POSTs
//! with exponential backoff, and a delivery log.

mod dispatch;
mod signature;
mod store;

pub use dispatch::{Dispatcher, WebhookSettings};
pub use signature::sign;
pub use store::{Delivery, DeliveryStatus, Event, enqueue, list as list_deliveries};
