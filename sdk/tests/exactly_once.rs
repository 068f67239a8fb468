//! Events reach the real service exactly once although a fault-injecting
//! proxy in front of it refuses the first flushes and loses one response
//! after the service stored the batch.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use common::{Service, fake};
use diesel::prelude::*;
use serde_json::json;
use uuid::Uuid;
use verdict::auth::Role;
use verdict::db::DbConnection;
use verdict::db::schema::events;
use verdict_sdk::{Backoff, Client, Event};

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    /// `POST /api/v1/events` requests seen.
    events_requests: AtomicU32,
    /// Answer 503 without forwarding to requests `1..=fail_first`.
    fail_first: u32,
    /// Forward request `n`, then answer 503 anyway.
    lose_response_of: u32,
}

fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .content_type("application/problem+json")
        .body(r#"{"title":"Service Unavailable","status":503,"detail":"injected"}"#)
}

async fn forward(req: HttpRequest, body: web::Bytes, proxy: web::Data<Proxy>) -> HttpResponse {
    let is_events = req.method() == actix_web::http::Method::POST && req.path() == "/api/v1/events";
    let n = if is_events {
        proxy.events_requests.fetch_add(1, Ordering::SeqCst) + 1
    } else {
        0
    };
    if is_events && n <= proxy.fail_first {
        return unavailable();
    }
    let Ok(method) = reqwest::Method::from_bytes(req.method().as_str().as_bytes()) else {
        return HttpResponse::BadGateway().finish();
    };
    let mut up = proxy
        .http
        .request(method, format!("{}{}", proxy.upstream, req.uri()))
        .body(body.to_vec());
    for name in ["authorization", "content-type", "if-none-match"] {
        if let Some(v) = req.headers().get(name).and_then(|v| v.to_str().ok()) {
            up = up.header(name, v);
        }
    }
    let Ok(resp) = up.send().await else {
        return HttpResponse::BadGateway().finish();
    };
    if is_events && n == proxy.lose_response_of {
        return unavailable();
    }
    let status = actix_web::http::StatusCode::from_u16(resp.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
    let mut out = HttpResponse::build(status);
    for name in ["content-type", "etag"] {
        if let Some(v) = resp.headers().get(name).and_then(|v| v.to_str().ok()) {
            out.insert_header((name, v.to_owned()));
        }
    }
    out.body(resp.bytes().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_exactly_once_after_injected_failures() {
    let service = Service::start();
    let proxy = Arc::new(Proxy {
        upstream: service.url().to_owned(),
        http: reqwest::Client::new(),
        events_requests: AtomicU32::new(0),
        fail_first: 3,
        lose_response_of: 4,
    });
    let state = proxy.clone();
    let mut front = fake(move |cfg| {
        cfg.app_data(web::Data::from(state.clone()))
            .default_service(web::to(forward));
    });
    let client = Client::builder(&front.url, service.token(Role::Sdk))
        .flush_interval(Duration::from_millis(20))
        .batch_size(25)
        .flush_backoff(Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(50),
        })
        .build()
        .expect("client");
    let at: DateTime<Utc> = Utc::now();
    let tracked: Vec<(Uuid, String)> = (0..100)
        .map(|i| (Uuid::new_v4(), format!("user-{i}")))
        .collect();
    for (id, unit) in &tracked {
        client.track(
            Event::new("cta_click", unit.as_str())
                .event_id(*id)
                .timestamp(at)
                .value(1.0),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.pending() > 0 {
        assert!(
            Instant::now() < deadline,
            "not delivered: {:?}",
            client.metrics()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    client.close().await.expect("close");
    let m = client.metrics().events;
    assert!(proxy.events_requests.load(Ordering::SeqCst) > 4);
    assert_eq!(m.sent + m.duplicates, 100, "{m:?}");
    assert!(m.duplicates > 0, "the lost batch was re-sent: {m:?}");
    assert!(m.retries > 0);
    assert_eq!((m.rejected, m.failed, m.dropped), (0, 0, 0), "{m:?}");

    // The service stored exactly the tracked ids, once each ...
    let stored: Vec<String> = {
        let mut conn = service.state.db.conn().expect("conn");
        events::table
            .select(events::event_id)
            .load(&mut *conn as &mut DbConnection)
            .expect("rows")
    };
    let want: BTreeSet<String> = tracked.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(stored.len(), 100, "one row per event");
    assert_eq!(stored.into_iter().collect::<BTreeSet<_>>(), want);

    // ... and re-sending all of them adds nothing.
    let replay: Vec<_> = tracked
        .iter()
        .map(|(id, unit)| {
            json!({"event_id": id, "unit_id": unit, "name": "cta_click",
                "timestamp": at.to_rfc3339(), "value": 1.0})
        })
        .collect();
    let (status, body) = service
        .call(
            "POST",
            "/api/v1/events",
            Role::Sdk,
            json!({"events": replay}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["accepted"].as_u64(), body["duplicates"].as_u64()),
        (Some(0), Some(100)),
        "{body}"
    );
    front.stop().await;
}
