//! The current compiled ruleset, swapped atomically by the refresher.

use std::collections::HashMap;

use verdict_core::{CompiledRuleset, Ruleset};

/// Where a snapshot's ruleset came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The caller's bootstrap ruleset or file.
    Bootstrap,
    /// A download from the service.
    Service,
}

/// An immutable compiled ruleset plus what evaluation needs beside it.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) compiled: CompiledRuleset,
    /// `bucket_by` per flag: the attribute whose value is the exposure unit.
    pub(crate) bucket_by: HashMap<String, String>,
    pub(crate) etag: Option<String>,
    pub(crate) origin: Origin,
}

impl Snapshot {
    /// Compiles `ruleset`, logging compile warnings.
    pub(crate) fn new(ruleset: Ruleset, etag: Option<String>, origin: Origin) -> Self {
        let bucket_by = ruleset
            .flags
            .iter()
            .map(|f| (f.key.clone(), f.bucket_by.clone()))
            .collect();
        let (compiled, warnings) = CompiledRuleset::compile(ruleset);
        for w in &warnings {
            tracing::warn!(flag = %w.flag, "verdict ruleset: {}", w.message);
        }
        Self {
            compiled,
            bucket_by,
            etag,
            origin,
        }
    }
}
