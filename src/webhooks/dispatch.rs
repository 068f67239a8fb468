//! The background sender: claims due deliveries, POSTs them signed, and
//! schedules retries with exponential backoff and jitter.

use std::time::Duration;

use chrono::Utc;
use rand::Rng;

use super::sign;
use super::store::{Delivery, claim_due, record_attempt};
use crate::db::Db;

/// Where and how notifications are sent.
#[derive(Debug, Clone)]
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

/// Sends due deliveries.
pub struct Dispatcher {
    db: Db,
    settings: WebhookSettings,
    client: reqwest::Client,
}

impl Dispatcher {
    /// A dispatcher for `settings`.
    pub fn new(db: Db, settings: WebhookSettings) -> Self {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .build()
            .unwrap_or_default();
        Self {
            db,
            settings,
            client,
        }
    }

    /// Sends what is due every `interval`, forever.
    pub async fn run(self, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        loop {
            ticker.tick().await;
            if let Err(e) = self.deliver_due().await {
                tracing::warn!(error = %e, "webhook dispatch failed; will retry");
            }
        }
    }

    /// Claims and sends every due delivery once; returns how many were attempted.
    pub async fn deliver_due(&self) -> Result<usize, crate::db::DbError> {
        let lease = chrono::Duration::from_std(self.settings.timeout * 2)
            .unwrap_or(chrono::Duration::seconds(60));
        let due = self.db.run(move |conn| claim_due(conn, 50, lease)).await?;
        let count = due.len();
        for delivery in due {
            self.attempt(delivery).await?;
        }
        Ok(count)
    }

    async fn attempt(&self, delivery: Delivery) -> Result<(), crate::db::DbError> {
        let signature = sign(self.settings.secret.as_bytes(), delivery.payload.as_bytes());
        let response = self
            .client
            .post(&self.settings.url)
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
        let attempts = delivery.attempts + 1;
        let retry_at = match &error {
            Some(_) if attempts < self.settings.max_attempts => {
                let backoff = self.backoff(attempts);
                Some(
                    Utc::now().naive_utc()
                        + chrono::Duration::from_std(backoff).unwrap_or_default(),
                )
            }
            _ => None,
        };
        if let Some(e) = &error {
            tracing::warn!(delivery = delivery.id, attempts, error = %e, "webhook delivery failed");
        }
        let id = delivery.id;
        self.db
            .run(move |conn| record_attempt(conn, id, status, error, retry_at))
            .await
    }

    /// Exponential backoff with full jitter in [base·2^(n−1)/2, base·2^(n−1)].
    fn backoff(&self, attempts: i32) -> Duration {
        let exp = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let full = self
            .settings
            .base_backoff
            .saturating_mul(2u32.saturating_pow(exp))
            .min(Duration::from_secs(3600));
        let half = full / 2;
        half + full
            .saturating_sub(half)
            .mul_f64(rand::rng().random::<f64>())
    }
}
