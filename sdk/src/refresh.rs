//! Background ruleset refresh: conditional downloads on an interval,
//! exponential backoff while the service is unreachable.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::watch;

use crate::error::Error;
use crate::metrics::add;
use crate::shared::Shared;
use crate::snapshot::{Origin, Snapshot};
use crate::transport::ConfigFetch;

/// Downloads the ruleset once (`If-None-Match` with the current ETag) and
/// swaps it in when changed. On error the current snapshot stays.
pub(crate) async fn refresh_once(shared: &Shared) -> Result<(), Error> {
    let current = shared.snapshot.load_full();
    let etag = current.as_ref().and_then(|s| s.etag.as_deref());
    match shared.transport.fetch_config(etag).await {
        Ok(ConfigFetch::NotModified) => {
            add(&shared.refresh.not_modified, 1);
            Ok(())
        }
        Ok(ConfigFetch::Updated { ruleset, etag }) => {
            let snapshot = Snapshot::new(*ruleset, etag, Origin::Service);
            tracing::debug!(
                environment = snapshot.compiled.environment(),
                flags = snapshot.compiled.len(),
                "verdict ruleset updated"
            );
            shared.install(snapshot);
            add(&shared.refresh.updates, 1);
            Ok(())
        }
        Err(e) => {
            add(&shared.refresh.errors, 1);
            Err(e)
        }
    }
}

/// Refreshes until `shutdown` fires or its sender is dropped.
pub(crate) async fn run(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let interval = shared.config.refresh_interval;
    let backoff = shared.config.refresh_backoff;
    let mut failures: u32 = 0;
    loop {
        let outcome = tokio::select! {
            r = refresh_once(&shared) => r,
            _ = shutdown.changed() => return,
        };
        let wait = match outcome {
            Ok(()) => {
                failures = 0;
                jittered(interval)
            }
            Err(e) => {
                let wait = backoff.delay(failures).min(interval);
                failures = failures.saturating_add(1);
                tracing::warn!(
                    error = %e,
                    retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "verdict ruleset refresh failed; serving the last known ruleset"
                );
                wait
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// `d` ± 10 %, so many clients do not poll in lockstep.
fn jittered(d: Duration) -> Duration {
    let factor = rand::rng().random_range(0.9..=1.1);
    d.mul_f64(factor)
}
