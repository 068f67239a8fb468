//! Event delivery against fake services that implement the events contract
//! and inject failures.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use common::{dead_url, fake};
use serde_json::{Value, json};
use uuid::Uuid;
use verdict_sdk::{Backoff, Client, ClientBuilder, ContextBuilder, Error, Event, Reason};

/// A fake `POST /api/v1/events` keeping the first copy of each `event_id`.
#[derive(Default)]
struct Store {
    /// Requests received.
    requests: u32,
    /// Answer 503 without storing to requests `1..=fail_first`.
    fail_first: u32,
    /// Store request number `n`, then answer 503 (the response is "lost").
    lose_response_of: Option<u32>,
    /// Stored ids, in arrival order.
    stored: Vec<String>,
    seen: HashSet<String>,
    /// Ids received, including re-sent copies.
    received: HashMap<String, u32>,
}

type Shared = Arc<Mutex<Store>>;

fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .content_type("application/problem+json")
        .json(
            json!({"type": "about:blank", "title": "Service Unavailable", "status": 503,
            "detail": "injected failure"}),
        )
}

async fn events(store: web::Data<Mutex<Store>>, body: web::Json<Value>) -> HttpResponse {
    let mut s = store.lock().unwrap_or_else(|p| p.into_inner());
    s.requests += 1;
    let n = s.requests;
    if n <= s.fail_first {
        return unavailable();
    }
    let list = body["events"].as_array().cloned().unwrap_or_default();
    if list.iter().any(|e| e["name"] == "poison") {
        return HttpResponse::BadRequest()
            .content_type("application/problem+json")
            .json(json!({"title": "Bad Request", "status": 400, "detail": "poisoned batch"}));
    }
    let (mut accepted, mut duplicates, mut rejected) = (0, 0, Vec::new());
    for (i, e) in list.iter().enumerate() {
        let id = e["event_id"].as_str().unwrap_or_default().to_owned();
        *s.received.entry(id.clone()).or_default() += 1;
        if e["name"].as_str().is_none_or(str::is_empty) {
            rejected.push(json!({"index": i, "event_id": id, "field": "name", "message": "must not be empty"}));
        } else if s.seen.insert(id.clone()) {
            s.stored.push(id);
            accepted += 1;
        } else {
            duplicates += 1;
        }
    }
    if s.lose_response_of == Some(n) {
        return unavailable();
    }
    HttpResponse::Ok()
        .json(json!({"accepted": accepted, "duplicates": duplicates, "rejected": rejected}))
}

async fn no_config() -> HttpResponse {
    unavailable()
}

fn events_server(store: Shared) -> common::Server {
    fake(move |cfg| {
        cfg.app_data(web::Data::from(store.clone()))
            .route("/api/v1/events", web::post().to(events))
            .route("/api/v1/sdk/config", web::get().to(no_config));
    })
}

fn fast(url: &str) -> ClientBuilder {
    Client::builder(url, "token")
        .request_timeout(Duration::from_secs(2))
        .flush_interval(Duration::from_millis(20))
        .flush_backoff(Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(40),
        })
        .refresh_interval(Duration::from_secs(3600))
}

fn lock(store: &Shared) -> std::sync::MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// The service refuses the first flushes and loses one response after
/// storing: retries re-send the same ids, so every event is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_reuse_event_ids_so_events_arrive_exactly_once() {
    let store = Shared::default();
    {
        let mut s = lock(&store);
        s.fail_first = 3;
        s.lose_response_of = Some(4);
    }
    let mut server = events_server(store.clone());
    let client = fast(&server.url).batch_size(10).build().expect("client");
    let ids: Vec<Uuid> = (0..35)
        .map(|i| client.track(Event::new("cta_click", format!("user-{i}")).value(1.0)))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.pending() > 0 {
        assert!(
            Instant::now() < deadline,
            "never delivered: {:?}",
            client.metrics()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    client.flush().await.expect("flush");
    let m = client.metrics().events;
    {
        let s = lock(&store);
        let want: HashSet<String> = ids.iter().map(Uuid::to_string).collect();
        assert_eq!(s.stored.len(), 35, "each event stored exactly once");
        assert_eq!(s.seen, want, "exactly the tracked ids");
        assert!(
            s.received.values().any(|&n| n > 1),
            "the lost batch was re-sent with the same ids"
        );
        assert_eq!(m.sent + m.duplicates, 35, "{m:?}");
        assert!(m.duplicates > 0 && m.retries > 0, "{m:?}");
        assert_eq!((m.dropped, m.failed, m.rejected), (0, 0, 0));
    }
    client.close().await.expect("close");
    server.stop().await;
}

/// A batch refused with 4xx is dropped and counted, never retried;
/// per-event rejections are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_batches_are_dropped_and_rejections_counted() {
    let store = Shared::default();
    let mut server = events_server(store.clone());
    let client = fast(&server.url)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .expect("client");
    for i in 0..3 {
        client.track(Event::new("open", i.to_string()));
    }
    client.track(Event::new("", "3"));
    client.flush().await.expect("flush");
    client.track(Event::new("poison", "4"));
    client
        .flush()
        .await
        .expect("a refused batch is dropped, not pending");
    let m = client.metrics().events;
    assert_eq!(
        (m.queued, m.sent, m.rejected, m.failed, m.retries),
        (5, 3, 1, 1, 0),
        "{m:?}"
    );
    assert_eq!(lock(&store).requests, 2, "no retry of the refused batch");
    assert_eq!(client.pending(), 0);
    server.stop().await;
}

