//! Outgoing notifications: an outbox written in the same transaction as the
//! change it reports, delivered by a background task per channel (HMAC-signed
//! JSON POSTs to a webhook, or Telegram messages) with exponential backoff,
//! and a delivery log.

mod dispatch;
mod signature;
mod store;
mod telegram;

pub use dispatch::{Dispatcher, WebhookSettings};
pub use signature::sign;
pub use store::{
    Channel, Delivery, DeliveryStatus, Event, enqueue, enqueue_telegram, list as list_deliveries,
};
pub use telegram::{BotToken, TelegramBot};
