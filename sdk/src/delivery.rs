//! The flusher task: sends queued exposures and events in batches, on a
//! timer or when a batch is full, retrying failures with backoff. Batches
//! that fail with a retryable error go back to the front of their queue
//! unchanged, so retries carry the same `event_id`s.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};

use crate::error::Error;
use crate::event::{EventRecord, ExposureRecord};
use crate::metrics::add;
use crate::queue::Queue;
use crate::shared::Shared;
use crate::transport::{EVENTS_PATH, EXPOSURES_PATH};

/// A request from the client to the flusher.
#[derive(Debug)]
pub(crate) enum Command {
    /// Deliver everything queued now (within the flush timeout).
    Flush(oneshot::Sender<Result<(), Error>>),
    /// Deliver what is possible, drop the rest, and stop.
    Close(oneshot::Sender<Result<(), Error>>),
}

/// Outcome of one delivery attempt of a batch.
enum Sent {
    /// Delivered, or refused for good (dropped and counted).
    Done,
    /// Retryable failure: the batch is back in its queue.
    Retry(Error),
}

/// Runs until a `Close` command or until every client handle is dropped.
pub(crate) async fn run(shared: Arc<Shared>, mut commands: mpsc::Receiver<Command>) {
    let mut ticker = tokio::time::interval(shared.config.flush_interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Consecutive failed rounds; while > 0 the timer and size triggers wait
    // for the backoff delay instead.
    let mut failures: u32 = 0;
    let mut retry_at: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = ticker.tick(), if retry_at.is_none() => {}
            _ = shared.wake.notified(), if retry_at.is_none() => {}
            _ = sleep_until(retry_at) => {}
            cmd = commands.recv() => {
                match cmd {
                    Some(Command::Flush(reply)) => {
                        let r = drain(&shared).await;
                        if r.is_ok() {
                            failures = 0;
                            retry_at = None;
                        }
                        let _ = reply.send(r);
                    }
                    Some(Command::Close(reply)) => {
                        let _ = reply.send(shutdown(&shared).await);
                        return;
                    }
                    None => {
                        let _ = shutdown(&shared).await;
                        return;
                    }
                }
                continue;
            }
        }
        match round(&shared).await {
            Ok(()) => {
                failures = 0;
                retry_at = None;
            }
            Err(e) => {
                let delay = shared.config.flush_backoff.delay(failures);
                failures = failures.saturating_add(1);
                tracing::warn!(
                    error = %e,
                    retry_in_ms = millis(delay),
                    "verdict delivery failed; will retry"
                );
                retry_at = Some(Instant::now() + delay);
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Sends everything queued (exposures first), stopping at the first
/// retryable failure.
async fn round(shared: &Shared) -> Result<(), Error> {
    let batch = shared.config.batch_size;
    loop {
        let exposures = shared.exposures.take(batch);
        if !exposures.is_empty()
            && let Sent::Retry(e) = send_exposures(shared, exposures).await
        {
            return Err(e);
        }
        let events = shared.events.take(batch);
        if !events.is_empty()
            && let Sent::Retry(e) = send_events(shared, events).await
        {
            return Err(e);
        }
        if shared.exposures.len() == 0 && shared.events.len() == 0 {
            return Ok(());
        }
    }
}

/// Rounds with backoff until the queues are empty or the flush timeout
/// would be exceeded.
async fn drain(shared: &Shared) -> Result<(), Error> {
    let timeout = shared.config.flush_timeout;
    let deadline = Instant::now() + timeout;
    let mut attempt = 0;
    loop {
        match round(shared).await {
            Ok(()) => return Ok(()),
            Err(e) => {
                let delay = shared.config.flush_backoff.delay(attempt);
                attempt += 1;
                if Instant::now() + delay >= deadline {
                    tracing::warn!(error = %e, "verdict flush gave up");
                    return Err(Error::FlushTimeout {
                        pending: shared.exposures.len() + shared.events.len(),
                        timeout,
                    });
                }
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Final drain; whatever is left is dropped and counted as failed.
async fn shutdown(shared: &Shared) -> Result<(), Error> {
    let r = drain(shared).await;
    let lost = shared.exposures.abandon() + shared.events.abandon();
    if lost > 0 {
        tracing::warn!(lost, "verdict client closed with undelivered items");
    }
    r
}

/// Classifies a failed request: retryable errors requeue the batch,
/// anything else drops it and counts it as failed.
fn on_error<T>(queue: &Queue<T>, batch: Vec<T>, e: Error) -> Sent {
    if e.is_retryable() {
        add(&queue.counters.retries, batch.len() as u64);
        queue.requeue(batch);
        Sent::Retry(e)
    } else {
        tracing::error!(error = %e, items = batch.len(), "verdict dropped a refused batch");
        add(&queue.counters.failed, batch.len() as u64);
        queue.done(batch.len());
        Sent::Done
    }
}

async fn send_events(shared: &Shared, batch: Vec<EventRecord>) -> Sent {
    let queue = &shared.events;
    match shared.transport.post_events(&batch).await {
        Ok(resp) => {
            add(&queue.counters.sent, resp.accepted);
            add(&queue.counters.duplicates, resp.duplicates);
            add(&queue.counters.rejected, resp.rejected.len() as u64);
            for r in &resp.rejected {
                tracing::warn!(
                    endpoint = EVENTS_PATH,
                    index = r.index,
                    event_id = r.event_id.as_deref().unwrap_or(""),
                    field = r.field.as_deref().unwrap_or(""),
                    "verdict event rejected: {}",
                    r.message.as_deref().unwrap_or("")
                );
            }
            queue.done(batch.len());
            Sent::Done
        }
        Err(e) => on_error(queue, batch, e),
    }
}

async fn send_exposures(shared: &Shared, batch: Vec<ExposureRecord>) -> Sent {
    let queue = &shared.exposures;
    let n = batch.len() as u64;
    match shared.transport.post_exposures(&batch).await {
        Ok(resp) => {
            // The service keeps the first exposure per unit; re-sent ones
            // are accepted but not stored again.
            let new = resp.first_exposures.unwrap_or(resp.accepted).min(n);
            add(&queue.counters.sent, new);
            add(
                &queue.counters.duplicates,
                resp.accepted.min(n).saturating_sub(new),
            );
            add(&queue.counters.rejected, n.saturating_sub(resp.accepted));
            tracing::trace!(endpoint = EXPOSURES_PATH, n, "verdict exposures sent");
            queue.done(batch.len());
            Sent::Done
        }
        Err(e) => on_error(queue, batch, e),
    }
}
