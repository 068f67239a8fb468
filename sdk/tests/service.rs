//! The SDK against a real, in-process Verdict service on SQLite.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Service, dead_url, define};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict::db::DbConnection;
use verdict::db::schema::exposures;
use verdict_sdk::{
    Backoff, Client, ClientBuilder, Context, ContextBuilder, EvalError, Mode, Origin, Reason,
};

const READY: Duration = Duration::from_secs(10);

fn builder(service: &Service) -> ClientBuilder {
    Client::builder(service.url(), service.token(Role::Sdk))
        .request_timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_millis(500))
}

fn random_context(rng: &mut StdRng) -> Context {
    let mut c = ContextBuilder::new();
    if rng.random_bool(0.97) {
        c = c.unit_id(rng.random_range(1..5_000_000u64).to_string());
    }
    if rng.random_bool(0.5) {
        c = c.attribute("chat_id", rng.random_range(-100_000..100_000i64));
    }
    let tiers = ["free", "pro", "pro_plus", "vip"];
    c.attribute("tier", tiers[rng.random_range(0..tiers.len())])
        .attribute("language", if rng.random_bool(0.5) { "ru" } else { "en" })
        .attribute(
            "app_version",
            format!(
                "{}.{}.{}",
                rng.random_range(1..4),
                rng.random_range(0..10),
                rng.random_range(0..5)
            ),
        )
        .attribute("portfolio_size", rng.random_range(0..20))
        .attribute(
            "signed_up_at",
            format!("2026-{:02}-15T12:00:00Z", rng.random_range(1..13)),
        )
        .attribute("country", ["RU", "KZ", "DE", "US"][rng.random_range(0..4)])
        .attribute(
            "email",
            if rng.random_bool(0.3) {
                "a@example.com"
            } else {
                "b@mail.ru"
            },
        )
        .build()
}

/// Local evaluation through the SDK assigns exactly what the service's
/// `POST /api/v1/evaluate` assigns, for 10,000 random contexts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_assignments_to_the_service_for_10000_contexts() {
    let service = Service::start();
    define(&service).await;
    let local = builder(&service)
        .send_exposures(false)
        .build()
        .expect("client");
    let remote = builder(&service)
        .mode(Mode::Remote)
        .build()
        .expect("client");
    assert!(local.wait_ready(READY).await, "ruleset downloaded");
    assert_eq!(local.origin(), Some(Origin::Service));
    assert_eq!(local.environment().as_deref(), Some("production"));

    let mut rng = StdRng::seed_from_u64(20_261_121);
    let contexts: Vec<Context> = (0..10_000).map(|_| random_context(&mut rng)).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in contexts.chunks(1250) {
        let (local, remote, chunk) = (local.clone(), remote.clone(), chunk.to_vec());
        tasks.spawn(async move {
            let mut reasons = BTreeSet::new();
            for ctx in &chunk {
                let served = remote.evaluate_remote(ctx).await.expect("evaluate");
                assert_eq!(served.keys().count(), 7);
                for key in served.keys() {
                    let want = served.variant(key);
                    let got = local.variant(key, ctx);
                    assert_eq!(
                        (
                            &got.variant,
                            &got.value,
                            got.reason,
                            got.error,
                            got.flag_version
                        ),
                        (
                            &want.variant,
                            &want.value,
                            want.reason,
                            want.error,
                            want.flag_version
                        ),
                        "{key} for {ctx:?}"
                    );
                    assert_eq!(got.rule_id, want.rule_id, "{key} for {ctx:?}");
                    reasons.insert(got.reason.as_ofrep_str());
                }
                assert_eq!(
                    local.string_value("cta_copy", ctx, "?"),
                    served.string_value("cta_copy", "?")
                );
                assert_eq!(
                    local.bool_value("dark_mode", ctx, false),
                    served.bool_value("dark_mode", false)
                );
                assert_eq!(
                    local.json_value("vip_paywall_copy", ctx, Value::Null),
                    served.json_value("vip_paywall_copy", Value::Null)
                );
            }
            reasons
        });
    }
    let mut reasons = BTreeSet::new();
    while let Some(r) = tasks.join_next().await {
        reasons.extend(r.expect("parity task"));
    }
    for reason in ["SPLIT", "TARGETING_MATCH", "DEFAULT", "DISABLED"] {
        assert!(reasons.contains(reason), "exercised {reason}: {reasons:?}");
    }
    local.close().await.expect("close");
    remote.close().await.expect("close");
}

