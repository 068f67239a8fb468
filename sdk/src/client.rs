//! The client: typed, synchronous evaluation over the current snapshot, and
//! the handles of the background refresh and delivery tasks.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::Utc;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;
use verdict_core::{Context, Exposure, Ruleset, unit_string};

use crate::config::{Backoff, Config, Mode};
use crate::delivery::{self, Command};
use crate::details::{Details, EvalError, FromFlagValue, Json, typed};
use crate::error::Error;
use crate::event::{Event, ExposureRecord, rfc3339};
use crate::metrics::{Metrics, add};
use crate::refresh;
use crate::remote::FlagValues;
use crate::shared::Shared;
use crate::snapshot::{Origin, Snapshot};
use crate::transport::Transport;

/// A Verdict client. Cheap to clone; all clones share one ruleset snapshot,
/// one event queue and one set of background tasks.
///
/// Evaluation methods are synchronous and never block or fail: anything
/// unexpected yields the caller's default. Call [`Client::close`] on
/// shutdown; dropping the last handle instead stops the background tasks
/// after a best-effort flush (if the runtime is still running).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
    shutdown: watch::Sender<bool>,
    closed: AtomicBool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shared = &self.inner.shared;
        f.debug_struct("Client")
            .field("base_url", &shared.config.base_url)
            .field("mode", &shared.config.mode)
            .field("ready", &self.is_ready())
            .finish()
    }
}

/// Configures and builds a [`Client`]; see [`Config`] for every default.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    config: Config,
}

impl ClientBuilder {
    /// A builder for the service at `base_url` with an `sdk`-role `token`.
    pub fn new(base_url: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            config: Config::new(base_url, token),
        }
    }

    /// A builder starting from a complete [`Config`].
    pub fn from_config(config: Config) -> Self {
        Self { config }
    }

    /// Local (default) or remote evaluation.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.config.mode = mode;
        self
    }

    /// Ruleset refresh interval (default 30 s).
    pub fn refresh_interval(mut self, every: Duration) -> Self {
        self.config.refresh_interval = every;
        self
    }

    /// Whole-request timeout (default 5 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.config.request_timeout = timeout;
        self
    }

    /// Connect timeout (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Flush period of queued events and exposures (default 1 s).
    pub fn flush_interval(mut self, every: Duration) -> Self {
        self.config.flush_interval = every;
        self
    }

    /// Items per request, and the queue length that triggers a flush
    /// (default 100, at most 1000).
    pub fn batch_size(mut self, items: usize) -> Self {
        self.config.batch_size = items;
        self
    }

    /// Bound of each in-memory queue (default 10 000; oldest dropped when full).
    pub fn queue_capacity(mut self, items: usize) -> Self {
        self.config.queue_capacity = items;
        self
    }

    /// Retry schedule of failed deliveries.
    pub fn flush_backoff(mut self, backoff: Backoff) -> Self {
        self.config.flush_backoff = backoff;
        self
    }

    /// Retry schedule of failed ruleset downloads.
    pub fn refresh_backoff(mut self, backoff: Backoff) -> Self {
        self.config.refresh_backoff = backoff;
        self
    }

    /// Time `flush()`/`close()` may spend delivering (default 10 s).
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.config.flush_timeout = timeout;
        self
    }

    /// Exposure de-duplication memory, in units × experiments (default 50 000).
    pub fn exposure_cache_size(mut self, entries: usize) -> Self {
        self.config.exposure_cache_size = entries;
        self
    }

    /// Whether locally served experiment variants queue exposures (default true).
    pub fn send_exposures(mut self, enabled: bool) -> Self {
        self.config.send_exposures = enabled;
        self
    }

    /// Serve `ruleset` until the first download succeeds.
    pub fn bootstrap(mut self, ruleset: Ruleset) -> Self {
        self.config.bootstrap = Some(ruleset);
        self
    }

    /// Read a ruleset JSON file (e.g. a saved `GET /api/v1/sdk/config`
    /// body) at build time and serve it until the first download succeeds.
    /// The file is read synchronously once, inside `build()`; a missing or
    /// invalid file is logged and ignored.
    pub fn bootstrap_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.bootstrap_file = Some(path.into());
        self
    }

    /// Builds the client and starts its background tasks on the current
    /// Tokio runtime. Returns immediately: until a ruleset is available
    /// evaluations return the caller's default (see [`Client::wait_ready`]).
    pub fn build(self) -> Result<Client, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let config = self.config.normalized();
        let transport = Transport::new(&config)?;
        let bootstrap = initial_ruleset(&config);
        let mode = config.mode;
        let shared = Arc::new(Shared::new(config, transport));
        if let Some(ruleset) = bootstrap {
            shared.install(Snapshot::new(ruleset, None, Origin::Bootstrap));
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (commands, commands_rx) = mpsc::channel(16);
        if mode == Mode::Local {
            runtime.spawn(refresh::run(shared.clone(), shutdown_rx));
        }
        runtime.spawn(delivery::run(shared.clone(), commands_rx));
        Ok(Client {
            inner: Arc::new(Inner {
                shared,
                commands,
                shutdown,
                closed: AtomicBool::new(false),
            }),
        })
    }
}

