//! Typed SDK errors.
//!
//! Evaluation never returns an error (it falls back to the caller's
//! default); these errors come from building the client, flushing, and
//! remote evaluation.

use std::time::Duration;

/// An SDK error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is unusable (e.g. a malformed base URL).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// `Client::builder(..).build()` was called outside a Tokio runtime.
    #[error("the Verdict client must be built inside a Tokio runtime")]
    NoRuntime,
    /// A request could not be sent or its response not read (network
    /// error, timeout, malformed body).
    #[error("request to {endpoint} failed: {message}")]
    Transport {
        /// The API path.
        endpoint: &'static str,
        /// What went wrong.
        message: String,
    },
    /// The service answered with an unexpected HTTP status.
    #[error("{endpoint} answered HTTP {status}: {detail}")]
    Status {
        /// The API path.
        endpoint: &'static str,
        /// The HTTP status code.
        status: u16,
        /// The problem+json `detail` (or `title`), or the raw body prefix.
        detail: String,
    },
    /// `flush()` / `close()` could not deliver everything in time; the
    /// items stay queued (after `close()` they are dropped and counted).
    #[error("{pending} queued items not delivered within {timeout:?}")]
    FlushTimeout {
        /// Items still queued.
        pending: usize,
        /// The time allowed.
        timeout: Duration,
    },
    /// The client was closed.
    #[error("the client is closed")]
    Closed,
    /// The bootstrap ruleset could not be read or parsed.
    #[error("bootstrap ruleset: {0}")]
    Bootstrap(String),
    /// The operation needs the other evaluation mode.
    #[error("this operation needs {0} evaluation mode")]
    WrongMode(&'static str),
}

impl Error {
    /// Whether retrying the same request later may succeed (network
    /// errors, timeouts, 408, 429 and 5xx).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } => true,
            Error::Status { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            _ => false,
        }
    }
}
