//! Delivery and refresh counters, readable through [`Client::metrics`](crate::Client::metrics).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Monotonic counters of one outgoing stream (events or exposures).
#[derive(Debug, Default)]
pub(crate) struct StreamCounters {
    pub(crate) queued: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) duplicates: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) retries: AtomicU64,
}

impl StreamCounters {
    pub(crate) fn snapshot(&self) -> StreamMetrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StreamMetrics {
            queued: get(&self.queued),
            dropped: get(&self.dropped),
            sent: get(&self.sent),
            duplicates: get(&self.duplicates),
            rejected: get(&self.rejected),
            failed: get(&self.failed),
            retries: get(&self.retries),
        }
    }
}

/// Adds `n` to a counter.
pub(crate) fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Counters of one outgoing stream since the client started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StreamMetrics {
    /// Items accepted into the in-memory queue.
    pub queued: u64,
    /// Items dropped because the queue was full (oldest first).
    pub dropped: u64,
    /// Items the service stored (exposures: units exposed for the first time).
    pub sent: u64,
    /// Items the service already had (a re-send after a lost response;
    /// exposures: units already exposed).
    pub duplicates: u64,
    /// Items the service rejected individually (invalid fields).
    pub rejected: u64,
    /// Items dropped because the service refused their whole batch (4xx)
    /// or `close()` could not deliver them in time.
    pub failed: u64,
    /// Failed delivery attempts that were retried later.
    pub retries: u64,
}

/// Ruleset refresh counters.
#[derive(Debug, Default)]
pub(crate) struct RefreshCounters {
    pub(crate) updates: AtomicU64,
    pub(crate) not_modified: AtomicU64,
    pub(crate) errors: AtomicU64,
}

/// A point-in-time copy of the client's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Metrics {
    /// Tracked events.
    pub events: StreamMetrics,
    /// Experiment exposures.
    pub exposures: StreamMetrics,
    /// Ruleset downloads that replaced the snapshot.
    pub config_updates: u64,
    /// Ruleset checks answered `304 Not Modified`.
    pub config_not_modified: u64,
    /// Failed ruleset downloads (the last known ruleset stays in use).
    pub config_errors: u64,
}

impl RefreshCounters {
    pub(crate) fn fill(&self, m: &mut Metrics) {
        m.config_updates = self.updates.load(Ordering::Relaxed);
        m.config_not_modified = self.not_modified.load(Ordering::Relaxed);
        m.config_errors = self.errors.load(Ordering::Relaxed);
    }
}
