//! The background senders, one per channel: each claims its channel's due
//! deliveries, sends them (a signed webhook POST, or a Telegram `sendMessage`),
//! and schedules retries with exponential backoff and jitter, or after the
//! delay Telegram's flood control asks for.

use std::time::Duration;

use chrono::Utc;
use rand::Rng;

use super::sign;
use super::store::{Channel, Delivery, claim_due, record_attempt};
use super::telegram::{TelegramBot, read_answer};
use crate::db::Db;

/// Where and how notifications are sent (`Debug` hides the secret).
#[derive(Clone)]
pub struct WebhookSettings {
    /// The receiver's URL.
    pub url: String,
    /// HMAC key for `X-Verdict-Signature`.
    pub secret: String,
    /// Attempts before a delivery is marked failed.
    pub max_attempts: i32,
    /// Backoff before the second attempt; doubles each time (capped at one hour).
    pub base_backoff: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("url", &self.url)
            .field("secret", &"***")
            .field("max_attempts", &self.max_attempts)
            .field("base_backoff", &self.base_backoff)
            .field("timeout", &self.timeout)
            .finish()
    }
}

enum Target {
    Webhook { url: String, secret: String },
    Telegram(TelegramBot),
}

/// What one attempt came to.
struct Outcome {
    status: Option<u16>,
    error: Option<String>,
    /// The receiver's own wait before the next attempt (Telegram's 429).
    retry_after: Option<Duration>,
}

/// Sends due deliveries of one channel.
pub struct Dispatcher {
    db: Db,
    target: Target,
    max_attempts: i32,
    base_backoff: Duration,
    timeout: Duration,
    client: reqwest::Client,
}

impl Dispatcher {
    /// A dispatcher of webhook deliveries for `settings`.
    pub fn new(db: Db, settings: WebhookSettings) -> Self {
        let WebhookSettings {
            url,
            secret,
            max_attempts,
            base_backoff,
            timeout,
        } = settings;
        Self::with(
            db,
            Target::Webhook { url, secret },
            max_attempts,
            base_backoff,
            timeout,
        )
    }

    /// A dispatcher of Telegram deliveries, sent as `bot`.
    pub fn telegram(db: Db, bot: TelegramBot) -> Self {
        let (max_attempts, base_backoff, timeout) =
            (bot.max_attempts, bot.base_backoff, bot.timeout);
        Self::with(
            db,
            Target::Telegram(bot),
            max_attempts,
            base_backoff,
            timeout,
        )
    }

    fn with(
        db: Db,
        target: Target,
        max_attempts: i32,
        base_backoff: Duration,
        timeout: Duration,
    ) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Self {
            db,
            target,
            max_attempts,
            base_backoff,
            timeout,
            client,
        }
    }

    fn channel(&self) -> Channel {
        match self.target {
            Target::Webhook { .. } => Channel::Webhook,
            Target::Telegram(_) => Channel::Telegram,
        }
    }

    /// Sends what is due every `interval`, forever.
    pub async fn run(self, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        loop {
            ticker.tick().await;
            if let Err(e) = self.deliver_due().await {
                tracing::warn!(channel = self.channel().as_str(), error = %e, "dispatch failed; will retry");
            }
        }
    }

    /// Claims and sends every due delivery of this channel once; returns how
    /// many were attempted.
    pub async fn deliver_due(&self) -> Result<usize, crate::db::DbError> {
        let lease =
            chrono::Duration::from_std(self.timeout * 2).unwrap_or(chrono::Duration::seconds(60));
        let channel = self.channel();
        let due = self
            .db
            .run(move |conn| claim_due(conn, channel, 50, lease))
            .await?;
        let count = due.len();
        for delivery in due {
            self.attempt(delivery).await?;
        }
        Ok(count)
    }

    async fn attempt(&self, delivery: Delivery) -> Result<(), crate::db::DbError> {
        let outcome = match &self.target {
            Target::Webhook { url, secret } => self.post_webhook(url, secret, &delivery).await,
            Target::Telegram(bot) => self.post_telegram(bot, &delivery).await,
        };
        let attempts = delivery.attempts + 1;
        let retry_at = match &outcome.error {
            Some(_) if attempts < self.max_attempts => {
                let wait = outcome
                    .retry_after
                    .unwrap_or_else(|| self.backoff(attempts));
                Some(Utc::now().naive_utc() + chrono::Duration::from_std(wait).unwrap_or_default())
            }
            _ => None,
        };
        if let Some(e) = &outcome.error {
            tracing::warn!(
                channel = self.channel().as_str(),
                delivery = delivery.id,
                attempts,
                error = %e,
                "delivery failed"
            );
        }
        let (id, status, error) = (delivery.id, outcome.status, outcome.error);
        self.db
            .run(move |conn| record_attempt(conn, id, status, error, retry_at))
            .await
    }

    async fn post_webhook(&self, url: &str, secret: &str, delivery: &Delivery) -> Outcome {
        let signature = sign(secret.as_bytes(), delivery.payload.as_bytes());
        let response = self
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-Verdict-Event", &delivery.event)
            .header("X-Verdict-Delivery", delivery.id.to_string())
            .header("X-Verdict-Signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await;
        let (status, error) = match response {
            Ok(r) if r.status().is_success() => (Some(r.status().as_u16()), None),
            Ok(r) => (
                Some(r.status().as_u16()),
                Some(format!("receiver answered {}", r.status())),
            ),
            Err(e) => (None, Some(format!("request failed: {e}"))),
        };
        Outcome {
            status,
            error,
            retry_after: None,
        }
    }

    async fn post_telegram(&self, bot: &TelegramBot, delivery: &Delivery) -> Outcome {
        let response = self
            .client
            .post(bot.send_message_url())
            .header("Content-Type", "application/json")
            .body(delivery.payload.clone())
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            // The URL holds the token: it must not reach the log or the delivery log.
            Err(e) => {
                return Outcome {
                    status: None,
                    error: Some(format!("request failed: {}", e.without_url())),
                    retry_after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap_or_default();
        let refusal = read_answer(status, &body).err();
        Outcome {
            status: Some(status),
            retry_after: refusal.as_ref().and_then(|r| r.retry_after),
            error: refusal.map(|r| r.error),
        }
    }

    /// Exponential backoff with full jitter in [base·2^(n−1)/2, base·2^(n−1)].
    fn backoff(&self, attempts: i32) -> Duration {
        let exp = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let full = self
            .base_backoff
            .saturating_mul(2u32.saturating_pow(exp))
            .min(Duration::from_secs(3600));
        let half = full / 2;
        half + full
            .saturating_sub(half)
            .mul_f64(rand::rng().random::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let settings = WebhookSettings {
            url: "https://hooks.example/verdict".into(),
            secret: "whsec-do-not-print".into(),
            max_attempts: 3,
            base_backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(2),
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("whsec-do-not-print"), "{shown}");
        assert!(shown.contains("hooks.example"));
    }
}
