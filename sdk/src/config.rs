//! Client configuration and its defaults.

use std::path::PathBuf;
use std::time::Duration;

use verdict_core::Ruleset;

/// Where flags are evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Download the environment's ruleset, refresh it in the background and
    /// evaluate in-process with `verdict-core` (the default).
    #[default]
    Local,
    /// Ask the service (`POST /api/v1/evaluate`) on every
    /// [`Client::evaluate_remote`](crate::Client::evaluate_remote) call; the
    /// service records exposures itself. No ruleset is downloaded, so the
    /// synchronous accessors serve only a bootstrap ruleset, if any.
    Remote,
}

impl Mode {
    /// `"local"` or `"remote"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Local => "local",
            Mode::Remote => "remote",
        }
    }
}

/// Exponential backoff with full jitter: attempt `n` (from 0) waits a
/// uniformly random duration in `[base·2ⁿ/2, base·2ⁿ]`, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay scale of the first retry.
    pub base: Duration,
    /// Upper bound of any delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(250),
            max: Duration::from_secs(30),
        }
    }
}

/// Every client option. Build one through [`ClientBuilder`](crate::ClientBuilder).
#[derive(Debug, Clone)]
pub struct Config {
    /// Service base URL, e.g. `https://verdict.example.com` (no trailing `/api`).
    pub base_url: String,
    /// `sdk`-role bearer token bound to one environment.
    pub token: String,
    /// Local (default) or remote evaluation.
    pub mode: Mode,
    /// Whole-request timeout (connect + send + read). Default 5 s.
    pub request_timeout: Duration,
    /// TCP/TLS connect timeout. Default 2 s.
    pub connect_timeout: Duration,
    /// How often the ruleset is re-fetched (`If-None-Match`). Default 30 s.
    pub refresh_interval: Duration,
    /// Retry schedule of failed ruleset fetches (capped at `refresh_interval`).
    pub refresh_backoff: Backoff,
    /// Flush queued events/exposures at least this often. Default 1 s.
    pub flush_interval: Duration,
    /// Flush as soon as this many items are queued, and send at most this
    /// many per request (the service accepts ≤ 1000). Default 100.
    pub batch_size: usize,
    /// Events kept in memory; when full the oldest is dropped and counted.
    /// Default 10 000. Exposures have their own queue of the same size.
    pub queue_capacity: usize,
    /// Retry schedule of failed deliveries.
    pub flush_backoff: Backoff,
    /// Units per experiment remembered for exposure de-duplication. Default 50 000.
    pub exposure_cache_size: usize,
    /// Time `flush()` and `close()` spend delivering before giving up. Default 10 s.
    pub flush_timeout: Duration,
    /// Ruleset served until the first download succeeds (cold start).
    pub bootstrap: Option<Ruleset>,
    /// File holding a ruleset JSON, read once by `build()` for cold starts
    /// (ignored with a warning when missing or invalid).
    pub bootstrap_file: Option<PathBuf>,
    /// Queue exposures for experiment splits served locally. Default true.
    pub send_exposures: bool,
}

impl Config {
    /// Defaults for `base_url` and `token`.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            token: token.into(),
            mode: Mode::Local,
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            refresh_interval: Duration::from_secs(30),
            refresh_backoff: Backoff {
                base: Duration::from_secs(1),
                max: Duration::from_secs(30),
            },
            flush_interval: Duration::from_secs(1),
            batch_size: 100,
            queue_capacity: 10_000,
            flush_backoff: Backoff::default(),
            exposure_cache_size: 50_000,
            flush_timeout: Duration::from_secs(10),
            bootstrap: None,
            bootstrap_file: None,
            send_exposures: true,
        }
    }

    /// Clamps values into workable ranges (zero durations, oversized batches).
    pub(crate) fn normalized(mut self) -> Self {
        let at_least = |d: Duration, min: Duration| d.max(min);
        self.base_url = self.base_url.trim_end_matches('/').to_owned();
        self.request_timeout = at_least(self.request_timeout, Duration::from_millis(10));
        self.connect_timeout = at_least(self.connect_timeout, Duration::from_millis(10));
        self.refresh_interval = at_least(self.refresh_interval, Duration::from_millis(10));
        self.flush_interval = at_least(self.flush_interval, Duration::from_millis(1));
        self.batch_size = self.batch_size.clamp(1, 1000);
        self.queue_capacity = self.queue_capacity.max(1);
        self.exposure_cache_size = self.exposure_cache_size.max(1);
        for b in [&mut self.refresh_backoff, &mut self.flush_backoff] {
            b.base = at_least(b.base, Duration::from_millis(1));
            b.max = b.max.max(b.base);
        }
        self
    }
}
