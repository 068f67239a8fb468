//! The exposure queue: never blocks evaluation; a background task batches,
//! deduplicates and writes, retrying while the database is unavailable.

use std::collections::HashSet;
use std::time::Duration;

use prometheus::{IntCounter, Registry};
use tokio::sync::{mpsc, oneshot};

use super::{ExposureRecord, insert_batch};
use crate::db::Db;

/// How many exposures may wait in memory before new ones are dropped.
const QUEUE_CAPACITY: usize = 100_000;
/// Flush when this many are pending…
const BATCH_SIZE: usize = 1000;
/// …or this often.
const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// Units remembered as already queued, to skip re-inserting them.
const SEEN_CAPACITY: usize = 200_000;

enum Command {
    Record(ExposureRecord),
    Flush(oneshot::Sender<()>),
}

/// Handle for queueing exposures; cheap to clone.
#[derive(Clone)]
pub struct ExposureSink {
    tx: mpsc::Sender<Command>,
    dropped: IntCounter,
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
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        tokio::spawn(run(db, rx));
        Self { tx, dropped }
    }

    /// Queues an exposure without waiting; drops it (and counts it) when full.
    pub fn record(&self, record: ExposureRecord) {
        if self.tx.try_send(Command::Record(record)).is_err() {
            self.dropped.inc();
        }
    }

    /// Waits until everything queued before this call has been written (or
    /// the writer gave up on a failing database for now).
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Command::Flush(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<Command>) {
    let mut pending: Vec<ExposureRecord> = Vec::new();
    let mut seen: HashSet<(String, i32, String)> = HashSet::new();
    let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
    loop {
        let ack = tokio::select! {
            command = rx.recv() => match command {
                Some(Command::Record(record)) => {
                    let key = (record.experiment_key.clone(), record.phase, record.unit_id.clone());
                    if seen.len() >= SEEN_CAPACITY {
                        seen.clear();
                    }
                    if seen.insert(key) {
                        pending.push(record);
                    }
                    if pending.len() < BATCH_SIZE {
                        continue;
                    }
                    None
                }
                Some(Command::Flush(ack)) => Some(ack),
                None => {
                    write(&db, &mut pending).await;
                    return;
                }
            },
            _ = ticker.tick() => None,
        };
        write(&db, &mut pending).await;
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
    }
}

async fn write(db: &Db, pending: &mut Vec<ExposureRecord>) {
    if pending.is_empty() {
        return;
    }
    let batch = std::mem::take(pending);
    let result = {
        let batch = batch.clone();
        db.run(move |conn| insert_batch(conn, &batch)).await
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, count = batch.len(), "cannot write exposures; will retry");
        let keep = QUEUE_CAPACITY.saturating_sub(pending.len());
        pending.splice(0..0, batch.into_iter().take(keep));
    }
}
