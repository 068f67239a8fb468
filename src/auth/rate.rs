//! A per-key token bucket (events per Mini App user): each key may spend up
//! to a minute's allowance at once and regains it continuously. Kept in this
//! replica's memory, so behind N replicas a user gets up to N times the rate;
//! the limit is a guard against a runaway or hostile page, not billing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys tracked; the oldest half is dropped when full.
const CAPACITY: usize = 100_000;

/// Token buckets by key.
pub struct RateLimiter {
    per_minute: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `per_minute` tokens per key and minute (at least 1).
    pub fn per_minute(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The allowance per key and minute.
    pub fn allowance(&self) -> u32 {
        self.per_minute as u32
    }

    /// Takes `n` tokens from `key`'s bucket at `now`; when there are not
    /// enough, takes none and says how long until there will be (`None`:
    /// `n` is more than a minute's allowance, which never fits).
    pub fn take(&self, key: &str, n: usize, now: Instant) -> Result<(), Option<Duration>> {
        let n = n as f64;
        if n > self.per_minute {
            return Err(None);
        }
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() >= CAPACITY && !buckets.contains_key(key) {
            let mut ages: Vec<Instant> = buckets.values().map(|b| b.at).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            buckets.retain(|_, b| b.at > cutoff);
        }
        let rate = self.per_minute / 60.0;
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.per_minute,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(self.per_minute);
        bucket.at = now;
        if bucket.tokens >= n {
            bucket.tokens -= n;
            Ok(())
        } else {
            Err(Some(Duration::from_secs_f64((n - bucket.tokens) / rate)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_spend_refill_and_stay_separate() {
        let limiter = RateLimiter::per_minute(60);
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(limiter.take("u1", 50, at(0)), Ok(()));
        assert_eq!(
            limiter.take("u1", 20, at(0)),
            Err(Some(Duration::from_secs(10)))
        );
        assert_eq!(
            limiter.take("u2", 60, at(0)),
            Ok(()),
            "another key has its own"
        );
        assert_eq!(
            limiter.take("u1", 20, at(10)),
            Ok(()),
            "refilled one per second"
        );
        assert_eq!(
            limiter.take("u1", 1, at(10)),
            Err(Some(Duration::from_secs(1)))
        );
        assert_eq!(
            limiter.take("u1", 60, at(1000)),
            Ok(()),
            "never more than a minute's worth"
        );
        assert_eq!(
            limiter.take("u1", 1, at(1000)),
            Err(Some(Duration::from_secs(1)))
        );
        assert_eq!(
            limiter.take("u3", 61, at(0)),
            Err(None),
            "more than a minute's allowance"
        );
    }
}