/// The bootstrap ruleset: the in-memory one, else the file's (if readable).
fn initial_ruleset(config: &Config) -> Option<Ruleset> {
    if let Some(r) = &config.bootstrap {
        return Some(r.clone());
    }
    let path = config.bootstrap_file.as_ref()?;
    match read_bootstrap(path) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "verdict bootstrap file ignored");
            None
        }
    }
}

/// The exposure unit of a bucketing attribute value, borrowed when it is a
/// string (the common case) so already-seen units cost no allocation.
fn unit_key(value: &serde_json::Value) -> Option<Cow<'_, str>> {
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(Cow::Borrowed(s)),
        other => unit_string(other).map(Cow::Owned),
    }
}

fn read_bootstrap(path: &std::path::Path) -> Result<Ruleset, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::Bootstrap(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Bootstrap(e.to_string()))
}

impl Client {
    /// A builder for the service at `base_url` with an `sdk`-role `token`.
    pub fn builder(base_url: impl Into<String>, token: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(base_url, token)
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Evaluates `flag` locally and converts its value; `None` means "use
    /// the caller's default". Queues an exposure only when the variant's
    /// value is actually handed out.
    fn local<T: FromFlagValue>(&self, flag: &str, ctx: &Context) -> Option<T> {
        let guard = self.shared().snapshot.load();
        let snapshot = guard.as_ref()?;
        let eval = snapshot.compiled.evaluate(flag, ctx)?;
        let value = typed::<T>(eval.reason, eval.value)?;
        if let Some(exposure) = eval.exposure {
            self.expose(snapshot, flag, exposure, ctx);
        }
        Some(value)
    }

    /// Queues an exposure unless this unit was already reported for the
    /// experiment phase.
    fn expose(&self, snapshot: &Snapshot, flag: &str, exposure: Exposure<'_>, ctx: &Context) {
        let shared = self.shared();
        if !shared.config.send_exposures || self.inner.closed.load(Ordering::Relaxed) {
            return;
        }
        let Some(unit) = snapshot
            .bucket_by
            .get(flag)
            .and_then(|attr| ctx.get(attr))
            .and_then(unit_key)
        else {
            return;
        };
        if !shared
            .seen
            .first_seen(exposure.experiment, exposure.phase, &unit)
        {
            return;
        }
        let len = shared.exposures.push(ExposureRecord {
            experiment: exposure.experiment.to_owned(),
            phase: exposure.phase,
            variant: exposure.variant.to_owned(),
            unit_id: unit.into_owned(),
            timestamp: rfc3339(Utc::now()),
            dimensions: exposure
                .dimension_values(ctx)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        });
        shared.queued(len);
    }

    /// Boolean value of `flag` for `ctx`, or `default` (no ruleset yet,
    /// unknown flag, wrong type, invalid flag).
    pub fn bool_value(&self, flag: &str, ctx: &Context, default: bool) -> bool {
        self.local(flag, ctx).unwrap_or(default)
    }

    /// String value of `flag` for `ctx`, or `default`.
    pub fn string_value(&self, flag: &str, ctx: &Context, default: &str) -> String {
        self.local(flag, ctx).unwrap_or_else(|| default.to_owned())
    }

    /// Numeric value of `flag` for `ctx`, or `default`.
    pub fn number_value(&self, flag: &str, ctx: &Context, default: f64) -> f64 {
        self.local(flag, ctx).unwrap_or(default)
    }

    /// Value of `flag` for `ctx` deserialized into `T`, or `default` (also
    /// when the value does not deserialize into `T`).
    pub fn json_value<T: DeserializeOwned>(&self, flag: &str, ctx: &Context, default: T) -> T {
        self.local::<Json<T>>(flag, ctx).map_or(default, |j| j.0)
    }

    /// Variant key, value and reason of `flag` for `ctx`. Before the first
    /// ruleset arrives: no variant, `null`, reason `DEFAULT`, error
    /// `PROVIDER_NOT_READY`; unknown flag: reason `ERROR`, `FLAG_NOT_FOUND`.
    pub fn variant(&self, flag: &str, ctx: &Context) -> Details {
        let guard = self.shared().snapshot.load();
        let Some(snapshot) = guard.as_ref() else {
            return Details::missing(flag, EvalError::ProviderNotReady);
        };
        let Some(eval) = snapshot.compiled.evaluate(flag, ctx) else {
            return Details::missing(flag, EvalError::FlagNotFound);
        };
        if let Some(exposure) = eval.exposure {
            self.expose(snapshot, flag, exposure, ctx);
        }
        Details::from_evaluation(&eval)
    }

    /// Asks the service to evaluate every flag for `ctx`
    /// (`POST /api/v1/evaluate`); the service records exposures itself.
    /// This is how flags are read in [`Mode::Remote`]; it works in local
    /// mode too.
    pub async fn evaluate_remote(&self, ctx: &Context) -> Result<FlagValues, Error> {
        let resp = self.shared().transport.evaluate(ctx).await?;
        Ok(FlagValues::from_response(resp))
    }

    /// Queues `event` for delivery and returns its `event_id` (generated
    /// unless set). Never blocks; when the queue is full the oldest event
    /// is dropped and counted in [`Metrics`].
    pub fn track(&self, event: Event) -> Uuid {
        let record = event.into_record();
        let id = record.event_id;
        let shared = self.shared();
        if self.inner.closed.load(Ordering::Relaxed) {
            add(&shared.events.counters.dropped, 1);
            return id;
        }
        let len = shared.events.push(record);
        shared.queued(len);
        id
    }

    /// Delivers everything queued so far, retrying with backoff for up to
    /// the flush timeout. Undelivered items stay queued.
    pub async fn flush(&self) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Flush(tx))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Stops the background tasks after a final flush; items still
    /// undelivered after the flush timeout are dropped and counted as
    /// failed. Later `track` calls are dropped; evaluation keeps working on
    /// the last ruleset. Closing twice returns [`Error::Closed`].
    pub async fn close(&self) -> Result<(), Error> {
        if self.inner.closed.swap(true, Ordering::SeqCst) {
            return Err(Error::Closed);
        }
        self.inner.shutdown.send_replace(true);
        let (tx, rx) = oneshot::channel();
        self.inner
            .commands
            .send(Command::Close(tx))
            .await
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Downloads the ruleset now (conditional on the current ETag). On
    /// error the last known ruleset stays in use.
    pub async fn refresh(&self) -> Result<(), Error> {
        if self.shared().config.mode == Mode::Remote {
            return Err(Error::WrongMode("local"));
        }
        refresh::refresh_once(self.shared()).await
    }

    /// Whether a ruleset (bootstrap or downloaded) is available.
    pub fn is_ready(&self) -> bool {
        self.shared().snapshot.load().is_some()
    }

    /// Waits up to `timeout` for a ruleset; `true` once one is available.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let mut rx = self.shared().ready.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|ready| *ready))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Where the current ruleset came from, if there is one.
    pub fn origin(&self) -> Option<Origin> {
        self.shared().snapshot.load().as_ref().map(|s| s.origin)
    }

    /// Environment of the current ruleset.
    pub fn environment(&self) -> Option<String> {
        self.shared()
            .snapshot
            .load()
            .as_ref()
            .map(|s| s.compiled.environment().to_owned())
    }

    /// Delivery and refresh counters.
    pub fn metrics(&self) -> Metrics {
        self.shared().metrics()
    }

    /// Events and exposures not delivered yet (queued or being sent).
    pub fn pending(&self) -> usize {
        self.shared().events.pending() + self.shared().exposures.pending()
    }
}
