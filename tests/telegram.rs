//! Telegram digest and alerts through the outbox, against a mock Bot API
//! served here: one digest per local day across replicas, snapshot alerts,
//! flood control's `retry_after`, and the demo digest's text as a snapshot.

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, test, web};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use common::{Backend, TestApp, send};
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict::db::DbConnection;
use verdict::results::scheduled_pass;
use verdict::seed::{seed_demo, simulate_users};
use verdict::telegram::{
    DigestPass, DigestSchedule, Presentation, TelegramChat, digest, digest_pass, gather,
};
use verdict::webhooks::{BotToken, Dispatcher, Event, TelegramBot, enqueue_telegram};
use verdict_testkit::backend_tests;

const TOKEN: &str = "123456:TEST-token-never-shown";
const CHAT: &str = "-100777";

/// A request the mock Bot API received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    body: Value,
    at: Instant,
}

/// A mock Bot API: answers with `script` in turn, then `200 {"ok": true}`.
struct BotApi {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    server: actix_web::dev::ServerHandle,
}

impl BotApi {
    fn start(script: Vec<(u16, Value)>) -> Self {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = received.clone();
        let server = HttpServer::new(move || {
            let (log, script) = (log.clone(), script.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (log, script) = (log.clone(), script.clone());
                async move {
                    log.lock().expect("lock").push(Received {
                        path: req.path().to_owned(),
                        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                        at: Instant::now(),
                    });
                    let (status, answer) = script
                        .lock()
                        .expect("lock")
                        .pop_front()
                        .unwrap_or((200, json!({"ok": true, "result": {"message_id": 1}})));
                    HttpResponse::build(
                        actix_web::http::StatusCode::from_u16(status).expect("status"),
                    )
                    .json(answer)
                }
            }))
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind");
        let url = format!("http://{}", server.addrs()[0]);
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            url,
            received,
            server: handle,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

fn bot(api_url: &str, max_attempts: i32) -> TelegramBot {
    TelegramBot {
        api_url: api_url.into(),
        token: BotToken::new(TOKEN).expect("token"),
        max_attempts,
        // Short, so that a retry that ignored `retry_after` would come at once.
        base_backoff: Duration::from_millis(20),
        timeout: Duration::from_secs(2),
    }
}

fn chat() -> TelegramChat {
    TelegramChat {
        chat: CHAT.into(),
        view: Presentation {
            public_url: "https://verdict.example.com".into(),
            tz: chrono_tz::Europe::Moscow,
        },
    }
}

fn nine_in_moscow() -> DigestSchedule {
    DigestSchedule {
        at: NaiveTime::from_hms_opt(9, 0, 0).expect("time"),
        tz: chrono_tz::Europe::Moscow,
    }
}

fn utc(raw: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(raw)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

async fn deliveries(ctx: &TestApp, query: &str) -> Value {
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let uri = format!("/api/v1/webhooks/deliveries{query}");
    send(&app, ctx.request("GET", &uri, Role::Admin, Value::Null))
        .await
        .1
}

fn statuses(log: &Value) -> Vec<String> {
    log["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| d["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Runs `dispatcher` until every Telegram delivery is delivered (10 s at most).
async fn deliver_all(dispatcher: &Dispatcher, ctx: &TestApp) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        dispatcher.deliver_due().await.expect("dispatch");
        let log = deliveries(ctx, "?channel=telegram").await;
        if statuses(&log).iter().all(|s| s == "delivered") {
            return log;
        }
        assert!(Instant::now() < deadline, "not all delivered: {log}");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_send_message(request: &Received) {
    assert_eq!(request.path, format!("/bot{TOKEN}/sendMessage"));
    assert_eq!(
        (
            &request.body["chat_id"],
            &request.body["parse_mode"],
            &request.body["disable_web_page_preview"]
        ),
        (&json!(-100_777), &json!("HTML"), &json!(true)),
        "{:?}",
        request.body
    );
}

async fn digest_is_sent_once_per_local_day(backend: Backend) {
    let ctx = TestApp::new(backend);
    let replica = ctx.replica(verdict::state::Settings::default());
    {
        let mut conn = ctx.pool().conn().expect("conn");
        seed_demo(&mut conn, utc("2026-11-30T12:00:00Z").naive_utc()).expect("seed");
    }
    let pass = |db: verdict::db::Db, now: &str| {
        let now = utc(now);
        async move {
            db.run(move |conn| digest_pass(conn, now, &nine_in_moscow(), &chat()))
                .await
                .expect("digest pass")
        }
    };
    assert_eq!(
        pass(ctx.pool().clone(), "2026-12-01T05:59:59Z").await,
        DigestPass::NotDue,
        "08:59:59 in Moscow"
    );
    // Two replicas at the digest time: exactly one queues it.
    let (a, b) = tokio::join!(
        pass(ctx.pool().clone(), "2026-12-01T06:00:00Z"),
        pass(replica.db.clone(), "2026-12-01T06:00:01Z")
    );
    let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("day");
    let mut outcomes = [a, b];
    outcomes.sort_by_key(|o| matches!(o, DigestPass::AlreadySent(_)));
    assert_eq!(
        outcomes,
        [
            DigestPass::Sent { day, messages: 1 },
            DigestPass::AlreadySent(day)
        ]
    );
    assert_eq!(
        pass(replica.db.clone(), "2026-12-01T20:00:00Z").await,
        DigestPass::AlreadySent(day),
        "later the same local day"
    );
    let api = BotApi::start(vec![]);
    let dispatcher = Dispatcher::telegram(ctx.pool().clone(), bot(&api.url, 3));
    deliver_all(&dispatcher, &ctx).await;
    assert_eq!(
        pass(ctx.pool().clone(), "2026-12-02T06:00:00Z").await,
        DigestPass::Sent {
            day: day.succ_opt().expect("next day"),
            messages: 1
        },
        "the next local day has its own slot"
    );
    let log = deliver_all(&dispatcher, &ctx).await;
    assert_eq!(dispatcher.deliver_due().await.expect("dispatch"), 0);

    let received = api.received();
    assert_eq!(received.len(), 2, "one digest per day: {received:?}");
    for request in &received {
        assert_send_message(request);
    }
    let texts: Vec<&str> = received
        .iter()
        .map(|r| r.body["text"].as_str().expect("text"))
        .collect();
    assert!(
        texts[0].starts_with("📊 <b>Verdict digest</b> · Tuesday 1 December 2026"),
        "{}",
        texts[0]
    );
    assert!(
        texts[1].starts_with("📊 <b>Verdict digest</b> · Wednesday 2 December 2026"),
        "{}",
        texts[1]
    );
    assert!(
        texts[0].contains("4 running experiments")
            && texts[0]
                .contains("<a href=\"https://verdict.example.com/ui/experiments/cta_copy\">"),
        "{}",
        texts[0]
    );
    assert_eq!(
        log["deliveries"]
            .as_array()
            .expect("deliveries")
            .iter()
            .map(|d| (d["event"].clone(), d["channel"].clone()))
            .collect::<Vec<_>>(),
        [
            (json!("digest.daily"), json!("telegram")),
            (json!("digest.daily"), json!("telegram"))
        ]
    );
    assert_eq!(
        deliveries(&ctx, "?channel=webhook").await["deliveries"],
        json!([])
    );
    api.server.stop(false).await;
}

async fn snapshot_alerts_are_sent_and_webhooks_left_to_their_channel(backend: Backend) {
    let ctx = TestApp::new(backend);
    let seeded = utc("2026-11-30T12:00:00Z").naive_utc();
    {
        let mut conn = ctx.pool().conn().expect("conn");
        let conn: &mut DbConnection = &mut conn;
        seed_demo(conn, seeded).expect("seed");
        // Launched 10 days before `seeded`, due 14 days after launch: the
        // snapshot slot 5 days later (midnight) finds them half a day overdue.
        let later = seeded + TimeDelta::days(5);
        let report =
            scheduled_pass(conn, later, Duration::from_secs(86_400), Some(&chat())).expect("pass");
        assert_eq!(report.computed.len(), 4, "{report:?}");
    }
    let pending = deliveries(&ctx, "?channel=telegram").await;
    assert_eq!(statuses(&pending), ["pending"; 4], "{pending}");
    let api = BotApi::start(vec![]);
    let dispatcher = Dispatcher::telegram(ctx.pool().clone(), bot(&api.url, 3));
    // One poll of the dispatcher sends what the snapshot queued.
    assert_eq!(dispatcher.deliver_due().await.expect("dispatch"), 4);
    let sent = deliveries(&ctx, "?channel=telegram").await;
    assert_eq!(statuses(&sent), ["delivered"; 4], "{sent}");
    let received = api.received();
    let mut texts: Vec<&str> = received
        .iter()
        .inspect(|r| assert_send_message(r))
        .map(|r| r.body["text"].as_str().expect("text"))
        .collect();
    texts.sort_unstable();
    assert_eq!(texts.len(), 4);
    for (text, key) in texts.iter().zip([
        "cta_copy",
        "digest_layout",
        "import_hint",
        "vip_paywall_copy",
    ]) {
        assert!(
            text.starts_with(&format!(
                "⏰ <b>Decision overdue</b>: <a href=\"https://verdict.example.com/ui/experiments/{key}\">"
            )) && text.contains("0.5 days ago"),
            "{text}"
        );
    }
    // The webhook copies wait for the webhook dispatcher.
    let webhooks = deliveries(&ctx, "?channel=webhook").await;
    assert_eq!(statuses(&webhooks), ["pending"; 4], "{webhooks}");
    assert!(
        webhooks["deliveries"]
            .as_array()
            .expect("deliveries")
            .iter()
            .all(|d| d["event"] == "decision.deadline_reached" && d["attempts"] == 0),
        "{webhooks}"
    );
    api.server.stop(false).await;
}

async fn flood_control_retry_after_is_waited_out(backend: Backend) {
    let ctx = TestApp::new(backend);
    let flood = json!({
        "ok": false, "error_code": 429,
        "description": "Too Many Requests: retry after 2",
        "parameters": {"retry_after": 2},
    });
    let api = BotApi::start(vec![(429, flood)]);
    {
        let mut conn = ctx.pool().conn().expect("conn");
        enqueue_telegram(&mut conn, Event::SrmDetected, CHAT, "⚠️ <b>SRM</b>").expect("enqueue");
    }
    let dispatcher = Dispatcher::telegram(ctx.pool().clone(), bot(&api.url, 5));
    assert_eq!(dispatcher.deliver_due().await.expect("dispatch"), 1);
    let after_429 = deliveries(&ctx, "").await["deliveries"][0].clone();
    assert_eq!(
        (
            &after_429["status"],
            &after_429["attempts"],
            &after_429["last_status"],
            &after_429["last_error"]
        ),
        (
            &json!("pending"),
            &json!(1),
            &json!(429),
            &json!("Telegram answered 429: Too Many Requests: retry after 2")
        )
    );
    let first_at = api.received()[0].at;
    let log = deliver_all(&dispatcher, &ctx).await;
    let received = api.received();
    assert_eq!(received.len(), 2, "one refusal, then one delivery");
    let waited = received[1].at - first_at;
    assert!(
        waited >= Duration::from_secs(2),
        "retried after {waited:?}, before retry_after"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(received[0].body, received[1].body, "the same message");
    assert_send_message(&received[1]);
    let delivered = &log["deliveries"][0];
    assert_eq!(
        (
            &delivered["attempts"],
            &delivered["last_status"],
            &delivered["last_error"]
        ),
        (&json!(2), &json!(200), &Value::Null)
    );
    assert!(!log.to_string().contains(TOKEN), "{log}");
    api.server.stop(false).await;
}

async fn unreachable_bot_api_errors_without_the_token(backend: Backend) {
    let ctx = TestApp::new(backend);
    // A port nobody listens on any more.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    {
        let mut conn = ctx.pool().conn().expect("conn");
        enqueue_telegram(&mut conn, Event::DailyDigest, CHAT, "digest").expect("enqueue");
    }
    let dispatcher = Dispatcher::telegram(ctx.pool().clone(), bot(&format!("http://{closed}"), 1));
    assert_eq!(dispatcher.deliver_due().await.expect("dispatch"), 1);
    let log = deliveries(&ctx, "").await;
    let failed = &log["deliveries"][0];
    assert_eq!(
        (&failed["status"], &failed["last_status"]),
        (&json!("failed"), &Value::Null)
    );
    let error = failed["last_error"].as_str().expect("error");
    assert!(error.starts_with("request failed"), "{error}");
    assert!(!log.to_string().contains(TOKEN), "{log}");
}

/// The demo's digest (`verdict seed --demo --simulate-users 300`, the daily
/// snapshot at midnight UTC, the digest at 09:00 in Moscow) as a whole, against
/// `tests/fixtures/digest/demo.html`; `UPDATE_SNAPSHOTS=1` rewrites it.
async fn demo_digest_matches_its_snapshot(backend: Backend) {
    let ctx = TestApp::new(backend);
    let now = utc("2026-12-01T06:00:00Z");
    let messages = ctx
        .pool()
        .run(move |conn| {
            let naive = now.naive_utc();
            seed_demo(conn, naive).expect("seed");
            simulate_users(conn, 300, 7, naive).expect("simulate");
            scheduled_pass(conn, naive, Duration::from_secs(86_400), None).expect("snapshots");
            let entries = gather(conn, naive)?;
            Ok::<_, verdict::results::ResultsError>(digest(
                nine_in_moscow().day(now),
                &entries,
                &chat().view,
            ))
        })
        .await
        .expect("digest");
    assert_eq!(messages.len(), 1, "{messages:?}");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/digest/demo.html"
    );
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, format!("{}\n", messages[0])).expect("write snapshot");
    }
    let expected = std::fs::read_to_string(path).expect("tests/fixtures/digest/demo.html");
    assert_eq!(
        messages[0],
        expected.trim_end_matches('\n'),
        "the demo digest changed: review it, then UPDATE_SNAPSHOTS=1 cargo test --test telegram"
    );
}

backend_tests!(
    digest_is_sent_once_per_local_day,
    snapshot_alerts_are_sent_and_webhooks_left_to_their_channel,
    flood_control_retry_after_is_waited_out,
    unreachable_bot_api_errors_without_the_token,
    demo_digest_matches_its_snapshot,
);
