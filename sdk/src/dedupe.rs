//! Bounded memory of exposures already queued, so each (experiment, phase,
//! unit) is reported once per process lifetime (while remembered).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

/// Hasher for keys that already are 64-bit hashes: passes them through.
#[derive(Debug, Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type KeySet = HashSet<u64, BuildHasherDefault<PassThrough>>;

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
    current: KeySet,
    previous: KeySet,
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
        // xxh3 of the unit, seeded by the experiment and phase: ~10 ns, and
        // 64 bits keep collisions negligible at this cache size.
        let seed = xxh3_64(experiment.as_bytes()) ^ u64::from(phase).rotate_left(32);
        let key = xxh3_64_with_seed(unit.as_bytes(), seed);
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
