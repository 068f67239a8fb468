//! The state every request handler shares: the database, token keys, the
//! ruleset snapshot, the exposure queue and the deployment's settings, fixed
//! when the service starts.

use std::sync::Arc;

use crate::auth::{JwtKeys, MiniApps};
use crate::db::{Db, DbError};
use crate::events::IngestLimits;
use crate::experiments::GuardrailPolicy;
use crate::exposures::ExposureSink;
use crate::http::HttpMetrics;
use crate::ruleset::{Snapshots, load_snapshot};
use crate::telegram::TelegramSettings;
use crate::webhooks::WebhookSettings;

/// What a deployment configures (from `verdict serve`'s options).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Event ingestion limits.
    pub ingest: IngestLimits,
    /// Launch policy for experiments without a guardrail.
    pub guardrail_policy: GuardrailPolicy,
    /// Where notifications go; `None` when no webhook is configured.
    pub webhooks: Option<WebhookSettings>,
    /// Telegram digest and alerts; `None` when no bot token is configured.
    pub telegram: Option<TelegramSettings>,
    /// Telegram Mini Apps: `None` when no bot verifies initData.
    pub mini_apps: Arc<Option<MiniApps>>,
    /// Web origins allowed to call the client-facing routes (CORS).
    pub cors_origins: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            ingest: IngestLimits::default(),
            guardrail_policy: GuardrailPolicy::default(),
            webhooks: None,
            telegram: None,
            mini_apps: Arc::new(None),
            cors_origins: Vec::new(),
        }
    }
}

/// Everything a request handler may need; cheap to clone (one per worker).
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Token keys.
    pub keys: Arc<JwtKeys>,
    /// Request metrics registry.
    pub metrics: HttpMetrics,
    /// What the deployment configured.
    pub settings: Arc<Settings>,
    /// The ruleset snapshot evaluations read.
    pub snapshots: Snapshots,
    /// Where evaluations queue experiment exposures.
    pub exposures: ExposureSink,
}

impl AppState {
    /// State over `db` with `keys` and `settings`: loads the ruleset snapshot
    /// and starts the exposure writer on the current tokio runtime.
    pub fn new(db: Db, keys: JwtKeys, settings: Settings) -> Result<Self, DbError> {
        let snapshots = Snapshots::new();
        snapshots.install(load_snapshot(&mut *db.conn()?)?);
        let metrics = HttpMetrics::new();
        let exposures = ExposureSink::spawn(db.clone(), metrics.registry());
        Ok(Self {
            db,
            keys: Arc::new(keys),
            metrics,
            settings: Arc::new(settings),
            snapshots,
            exposures,
        })
    }

    /// Reloads the ruleset snapshot after a configuration change made here, so
    /// this replica serves it at once (others pick it up by polling).
    pub async fn refresh_snapshot(&self) {
        if let Err(e) = self.snapshots.reload(&self.db).await {
            tracing::warn!(error = %e, "cannot reload configuration after a change");
        }
    }
}
