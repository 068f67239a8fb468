//! Bounded in-memory queue of outgoing items: drops the oldest when full.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::metrics::{StreamCounters, add};

/// A bounded FIFO shared by the caller (push) and the flusher (take).
#[derive(Debug)]
pub(crate) struct Queue<T> {
    items: Mutex<VecDeque<T>>,
    capacity: usize,
    /// Items taken for sending whose outcome is not known yet.
    in_flight: AtomicUsize,
    pub(crate) counters: StreamCounters,
}

impl<T> Queue<T> {
    /// An empty queue holding at most `capacity` (≥ 1) items.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            items: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            in_flight: AtomicUsize::new(0),
            counters: StreamCounters::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<T>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `item`, dropping (and counting) the oldest item when full.
    /// Returns the queue length afterwards.
    pub(crate) fn push(&self, item: T) -> usize {
        let mut items = self.lock();
        let mut dropped = 0;
        while items.len() >= self.capacity {
            items.pop_front();
            dropped += 1;
        }
        items.push_back(item);
        let len = items.len();
        drop(items);
        add(&self.counters.queued, 1);
        if dropped > 0 {
            add(&self.counters.dropped, dropped);
        }
        len
    }

    /// Removes up to `max` of the oldest items for sending; report the
    /// outcome with [`Queue::requeue`] or [`Queue::done`].
    pub(crate) fn take(&self, max: usize) -> Vec<T> {
        let mut items = self.lock();
        let n = max.min(items.len());
        self.in_flight.fetch_add(n, Ordering::SeqCst);
        items.drain(..n).collect()
    }

    /// A taken batch of `n` items is finished (delivered or dropped).
    pub(crate) fn done(&self, n: usize) {
        let _ = self
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| {
                Some(f.saturating_sub(n))
            });
    }

    /// Puts a batch that failed to send back at the front, in order. If
    /// that overfills the queue the oldest items (the batch first) are
    /// dropped and counted.
    pub(crate) fn requeue(&self, batch: Vec<T>) {
        let n = batch.len();
        let mut items = self.lock();
        for item in batch.into_iter().rev() {
            items.push_front(item);
        }
        let mut dropped = 0;
        while items.len() > self.capacity {
            items.pop_front();
            dropped += 1;
        }
        drop(items);
        self.done(n);
        if dropped > 0 {
            add(&self.counters.dropped, dropped);
        }
    }

    /// Removes everything, counting it as failed (used when giving up at close).
    pub(crate) fn abandon(&self) -> usize {
        let n = {
            let mut items = self.lock();
            let n = items.len();
            items.clear();
            n
        };
        add(&self.counters.failed, n as u64);
        n
    }

    /// Items queued.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Items queued or being sent.
    pub(crate) fn pending(&self) -> usize {
        let items = self.lock();
        items.len() + self.in_flight.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    #[test]
    fn drops_oldest_when_full_and_counts() {
        let q = Queue::new(3);
        for i in 0..5 {
            q.push(i);
        }
        assert_eq!(q.take(10), vec![2, 3, 4]);
        assert_eq!(q.counters.dropped.load(Ordering::Relaxed), 2);
        assert_eq!(q.counters.queued.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn requeue_keeps_order_and_bounds() {
        let q = Queue::new(4);
        for i in 0..4 {
            q.push(i);
        }
        let batch = q.take(2);
        q.push(4);
        q.push(5);
        q.requeue(batch);
        // [0, 1] back in front of [2, 3, 4, 5]: the two oldest go.
        assert_eq!(q.take(10), vec![2, 3, 4, 5]);
        assert_eq!(q.counters.dropped.load(Ordering::Relaxed), 2);
        q.push(6);
        q.requeue(vec![5]);
        assert_eq!(q.take(1), vec![5]);
        assert_eq!(q.take(10), vec![6]);
    }

    #[test]
    fn pending_includes_batches_in_flight() {
        let q = Queue::new(10);
        for i in 0..5 {
            q.push(i);
        }
        let batch = q.take(3);
        assert_eq!((q.len(), q.pending()), (2, 5));
        q.requeue(batch);
        assert_eq!((q.len(), q.pending()), (5, 5));
        let batch = q.take(5);
        q.done(batch.len());
        assert_eq!(q.pending(), 0);
    }

    #[test]
    fn abandon_counts_failures() {
        let q = Queue::new(10);
        q.push(1);
        q.push(2);
        assert_eq!(q.abandon(), 2);
        assert_eq!(q.len(), 0);
        assert_eq!(q.counters.failed.load(Ordering::Relaxed), 2);
    }
}