/// With the service gone, the client keeps serving the last downloaded
/// ruleset and keeps retrying in the background.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_down_serves_last_known_values() {
    let mut service = Service::start();
    define(&service).await;
    let client = builder(&service)
        .refresh_interval(Duration::from_millis(100))
        .refresh_backoff(Backoff {
            base: Duration::from_millis(20),
            max: Duration::from_millis(100),
        })
        .flush_interval(Duration::from_millis(20))
        .build()
        .expect("client");
    assert!(client.wait_ready(READY).await);
    let mut rng = StdRng::seed_from_u64(99);
    let contexts: Vec<Context> = (0..300).map(|_| random_context(&mut rng)).collect();
    let keys = ["cta_copy", "dark_mode", "vip_paywall_copy", "chat_banner"];
    let snapshot = |client: &Client| -> Vec<_> {
        contexts
            .iter()
            .flat_map(|ctx| keys.iter().map(move |k| client.variant(k, ctx)))
            .collect()
    };
    let before = snapshot(&client);
    client.flush().await.expect("exposures delivered while up");

    service.stop().await;
    // actix worker threads may finish in-flight keep-alive connections
    // briefly after the server stopped.
    let deadline = std::time::Instant::now() + READY;
    while client.refresh().await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "service never went down"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let errors = client.metrics().config_errors;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        client.metrics().config_errors > errors,
        "background refresh keeps trying"
    );
    assert_eq!(snapshot(&client), before, "last known ruleset still served");
    assert_eq!(client.origin(), Some(Origin::Service));

    // Events wait in the queue and are retried, not lost or blocking.
    let started = std::time::Instant::now();
    for i in 0..50 {
        client.track(verdict_sdk::Event::new("cta_click", i.to_string()));
    }
    assert!(
        started.elapsed() < Duration::from_millis(50),
        "track never blocks"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m = client.metrics();
    assert_eq!(client.pending(), 50);
    assert!(m.events.retries > 0, "{m:?}");
    assert_eq!(m.events.sent, 0);
}

