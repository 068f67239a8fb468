//! Rust SDK for Verdict: feature flags and experiment variants evaluated
//! in-process, plus exposure and event tracking.
//!
//! * **Local evaluation** (default): the client downloads the environment's
//!   ruleset (`GET /api/v1/sdk/config`), refreshes it in the background with
//!   `If-None-Match`, and evaluates with `verdict-core`, the same code the
//!   service runs, so assignments are identical. Evaluation is synchronous,
//!   allocation-light and lock-free on the ruleset (an atomically swapped
//!   snapshot). **Remote evaluation** ([`Mode::Remote`]) asks the service
//!   instead ([`Client::evaluate_remote`]).
//! * **Typed API**: [`Client::bool_value`], [`Client::string_value`],
//!   [`Client::number_value`], [`Client::json_value`] with a caller
//!   default, and [`Client::variant`] for variant key, value and reason.
//! * **Exposures and events**: serving a variant from an experiment split
//!   queues an exposure (once per unit and experiment phase, remembered in
//!   a bounded cache); [`Client::track`] queues an [`Event`] with a fresh
//!   `event_id`. Queues are bounded (oldest dropped and counted), flushed
//!   every `flush_interval` or every `batch_size` items, and retried with
//!   exponential backoff and jitter, re-sending the same ids so the service
//!   de-duplicates. Call [`Client::close`] on shutdown.
//! * **Resilience**: request timeouts; the caller's default (reason
//!   `DEFAULT`) until the first ruleset arrives; the last known ruleset
//!   while the service is unreachable; optional bootstrap from a file
//!   ([`ClientBuilder::bootstrap_file`]). Nothing panics or blocks on
//!   network data.
//!
//! # Example
//!
//! Runs without a service: the bootstrap ruleset is served while the
//! (unreachable) service is retried in the background.
//!
//! ```
//! use std::time::Duration;
//! use verdict_sdk::{Client, ContextBuilder, Event, Reason};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), verdict_sdk::Error> {
//!     let ruleset = serde_json::from_str(r#"{
//!         "environment": "production",
//!         "flags": [{
//!             "key": "cta_copy", "value_type": "string",
//!             "variants": [{"key": "control", "value": "Buy now"},
//!                          {"key": "urgency", "value": "Only 3 left!"}],
//!             "default_variant": "control", "enabled": true,
//!             "fallthrough": {"split": {
//!                 "weights": [{"variant": "control", "weight": 50.0},
//!                             {"variant": "urgency", "weight": 50.0}],
//!                 "experiment": {"key": "cta_copy", "phase": 1}}}
//!         }]
//!     }"#).map_err(|e| verdict_sdk::Error::Bootstrap(e.to_string()))?;
//!
//!     let client = Client::builder("http://127.0.0.1:9", "sdk-token")
//!         .bootstrap(ruleset)
//!         .request_timeout(Duration::from_millis(200))
//!         .flush_timeout(Duration::from_millis(100))
//!         .build()?;
//!
//!     let ctx = ContextBuilder::new().unit_id("42").attribute("tier", "vip").build();
//!     let copy = client.string_value("cta_copy", &ctx, "Buy now");
//!     assert!(copy == "Buy now" || copy == "Only 3 left!");
//!
//!     let details = client.variant("cta_copy", &ctx);
//!     assert_eq!(details.reason, Reason::Split);
//!
//!     // Unknown flags (and wrong types) give the caller's default.
//!     assert!(!client.bool_value("no_such_flag", &ctx, false));
//!
//!     client.track(Event::new("cta_click", "42").value(1.0));
//!     // Nothing is listening on port 9: close() gives up after the flush
//!     // timeout and counts the undelivered items.
//!     let _ = client.close().await;
//!     assert_eq!(client.metrics().events.failed, 1);
//!     Ok(())
//! }
//! ```

#![warn(missing_docs)]

mod backoff;
mod client;
mod config;
mod context;
mod dedupe;
mod delivery;
mod details;
mod error;
mod event;
mod metrics;
mod queue;
mod refresh;
mod remote;
mod shared;
mod snapshot;
mod transport;

pub use client::{Client, ClientBuilder};
pub use config::{Backoff, Config, Mode};
pub use context::{Context, ContextBuilder};
pub use details::{Details, EvalError};
pub use error::Error;
pub use event::Event;
pub use metrics::{Metrics, StreamMetrics};
pub use remote::FlagValues;
pub use snapshot::Origin;
/// The evaluation core (model types, [`Reason`], [`verdict_core::Ruleset`]).
pub use verdict_core as core;
pub use verdict_core::{Reason, Ruleset};