/// A full queue drops the oldest events and counts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_drops_oldest_and_counts() {
    let store = Shared::default();
    let mut server = events_server(store.clone());
    let client = fast(&server.url)
        .flush_interval(Duration::from_secs(3600))
        .queue_capacity(10)
        .batch_size(1000)
        .build()
        .expect("client");
    let ids: Vec<String> = (0..25)
        .map(|i| client.track(Event::new("open", i.to_string())).to_string())
        .collect();
    assert_eq!(client.pending(), 10);
    assert_eq!(client.metrics().events.dropped, 15);
    client.flush().await.expect("flush");
    assert_eq!(
        lock(&store).stored,
        ids[15..].to_vec(),
        "the newest 10 survive"
    );
    server.stop().await;
}

/// Reaching `batch_size` flushes without waiting for the timer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_batch_flushes_before_the_interval() {
    let store = Shared::default();
    let mut server = events_server(store.clone());
    let client = fast(&server.url)
        .flush_interval(Duration::from_secs(3600))
        .batch_size(5)
        .build()
        .expect("client");
    for i in 0..5 {
        client.track(Event::new("open", i.to_string()));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while lock(&store).stored.len() < 5 {
        assert!(Instant::now() < deadline, "batch not sent");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.stop().await;
}

/// `close()` delivers what is queued and stops; later events are dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_flushes_then_stops() {
    let store = Shared::default();
    let mut server = events_server(store.clone());
    let client = fast(&server.url)
        .flush_interval(Duration::from_secs(3600))
        .build()
        .expect("client");
    client.track(Event::new("open", "1").property("source", "bot"));
    client.close().await.expect("close");
    assert_eq!(lock(&store).stored.len(), 1);
    client.track(Event::new("open", "2"));
    assert_eq!(client.metrics().events.dropped, 1);
    assert!(matches!(client.close().await, Err(Error::Closed)));
    assert!(matches!(client.flush().await, Err(Error::Closed)));
    server.stop().await;
}

/// Undeliverable items: `flush()` gives up after its timeout and keeps
/// them; `close()` drops and counts them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_service_bounds_flush_and_close() {
    let client = fast(&dead_url())
        .flush_timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    client.track(Event::new("open", "1"));
    let started = Instant::now();
    assert!(matches!(
        client.flush().await,
        Err(Error::FlushTimeout { pending: 1, .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(client.pending(), 1);
    assert!(client.close().await.is_err());
    assert_eq!(client.metrics().events.failed, 1);
    assert_eq!(client.pending(), 0);
}

async fn slow_config() -> HttpResponse {
    tokio::time::sleep(Duration::from_secs(5)).await;
    HttpResponse::Ok().json(json!({"environment": "production"}))
}

/// A hanging service costs at most the request timeout; evaluation keeps
/// answering defaults meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timeout_bounds_a_hanging_service() {
    let mut server = fake(|cfg| {
        cfg.route("/api/v1/sdk/config", web::get().to(slow_config));
    });
    let client = Client::builder(&server.url, "token")
        .request_timeout(Duration::from_millis(200))
        .build()
        .expect("client");
    let started = Instant::now();
    let err = client.refresh().await.expect_err("times out");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_retryable(), "{err}");
    let ctx = ContextBuilder::new().unit_id("1").build();
    assert_eq!(client.string_value("cta_copy", &ctx, "Buy"), "Buy");
    drop(client);
    server.stop().await;
}

async fn garbage_config() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body("{\"environment\": 5")
}

async fn broken_flag_config() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("ETag", "\"v1\""))
        .json(json!({
            "environment": "production",
            "flags": [{
                "key": "broken", "value_type": "boolean",
                "variants": [{"key": "on", "value": true}],
                "default_variant": "missing", "enabled": true,
                "fallthrough": {"variant": "nope"}
            }]
        }))
}

/// Malformed configs are errors, not panics; an invalid flag yields the
/// caller's default with reason `ERROR`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_configs_never_break_evaluation() {
    let mut garbage = fake(|cfg| {
        cfg.route("/api/v1/sdk/config", web::get().to(garbage_config));
    });
    let client = Client::builder(&garbage.url, "token")
        .build()
        .expect("client");
    assert!(client.refresh().await.is_err());
    assert!(!client.is_ready());

    let mut broken = fake(|cfg| {
        cfg.route("/api/v1/sdk/config", web::get().to(broken_flag_config));
    });
    let client = Client::builder(&broken.url, "token")
        .build()
        .expect("client");
    assert!(client.wait_ready(Duration::from_secs(5)).await);
    let ctx = ContextBuilder::new().unit_id("1").build();
    assert!(client.bool_value("broken", &ctx, true));
    assert!(!client.bool_value("broken", &ctx, false));
    assert_eq!(client.variant("broken", &ctx).reason, Reason::Error);
    garbage.stop().await;
    broken.stop().await;
}

/// Building needs a Tokio runtime for the background tasks; without one
/// the builder says so instead of panicking.
#[test]
fn building_outside_a_runtime_is_an_error() {
    let r = Client::builder("http://127.0.0.1:9", "token").build();
    assert!(matches!(r, Err(Error::NoRuntime)), "{r:?}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let r = rt.block_on(async { Client::builder("not a url", "token").build() });
    assert!(matches!(r, Err(Error::Config(_))), "{r:?}");
}
