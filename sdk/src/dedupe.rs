//! Bounded memory of exposures already queued, so each (experiment, phase,
//! unit) is reported once per process lifetime (while remembered).

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

/// Two generations of key hashes: when the current one fills up it becomes
/// the previous one and the old previous one is forgotten. Holds at most
/// `capacity` keys; recently seen keys survive a rotation.
#[derive(Debug)]
pub(crate) struct ExposureCache {
    generation: usize,
    sets: Mutex<Generations>,
}

#[derive(Debug, Default)]
struct Generations {
    current: HashSet<u64>,
    previous: HashSet<u64>,
}

impl ExposureCache {
    /// A cache remembering up to `capacity` keys (at least 2).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            generation: (capacity / 2).max(1),
            sets: Mutex::new(Generations::default()),
        }
    }

    /// Records the key; `true` if it was not remembered (queue the exposure).
    pub(crate) fn first_seen(&self, experiment: &str, phase: u32, unit: &str) -> bool {
        let mut h = DefaultHasher::new();
        (experiment, phase, unit).hash(&mut h);
        let key = h.finish();
        let mut sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        if sets.current.contains(&key) {
            return false;
        }
        let seen = sets.previous.contains(&key);
        if sets.current.len() >= self.generation {
            sets.previous = std::mem::take(&mut sets.current);
        }
        sets.current.insert(key);
        !seen
    }

    /// Keys currently remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let sets = self.sets.lock().unwrap_or_else(|p| p.into_inner());
        sets.current.len() + sets.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_each_key_once() {
        let c = ExposureCache::new(100);
        assert!(c.first_seen("exp", 1, "u1"));
        assert!(!c.first_seen("exp", 1, "u1"));
        assert!(c.first_seen("exp", 2, "u1"), "new phase");
        assert!(c.first_seen("other", 1, "u1"), "other experiment");
        assert!(c.first_seen("exp", 1, "u2"), "other unit");
    }

    #[test]
    fn stays_bounded_and_forgets_oldest() {
        let c = ExposureCache::new(10);
        for i in 0..1000 {
            assert!(c.first_seen("e", 1, &i.to_string()));
            assert!(c.len() <= 10);
        }
        assert!(!c.first_seen("e", 1, "999"), "recent key remembered");
        assert!(c.first_seen("e", 1, "0"), "old key forgotten");
    }
}
