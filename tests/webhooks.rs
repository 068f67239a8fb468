//! Outgoing notifications: signed, retried with backoff, logged.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use verdict_testkit::backend_tests;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, test, web};
use common::{Backend, TestApp, send};
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict::webhooks::{Dispatcher, Event, WebhookSettings, enqueue, sign};

/// Received (event header, delivery header, signature header, body).
type Received = Arc<Mutex<Vec<(String, String, String, String)>>>;

/// A receiver that fails the first `failures` requests with 500.
fn receiver(failures: usize) -> (String, Received, actix_web::dev::ServerHandle) {
    let received: Received = Arc::default();
    let log = received.clone();
    let server = HttpServer::new(move || {
        let log = log.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let log = log.clone();
            async move {
                let header = |name: &str| {
                    req.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let mut log = log.lock().expect("lock");
                log.push((
                    header("x-verdict-event"),
                    header("x-verdict-delivery"),
                    header("x-verdict-signature"),
                    String::from_utf8_lossy(&body).into_owned(),
                ));
                if log.len() <= failures {
                    HttpResponse::InternalServerError().finish()
                } else {
                    HttpResponse::Ok().finish()
                }
            }
        }))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .expect("bind");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (format!("http://{addr}/hook"), received, handle)
}

fn settings(url: String, max_attempts: i32) -> WebhookSettings {
    WebhookSettings {
        url,
        secret: "hook-secret".into(),
        max_attempts,
        base_backoff: Duration::from_millis(20),
        timeout: Duration::from_secs(2),
    }
}

async fn deliveries(ctx: &TestApp, query: &str) -> Value {
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let uri = format!("/api/v1/webhooks/deliveries{query}");
    send(&app, ctx.request("GET", &uri, Role::Admin, Value::Null))
        .await
        .1
}

async fn drive_until(dispatcher: &Dispatcher, ctx: &TestApp, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        dispatcher.deliver_due().await.expect("dispatch");
        let log = deliveries(ctx, "").await;
        if log["deliveries"][0]["status"] == status {
            return log["deliveries"][0].clone();
        }
        assert!(Instant::now() < deadline, "never reached {status}: {log}");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn retried_until_delivered_and_signed(backend: Backend) {
    let ctx = TestApp::new(backend);
    let (url, received, server) = receiver(2);
    let data = json!({"experiment": "cta_copy", "outcome": "ship", "variant": "urgency"});
    let mut conn = ctx.pool().conn().expect("conn");
    enqueue(&mut conn, Event::DecisionRecorded, &data).expect("enqueue");
    drop(conn);
    let dispatcher = Dispatcher::new(ctx.pool().clone(), settings(url, 5));
    let delivery = drive_until(&dispatcher, &ctx, "delivered").await;
    assert_eq!(
        (
            delivery["attempts"].as_i64(),
            delivery["last_status"].as_i64()
        ),
        (Some(3), Some(200))
    );
    let received = received.lock().expect("lock").clone();
    assert_eq!(received.len(), 3, "two failures, then success");
    let (event, id, signature, body) = &received[2];
    assert_eq!(event, "decision.recorded");
    assert_eq!(id, &delivery["id"].to_string());
    assert_eq!(
        signature,
        &sign(b"hook-secret", body.as_bytes()),
        "HMAC over the exact body"
    );
    let body: Value = serde_json::from_str(body).expect("json body");
    assert_eq!(
        (body["event"].clone(), body["data"].clone()),
        (json!("decision.recorded"), data)
    );
    assert!(
        received.iter().all(|r| r.3 == received[0].3),
        "retries send the same body"
    );
    server.stop(false).await;
}

async fn gives_up_after_max_attempts(backend: Backend) {
    let ctx = TestApp::new(backend);
    let (url, received, server) = receiver(usize::MAX);
    let mut conn = ctx.pool().conn().expect("conn");
    enqueue(
        &mut conn,
        Event::GuardrailFailed,
        &json!({"experiment": "x"}),
    )
    .expect("enqueue");
    drop(conn);
    let dispatcher = Dispatcher::new(ctx.pool().clone(), settings(url, 3));
    let delivery = drive_until(&dispatcher, &ctx, "failed").await;
    assert_eq!(
        (
            delivery["attempts"].as_i64(),
            delivery["last_status"].as_i64()
        ),
        (Some(3), Some(500))
    );
    assert_eq!(received.lock().expect("lock").len(), 3);
    let failed = deliveries(&ctx, "?status=failed").await;
    assert_eq!(failed["deliveries"].as_array().map(Vec::len), Some(1));
    let pending = deliveries(&ctx, "?status=pending").await;
    assert_eq!(pending["deliveries"], json!([]));
    server.stop(false).await;
}

backend_tests!(
    retried_until_delivered_and_signed,
    gives_up_after_max_attempts
);
