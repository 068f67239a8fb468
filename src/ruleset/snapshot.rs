//! Immutable snapshots and the lock-free holder that swaps them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use verdict_core::{CompiledRuleset, Ruleset};

use super::{RenderedFlags, load_snapshot};
use crate::db::{Db, DbError};

/// One environment's compiled ruleset plus its serialized form for SDKs.
pub struct EnvironmentSnapshot {
    /// The compiled ruleset evaluations run against.
    pub compiled: CompiledRuleset,
    /// `GET /api/v1/sdk/config` body: the environment's `Ruleset` as JSON.
    pub config_json: String,
    /// Strong ETag of `config_json` (a content hash, identical on every replica).
    pub etag: String,
    /// Every flag's `POST /api/v1/evaluate` and OFREP bulk entry, pre-rendered.
    pub rendered: RenderedFlags,
}

impl EnvironmentSnapshot {
    /// Compiles `ruleset`, logging any definition warnings.
    pub fn new(ruleset: Ruleset) -> Self {
        let config_json = serde_json::to_string(&ruleset).unwrap_or_else(|_| "{}".into());
        let etag = format!(
            "\"{:032x}\"",
            xxhash_rust::xxh3::xxh3_128(config_json.as_bytes())
        );
        let (compiled, warnings) = CompiledRuleset::compile(ruleset);
        for warning in warnings {
            tracing::warn!(environment = compiled.environment(), flag = %warning.flag, message = %warning.message, "definition warning");
        }
        Self {
            rendered: RenderedFlags::new(&compiled),
            compiled,
            config_json,
            etag,
        }
    }
}

/// Every environment's snapshot at one configuration version.
#[derive(Default)]
pub struct Snapshot {
    /// The configuration version it was loaded at.
    pub version: i64,
    /// Snapshots by environment name.
    pub environments: HashMap<String, Arc<EnvironmentSnapshot>>,
}

/// Holds the current snapshot; readers never block writers or each other.
#[derive(Clone, Default)]
pub struct Snapshots {
    current: Arc<ArcSwap<Snapshot>>,
}

impl Snapshots {
    /// An empty holder (no flags) until the first load.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current snapshot of `environment`, if it exists.
    pub fn environment(&self, environment: &str) -> Option<Arc<EnvironmentSnapshot>> {
        self.current.load().environments.get(environment).cloned()
    }

    /// The configuration version of the current snapshot.
    pub fn version(&self) -> i64 {
        self.current.load().version
    }

    /// Installs `snapshot` unless a newer one is already installed.
    pub fn install(&self, snapshot: Snapshot) {
        let snapshot = Arc::new(snapshot);
        self.current.rcu(|current| {
            if current.version > snapshot.version {
                Arc::clone(current)
            } else {
                Arc::clone(&snapshot)
            }
        });
    }

    /// Loads the configuration from the database and installs it.
    pub async fn reload(&self, db: &Db) -> Result<(), DbError> {
        let snapshot = db.run(load_snapshot).await?;
        self.install(snapshot);
        Ok(())
    }

    /// Polls the configuration version every `interval` and reloads when it
    /// changed, so a change made on another replica shows here within about one
    /// interval. Keeps serving the last snapshot while the database is down.
    pub async fn follow(self, db: Db, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let version = db.run(crate::definitions::config_version).await;
            match version {
                Ok(v) if v != self.version() => {
                    if let Err(e) = self.reload(&db).await {
                        tracing::warn!(error = %e, "cannot reload configuration; serving the last snapshot");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "cannot poll configuration version; serving the last snapshot");
                }
            }
        }
    }
}
