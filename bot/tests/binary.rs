//! The `verdict-bot` binary end to end: configured only through its
//! environment, against the mock Bot API and the real service; stops
//! cleanly on SIGINT.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::telegram::{MockTelegram, cta};
use common::verdict::{Service, forced_flags};
use verdict::auth::Role;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_runs_from_its_environment_and_stops_on_sigint() {
    let service = Service::start();
    service.create_flags(forced_flags()).await;
    let tg = MockTelegram::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_verdict-bot"))
        .env("BOT_TOKEN", "123456:TEST")
        .env("TELEGRAM_API_URL", &tg.url)
        .env("VERDICT_URL", &service.url)
        .env("VERDICT_TOKEN", service.token(Role::Sdk))
        .env("BOT_DB", dir.path().join("bot.sqlite"))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start verdict-bot");

    // The ruleset download races the first update; retry until the forced arm shows.
    let mut c = tg.chat(1002);
    let deadline = Instant::now() + common::WAIT;
    loop {
        let menu = c.say_raw("/menu", 1).await.remove(0);
        if cta(&menu) == "Pro trial ends today" {
            break;
        }
        assert!(Instant::now() < deadline, "variant never served: {menu}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        tg.requests().iter().any(|(m, b)| m == "setMyCommands"
            && b["commands"].as_array().is_some_and(|c| c.len() == 11)),
        "commands registered"
    );

    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status();
    assert!(sent.is_ok_and(|s| s.success()), "SIGINT sent");
    let deadline = Instant::now() + common::WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("verdict-bot did not stop on SIGINT");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status}");
}
