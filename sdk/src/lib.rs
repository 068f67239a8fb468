//! Rust SDK for Verdict: local flag evaluation and event tracking.

pub use verdict_core as core;