/// Before any ruleset: the caller's default with reason `DEFAULT`; a
/// bootstrap file serves a saved ruleset until the service answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_start_serves_defaults_then_bootstrap_then_service() {
    let ctx = ContextBuilder::new()
        .unit_id("42")
        .attribute("tier", "pro")
        .build();
    let cold = Client::builder(dead_url(), "token")
        .request_timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    assert!(!cold.is_ready());
    assert!(cold.bool_value("dark_mode", &ctx, true));
    assert!(!cold.bool_value("dark_mode", &ctx, false));
    assert_eq!(cold.string_value("cta_copy", &ctx, "Buy now"), "Buy now");
    assert_eq!(cold.number_value("digest_hour", &ctx, 9.0), 9.0);
    assert_eq!(
        cold.json_value("vip_paywall_copy", &ctx, json!({"price": 1})),
        json!({"price": 1})
    );
    let d = cold.variant("cta_copy", &ctx);
    assert_eq!(
        (d.variant, d.reason, d.error),
        (None, Reason::Default, Some(EvalError::ProviderNotReady))
    );
    assert!(!cold.wait_ready(Duration::from_millis(300)).await);

    // Save the service's config as a bootstrap file.
    let service = Service::start();
    define(&service).await;
    let (status, config) = service
        .call("GET", "/api/v1/sdk/config", Role::Sdk, Value::Null)
        .await;
    assert_eq!(status, 200);
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("verdict-bootstrap.json");
    std::fs::write(&file, config.to_string()).expect("write");

    let offline = Client::builder(dead_url(), "token")
        .bootstrap_file(&file)
        .request_timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    assert!(offline.is_ready(), "bootstrap is served at once");
    assert_eq!(offline.origin(), Some(Origin::Bootstrap));
    assert!(
        offline.bool_value("dark_mode", &ctx, false),
        "pro tier rule"
    );

    let online = builder(&service)
        .bootstrap_file(&file)
        .build()
        .expect("client");
    // Ready at once from the bootstrap; the download may already have replaced
    // it by the time this runs.
    assert!(online.is_ready());
    assert!(matches!(
        online.origin(),
        Some(Origin::Bootstrap | Origin::Service)
    ));
    let deadline = std::time::Instant::now() + READY;
    while online.origin() != Some(Origin::Service) {
        assert!(std::time::Instant::now() < deadline, "never downloaded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        online.variant("cta_copy", &ctx),
        offline.variant("cta_copy", &ctx),
        "bootstrap and service agree"
    );

    // A broken bootstrap file is ignored, not fatal.
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{not json").expect("write");
    let c = Client::builder(dead_url(), "token")
        .bootstrap_file(&broken)
        .build()
        .expect("a bad bootstrap file does not fail the build");
    assert!(!c.is_ready());
    let missing = Client::builder(dead_url(), "token")
        .bootstrap_file(dir.path().join("absent.json"))
        .build()
        .expect("a missing bootstrap file does not fail the build");
    assert!(!missing.is_ready());
}

/// Refreshes are conditional (`304` while unchanged) and pick up changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_uses_etags_and_picks_up_changes() {
    let service = Service::start();
    define(&service).await;
    let client = builder(&service)
        .refresh_interval(Duration::from_secs(3600))
        .build()
        .expect("client");
    assert!(client.wait_ready(READY).await);
    client.refresh().await.expect("refresh");
    client.refresh().await.expect("refresh");
    let m = client.metrics();
    assert_eq!((m.config_updates, m.config_not_modified), (1, 2), "{m:?}");

    let free = ContextBuilder::new()
        .unit_id("7")
        .attribute("tier", "free")
        .build();
    let (status, body) = service
        .call(
            "PATCH",
            "/api/v1/flags/digest_hour/environments/production",
            Role::Pm,
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        client.number_value("digest_hour", &free, 0.0),
        8.0,
        "disabled: default variant"
    );
    client.refresh().await.expect("refresh");
    assert_eq!(client.metrics().config_updates, 2);
    assert_eq!(client.number_value("digest_hour", &free, 0.0), 19.5);
    assert_eq!(client.variant("digest_hour", &free).reason, Reason::Static);
}

/// Locally served experiment variants reach the service as exposures,
/// once per unit, with the variant the SDK served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exposures_reach_the_service_once_per_unit() {
    let service = Service::start();
    define(&service).await;
    let client = builder(&service)
        .flush_interval(Duration::from_millis(50))
        .batch_size(64)
        .build()
        .expect("client");
    assert!(client.wait_ready(READY).await);
    let mut served = std::collections::BTreeMap::new();
    for _round in 0..3 {
        for user in 0..150 {
            let ctx = ContextBuilder::new()
                .unit_id(user.to_string())
                .attribute("country", "RU")
                .build();
            let d = client.variant("import_hint", &ctx);
            assert_eq!(d.reason, Reason::Split);
            served.insert(user.to_string(), d.variant.expect("variant"));
            // Typed calls dedupe against the same cache.
            let _ = client.string_value("import_hint", &ctx, "");
        }
    }
    client.flush().await.expect("flush");
    let m = client.metrics();
    assert_eq!((m.exposures.queued, m.exposures.sent), (150, 150), "{m:?}");
    let rows: Vec<(String, String, String)> = {
        let mut conn = service.state.db.conn().expect("conn");
        exposures::table
            .filter(exposures::experiment_key.eq("import_hint"))
            .select((
                exposures::experiment_key,
                exposures::unit_id,
                exposures::variant,
            ))
            .load(&mut *conn as &mut DbConnection)
            .expect("rows")
    };
    assert_eq!(rows.len(), 150);
    for (_, unit, variant) in rows {
        assert_eq!(served.get(&unit), Some(&variant), "unit {unit}");
    }
    client.close().await.expect("close");
}
