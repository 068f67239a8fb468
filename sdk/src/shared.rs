//! State shared by client handles and the background tasks.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use tokio::sync::{Notify, watch};

use crate::config::Config;
use crate::dedupe::ExposureCache;
use crate::event::{EventRecord, ExposureRecord};
use crate::metrics::{Metrics, RefreshCounters};
use crate::queue::Queue;
use crate::snapshot::Snapshot;
use crate::transport::Transport;

/// Everything the client and its tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) transport: Transport,
    /// Current ruleset; `None` until bootstrap or the first download.
    pub(crate) snapshot: ArcSwapOption<Snapshot>,
    /// Flips to `true` once a snapshot is installed.
    pub(crate) ready: watch::Sender<bool>,
    pub(crate) events: Queue<EventRecord>,
    pub(crate) exposures: Queue<ExposureRecord>,
    /// Wakes the flusher when a queue reaches a full batch.
    pub(crate) wake: Notify,
    pub(crate) seen: ExposureCache,
    pub(crate) refresh: RefreshCounters,
}

impl Shared {
    pub(crate) fn new(config: Config, transport: Transport) -> Self {
        Self {
            events: Queue::new(config.queue_capacity),
            exposures: Queue::new(config.queue_capacity),
            seen: ExposureCache::new(config.exposure_cache_size),
            snapshot: ArcSwapOption::empty(),
            ready: watch::Sender::new(false),
            wake: Notify::new(),
            refresh: RefreshCounters::default(),
            config,
            transport,
        }
    }

    /// Makes `snapshot` the one evaluations use.
    pub(crate) fn install(&self, snapshot: Snapshot) {
        self.snapshot.store(Some(Arc::new(snapshot)));
        self.ready.send_replace(true);
    }

    /// Wakes the flusher if a queue holds a full batch.
    pub(crate) fn queued(&self, len: usize) {
        if len >= self.config.batch_size {
            self.wake.notify_one();
        }
    }

    /// A copy of all counters.
    pub(crate) fn metrics(&self) -> Metrics {
        let mut m = Metrics {
            events: self.events.counters.snapshot(),
            exposures: self.exposures.counters.snapshot(),
            ..Metrics::default()
        };
        self.refresh.fill(&mut m);
        m
    }
}
