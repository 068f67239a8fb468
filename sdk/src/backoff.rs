//! Retry delays: exponential backoff with jitter.

use std::time::Duration;

use rand::Rng;

use crate::config::Backoff;

impl Backoff {
    /// The delay before retry number `attempt` (0 = first retry): a random
    /// duration in `[d/2, d]` where `d = min(base·2^attempt, max)`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        let low = ceiling_ms / 2;
        let ms = if ceiling_ms > low {
            rand::rng().random_range(low..=ceiling_ms)
        } else {
            ceiling_ms
        };
        Duration::from_millis(ms)
    }

    /// `min(base·2^attempt, max)` without overflow.
    fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_bounds_and_caps() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        for attempt in 0..40 {
            let ceiling = b.ceiling(attempt);
            assert!(ceiling <= b.max);
            for _ in 0..20 {
                let d = b.delay(attempt);
                assert!(d <= ceiling && d >= ceiling / 2, "{attempt}: {d:?}");
            }
        }
        assert_eq!(b.ceiling(0), Duration::from_millis(100));
        assert_eq!(b.ceiling(3), Duration::from_millis(800));
        assert_eq!(b.ceiling(5), Duration::from_secs(2));
    }
}
