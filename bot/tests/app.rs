//! `/app`: a `web_app` button opening the configured Mini App, or a note
//! that none is configured.

mod common;

use common::RunningBot;
use common::telegram::MockTelegram;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_opens_the_configured_mini_app() {
    let tg = MockTelegram::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let url = "https://tma.example.com/portfolio?from=bot";
    let bot = RunningBot::start_with(
        &tg.url,
        dir.path().join("bot.sqlite"),
        None,
        &["--miniapp-url", url],
    )
    .await;
    let mut c = tg.chat(1030);
    let reply = c.say_raw("/app", 1).await.remove(0);
    let button = &reply["reply_markup"]["inline_keyboard"][0][0];
    assert_eq!(button["web_app"]["url"], url, "{reply}");
    assert!(button["text"].as_str().is_some_and(|t| !t.is_empty()));
    let help = c.say("/help", 1).await.remove(0);
    assert!(help.contains("/app") && help.contains("/refund"), "{help}");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_without_a_url_is_not_configured() {
    let tg = MockTelegram::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let bot = RunningBot::start(&tg.url, dir.path().join("bot.sqlite"), None).await;
    let reply = tg.chat(1031).say_raw("/app", 1).await.remove(0);
    let text = reply["text"].as_str().unwrap_or_default();
    assert!(text.contains("not configured"), "{reply}");
    assert!(reply.get("reply_markup").is_none(), "no button: {reply}");
    bot.stop().await;
}
