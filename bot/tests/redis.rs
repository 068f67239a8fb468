//! Dialogue state in Redis (`REDIS_URL`), including the payments kept for
//! `/refund`, survives a restart. Runs against a `redis-server` the test
//! starts on a free port; skipped (with a note) where no `redis-server` is
//! installed.

mod common;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::RunningBot;
use common::telegram::MockTelegram;
use verdict_bot::payments::Order;
use verdict_bot::session::Tier;

/// A `redis-server` child process, killed on drop.
struct Redis {
    child: Child,
    url: String,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_redis() -> Option<Redis> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let redis = Redis {
        child,
        url: format!("redis://127.0.0.1:{port}/"),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(redis)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialogue_state_in_redis_survives_restarts() {
    let Some(redis) = start_redis() else {
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let tg = MockTelegram::start();
    let dir = tempfile::tempdir().expect("temp dir");
    // The SQLite path is unused when REDIS_URL is set.
    let db = dir.path().join("unused.sqlite");
    let args = ["--redis-url", redis.url.as_str()];
    let bot = RunningBot::start_with(&tg.url, db.clone(), None, &args).await;
    let mut c = tg.chat(1020);
    c.say("/start", 2).await;
    c.press_raw("q:use:portfolio", 1).await;
    bot.stop().await;

    let bot = RunningBot::start_with(&tg.url, db.clone(), None, &args).await;
    let q3 = c.press_raw("q:exp:no", 1).await.remove(0);
    assert!(
        q3["text"].as_str().is_some_and(|t| t.starts_with("3/3")),
        "{q3}"
    );
    bot.stop().await;
    assert!(!db.exists(), "state went to Redis, not SQLite");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_in_redis_is_refundable_after_a_restart() {
    let Some(redis) = start_redis() else {
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let tg = MockTelegram::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("unused.sqlite");
    let args = ["--redis-url", redis.url.as_str()];
    let bot = RunningBot::start_with(&tg.url, db.clone(), None, &args).await;
    let mut c = tg.chat(1021);
    let order = Order {
        tier: Tier::Vip,
        auto_topup: true,
        price_stars: 300,
    };
    let charge = tg.successful_payment(1021, 300, &order.payload());
    c.text().await;
    bot.stop().await;

    let bot = RunningBot::start_with(&tg.url, db.clone(), None, &args).await;
    let reply = c.say("/refund", 1).await.remove(0);
    assert!(reply.starts_with("↩️ Refunded 300 Stars"), "{reply}");
    let calls = tg.calls("refundStarPayment");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["user_id"], 1021);
    assert_eq!(calls[0]["telegram_payment_charge_id"], charge.as_str());
    bot.stop().await;
    assert!(!db.exists(), "state went to Redis, not SQLite");
}
