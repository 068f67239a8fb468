//! Events the bot tracks through the SDK, as stored by the service.
//!
//! These need the service's `POST /api/v1/events` (event ingestion, being
//! built on the `experiments` branch); until it is on main they are
//! ignored. Run them with `cargo test -p verdict-bot -- --ignored`.

mod common;

use common::RunningBot;
use common::telegram::MockTelegram;
use common::verdict::{Service, forced_flags};
use verdict::auth::Role;
use verdict_bot::payments::Order;
use verdict_bot::session::Tier;

async fn setup() -> (Service, MockTelegram, RunningBot, tempfile::TempDir) {
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
    (service, tg, bot, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs POST /api/v1/events"]
async fn pressing_the_cta_stores_cta_click() {
    let (service, tg, bot, _dir) = setup().await;
    let mut c = tg.chat(1001);
    c.onboard("portfolio", true, "usd").await;
    c.press("cta");
    c.text().await;
    bot.flush().await;

    let starts = service.events("bot_start");
    assert_eq!(starts.len(), 1, "{starts:?}");
    let done = service.events("questionnaire_completed");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].2["icp_segment"], "high", "{done:?}");
    let clicks = service.events("cta_click");
    assert_eq!(clicks.len(), 1, "{clicks:?}");
    assert_eq!(clicks[0].0, "1001");
    assert_eq!(clicks[0].2["copy"], "Try Pro free");
    assert_eq!(clicks[0].2["icp_segment"], "high");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs POST /api/v1/events"]
async fn successful_stars_payment_stores_the_event() {
    let (service, tg, bot, _dir) = setup().await;
    let mut c = tg.chat(1002);
    c.onboard("alerts", false, "usd").await;
    let payload = Order {
        tier: Tier::Vip,
        auto_topup: true,
        price_stars: 200,
    }
    .payload();
    tg.successful_payment(1002, 200, &payload);
    c.text().await;
    bot.flush().await;
    let paid = service.events("stars_payment_succeeded");
    assert_eq!(paid.len(), 1, "{paid:?}");
    let (unit, value, props) = &paid[0];
    assert_eq!((unit.as_str(), *value), ("1002", Some(200.0)));
    assert_eq!(props["tier"], "vip");
    assert_eq!(props["auto_topup"], true);
    assert_eq!(props["currency"], "XTR");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs POST /api/v1/events"]
async fn import_and_nps_events_are_stored() {
    let (service, tg, bot, _dir) = setup().await;
    let mut c = tg.chat(1003);
    c.onboard("portfolio", false, "eur").await;
    c.say("/import", 1).await;
    c.say("nonsense", 1).await;
    c.say("BTC 1\nETH 2\nTON 3", 1).await;
    c.say("/feedback", 1).await;
    c.press("nps:7");
    c.text().await;
    bot.flush().await;
    let imports = service.events("portfolio_import");
    let outcomes: Vec<_> = imports
        .iter()
        .map(|(_, v, p)| (p["success"].clone(), *v))
        .collect();
    assert_eq!(
        outcomes,
        vec![(false.into(), None), (true.into(), Some(3.0))],
        "{imports:?}"
    );
    let nps = service.events("nps_survey");
    assert_eq!(nps.len(), 1);
    assert_eq!(
        (nps[0].1, nps[0].2["category"].as_str()),
        (Some(7.0), Some("passive"))
    );
    bot.stop().await;
}
