//! Telegram digest and alerts: the daily digest of running experiments and
//! the alerts of scheduled snapshots, rendered as Telegram HTML and queued in
//! the outbox's Telegram channel, which retries them like webhooks.

mod html;
mod message;
mod run;
mod schedule;

use chrono::NaiveTime;

use crate::webhooks::TelegramBot;

pub use message::{
    DigestEntry, LatestRecommendation, Presentation, deadline_alert, digest, guardrail_alert,
    srm_alert,
};
pub use run::{DigestPass, digest_pass, gather, run_digest};
pub use schedule::DigestSchedule;

/// The chat alerts and digests go to, and how they show times and links.
#[derive(Debug, Clone, PartialEq)]
pub struct TelegramChat {
    /// Chat id, or `@channel` name.
    pub chat: String,
    /// Console links and time zone.
    pub view: Presentation,
}

/// What `VERDICT_TELEGRAM_DIGEST_*` configure.
#[derive(Debug, Clone)]
pub struct TelegramSettings {
    /// The bot that sends.
    pub bot: TelegramBot,
    /// Where to.
    pub chat: TelegramChat,
    /// The digest's local time of day (in the chat's time zone).
    pub digest_at: NaiveTime,
}

impl TelegramSettings {
    /// When the digest is due.
    pub fn schedule(&self) -> DigestSchedule {
        DigestSchedule {
            at: self.digest_at,
            tz: self.chat.view.tz,
        }
    }
}
