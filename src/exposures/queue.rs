//! The exposure queue: never blocks evaluation; a background task batches,
//! deduplicates and writes, retrying while the database is unavailable.
//!
//! Evaluation appends to a shared buffer under a short lock and wakes nobody
//! (a channel send per exposure woke the writer task across threads tens of
//! thousands of times a second); the writer drains the buffer on a timer, or
//! early when a full batch is waiting.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{IntCounter, Registry};
use tokio::sync::{Notify, mpsc, oneshot};

use super::{ExposureRecord, insert_batch};
use crate::db::Db;

/// How many exposures may wait in memory before new ones are dropped.
const QUEUE_CAPACITY: usize = 200_000;
/// Wake the writer early when this many are waiting…
const BATCH_SIZE: usize = 50_000;
/// …else it writes this often. Larger batches share index pages: exposures of
/// new units are random-key inserts, a page write each when written alone.
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Exposures remembered as already written, to skip re-inserting them.
const SEEN_CAPACITY: usize = 200_000;

struct Shared {
    pending: Mutex<Vec<ExposureRecord>>,
    batch_ready: Notify,
    dropped: IntCounter,
}

/// Handle for queueing exposures; cheap to clone.
#[derive(Clone)]
pub struct ExposureSink {
    shared: Arc<Shared>,
    flushes: mpsc::Sender<oneshot::Sender<()>>,
}

impl ExposureSink {
    /// Starts the writer task on the current tokio runtime and registers the
    /// `verdict_exposures_dropped_total` counter.
    pub fn spawn(db: Db, registry: &Registry) -> Self {
        let dropped = IntCounter::new(
            "verdict_exposures_dropped_total",
            "Exposures dropped because the queue was full",
        )
        .expect("valid counter definition");
        if let Err(e) = registry.register(Box::new(dropped.clone())) {
            tracing::warn!(error = %e, "exposure drop counter not registered");
        }
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::new()),
            batch_ready: Notify::new(),
            dropped,
        });
        let (flushes, rx) = mpsc::channel(16);
        tokio::spawn(run(db, Arc::clone(&shared), rx));
        Self { shared, flushes }
    }

    /// Queues an exposure without waiting; drops it (and counts it) when full.
    pub fn record(&self, record: ExposureRecord) {
        let waiting = match self.shared.pending.lock() {
            Ok(mut pending) if pending.len() < QUEUE_CAPACITY => {
                pending.push(record);
                pending.len()
            }
            _ => {
                self.shared.dropped.inc();
                return;
            }
        };
        if waiting == BATCH_SIZE {
            self.shared.batch_ready.notify_one();
        }
    }

    /// Waits until everything queued before this call has been written (or
    /// the writer gave up on a failing database for now).
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.flushes.send(ack).await.is_ok() {
            let _ = done.await;
        }
    }
}

async fn run(db: Db, shared: Arc<Shared>, mut flushes: mpsc::Receiver<oneshot::Sender<()>>) {
    let mut unwritten: Vec<ExposureRecord> = Vec::new();
    let mut seen: HashSet<u128> = HashSet::new();
    let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
    loop {
        let (ack, last) = tokio::select! {
            ack = flushes.recv() => match ack {
                Some(ack) => (Some(ack), false),
                None => (None, true),
            },
            () = shared.batch_ready.notified() => (None, false),
            _ = ticker.tick() => (None, false),
        };
        let taken = shared
            .pending
            .lock()
            .map(|mut pending| std::mem::take(&mut *pending))
            .unwrap_or_default();
        for record in taken {
            if seen.len() >= SEEN_CAPACITY {
                seen.clear();
            }
            if seen.insert(identity(&record)) {
                unwritten.push(record);
            }
        }
        if !write(&db, &mut unwritten).await {
            // Not written: let a later batch retry them.
            seen.clear();
        }
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
        if last {
            return;
        }
    }
}

/// A collision-free-in-practice key for (experiment, phase, unit).
fn identity(r: &ExposureRecord) -> u128 {
    let mut bytes = Vec::with_capacity(r.experiment_key.len() + r.unit_id.len() + 6);
    bytes.extend_from_slice(r.experiment_key.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(&r.phase.to_le_bytes());
    bytes.push(0);
    bytes.extend_from_slice(r.unit_id.as_bytes());
    xxhash_rust::xxh3::xxh3_128(&bytes)
}

/// Writes `unwritten` in key order; on failure keeps them (up to the queue's
/// capacity) for the next attempt. Whether the write succeeded.
async fn write(db: &Db, unwritten: &mut Vec<ExposureRecord>) -> bool {
    if unwritten.is_empty() {
        return true;
    }
    let mut batch = std::mem::take(unwritten);
    // In key order, consecutive rows land on the same index pages.
    batch.sort_unstable_by(|a, b| {
        (&a.experiment_key, a.phase, &a.unit_id).cmp(&(&b.experiment_key, b.phase, &b.unit_id))
    });
    let batch = Arc::new(batch);
    let result = {
        let batch = Arc::clone(&batch);
        db.run(move |conn| insert_batch(conn, &batch)).await
    };
    match result {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(error = %e, count = batch.len(), "cannot write exposures; will retry");
            let mut batch = Arc::try_unwrap(batch).unwrap_or_else(|shared| (*shared).clone());
            batch.truncate(QUEUE_CAPACITY);
            *unwritten = batch;
            false
        }
    }
}
