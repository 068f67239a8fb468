//! Versioned JSON definitions (flags, segments, layers) in one table: every write
//! is one transaction that checks the version, writes, audits and bumps the
//! configuration version replicas poll.

mod store;

pub use store::{
    Definition, DefinitionError, Kind, Stored, Write, config_version, get, list, write,
};
