//! A user who blocked the bot: Telegram answers every send with 403 "bot
//! was blocked by the user". The bot tracks `bot_blocked` once per block,
//! does not retry, keeps serving everyone else, and re-arms once a message
//! gets through again.

mod common;

use common::RunningBot;
use common::telegram::MockTelegram;
use common::verdict::{Service, forced_flags};
use verdict::auth::Role;

/// Sends to the user's chat recorded so far (refused ones included).
fn sends_to(tg: &MockTelegram, user: u64) -> usize {
    tg.requests()
        .iter()
        .filter(|(m, b)| m.starts_with("send") && b["chat_id"].as_u64() == Some(user))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_is_tracked_once_until_a_message_gets_through() {
    let service = Service::start();
    service.create_flags(forced_flags()).await;
    let tg = MockTelegram::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let token = service.token(Role::Sdk);
    let bot = RunningBot::start(
        &tg.url,
        dir.path().join("bot.sqlite"),
        Some((&service.url, &token)),
    )
    .await;
    let mut c = tg.chat(1007);
    c.onboard("portfolio", true, "usd").await;

    tg.set_blocked(1007, true);
    let before = sends_to(&tg, 1007);
    // A reply, a multi-message flow and an invoice: each stops at its first
    // refused send.
    for (input, method) in [
        ("/digest", "sendMessage"),
        ("/start", "sendMessage"),
        ("vip:buy", "sendInvoice"),
    ] {
        if input.starts_with('/') {
            c.send(input);
        } else {
            c.press(input);
        }
        assert_eq!(c.next().await.0, method, "{input}");
    }
    // Everyone else is still served.
    assert!(tg.chat(1008).say("/help", 1).await[0].contains("/refund"));
    tg.set_blocked(1007, false);
    let help = c.say("/help", 1).await.remove(0);
    assert!(
        help.contains("/app"),
        "no retried send before the reply: {help}"
    );
    assert_eq!(sends_to(&tg, 1007) - before, 4, "one attempt per update");
    bot.flush().await;
    let blocked = service.events("bot_blocked");
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    assert_eq!(blocked[0].0, "1007");
    assert_eq!(blocked[0].2["icp_segment"], "high");
    assert!(service.events("invoice_sent").is_empty(), "invoice refused");

    // The reply that got through re-armed it: a new block is a new event.
    tg.set_blocked(1007, true);
    c.send("/digest");
    c.next().await;
    tg.set_blocked(1007, false);
    c.say("/help", 1).await;
    bot.flush().await;
    assert_eq!(service.events("bot_blocked").len(), 2);
    bot.stop().await;
}
