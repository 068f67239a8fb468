//! Events the bot tracks through the SDK.
//!
//! Each scenario runs twice: against the service's own event storage
//! (`POST /api/v1/events`, read back from its database), and through a tap
//! in front of the service that checks every event the SDK sends against
//! the wire contract.

mod common;

use common::RunningBot;
use common::tap::Tap;
use common::telegram::MockTelegram;
use common::verdict::{Service, forced_flags};
use serde_json::Value;
use verdict::auth::Role;
use verdict_bot::payments::Order;
use verdict_bot::session::Tier;

type Rows = Vec<(String, Option<f64>, Value)>;

/// Where the bot's events end up.
struct World {
    service: Service,
    tap: Option<Tap>,
    tg: MockTelegram,
    bot: RunningBot,
    _dir: tempfile::TempDir,
}

impl World {
    async fn start(through_tap: bool) -> Self {
        let service = Service::start();
        service.create_flags(forced_flags()).await;
        let tap = through_tap.then(|| Tap::start(&service.url));
        let url = tap.as_ref().map_or(service.url.clone(), |t| t.url.clone());
        let tg = MockTelegram::start();
        let dir = tempfile::tempdir().expect("temp dir");
        let token = service.token(Role::Sdk);
        let bot =
            RunningBot::start(&tg.url, dir.path().join("bot.sqlite"), Some((&url, &token))).await;
        Self {
            service,
            tap,
            tg,
            bot,
            _dir: dir,
        }
    }

    fn events(&self, name: &str) -> Rows {
        match &self.tap {
            Some(tap) => tap.events(name),
            None => self.service.events(name),
        }
    }

    /// Every event of `unit`, in order: (name, value, properties).
    fn events_of(&self, unit: &str) -> Rows {
        match &self.tap {
            Some(tap) => tap.events_of(unit),
            None => self.service.events_of(unit),
        }
    }
}

/// The bot's funnel, in the order a paying user walks it.
const FUNNEL: [&str; 6] = [
    "bot_start",
    "questionnaire_started",
    "questionnaire_completed",
    "paywall_shown",
    "invoice_sent",
    "stars_payment_succeeded",
];

/// `/start` → questionnaire → `/vip` → subscribe → pre-checkout → payment,
/// as Telegram drives it: every step is one event, in order.
async fn funnel(through_tap: bool) {
    let w = World::start(through_tap).await;
    let mut c = w.tg.chat(1002);
    c.onboard("portfolio", true, "usd").await;
    c.say("/vip", 1).await;
    let (method, invoice) = {
        c.press("vip:auto");
        c.next().await
    };
    assert_eq!(method, "sendInvoice");
    let payload = invoice["payload"].as_str().unwrap_or_default().to_owned();
    let mut cursor = w.tg.requests().len();
    let query = w.tg.pre_checkout(1002, "XTR", 200, &payload);
    let (_, answer) =
        w.tg.wait_for(&mut cursor, "answerPreCheckoutQuery", |m, b| {
            m == "answerPreCheckoutQuery" && b["pre_checkout_query_id"] == query.as_str()
        })
        .await;
    assert_eq!(answer["ok"], true, "{answer}");
    let charge = w.tg.successful_payment(1002, 200, &payload);
    assert!(c.text().await.starts_with("⭐ Welcome to VIP!"));
    w.bot.flush().await;

    let events = w.events_of("1002");
    let names: Vec<&str> = events.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, FUNNEL, "{events:#?}");
    let event = |name: &str| {
        events
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, p)| (*v, p.clone()))
            .unwrap_or_default()
    };
    // The usual properties: the tier at the time, the segment once known.
    for (name, _, props) in &events {
        let tier = if name == "stars_payment_succeeded" {
            "vip"
        } else {
            "free"
        };
        assert_eq!(props["tier"], tier, "{name}: {props}");
        let scored = !matches!(name.as_str(), "bot_start" | "questionnaire_started");
        let icp = if scored { "high".into() } else { Value::Null };
        assert_eq!(props["icp_segment"], icp, "{name}: {props}");
    }
    assert_eq!(event("questionnaire_started").1["retake"], false);
    let (value, shown) = event("paywall_shown");
    assert_eq!(value, None);
    assert_eq!(
        (&shown["variant"], &shown["price_stars"]),
        (&"bold".into(), &200.into())
    );
    let (value, sent) = event("invoice_sent");
    assert_eq!(value, Some(200.0));
    assert_eq!(
        (&sent["auto_topup"], &sent["variant"]),
        (&true.into(), &"bold".into())
    );
    let (value, paid) = event("stars_payment_succeeded");
    assert_eq!(value, Some(200.0));
    assert_eq!(paid["telegram_payment_charge_id"], charge.as_str());
    w.bot.stop().await;
}

async fn cta_click(through_tap: bool) {
    let w = World::start(through_tap).await;
    let mut c = w.tg.chat(1001);
    c.onboard("portfolio", true, "usd").await;
    c.press("cta");
    c.text().await;
    w.bot.flush().await;

    let starts = w.events("bot_start");
    assert_eq!(starts.len(), 1, "{starts:?}");
    let done = w.events("questionnaire_completed");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].2["icp_segment"], "high", "{done:?}");
    assert_eq!(done[0].2["use_case"], "portfolio");
    let clicks = w.events("cta_click");
    assert_eq!(clicks.len(), 1, "{clicks:?}");
    assert_eq!(clicks[0].0, "1001");
    assert_eq!(clicks[0].2["copy"], "Try Pro free");
    assert_eq!(clicks[0].2["icp_segment"], "high");
    w.bot.stop().await;
}

async fn stars_payment(through_tap: bool) {
    let w = World::start(through_tap).await;
    let mut c = w.tg.chat(1002);
    c.onboard("alerts", false, "usd").await;
    let payload = Order {
        tier: Tier::Vip,
        auto_topup: true,
        price_stars: 200,
    }
    .payload();
    w.tg.successful_payment(1002, 200, &payload);
    c.text().await;
    w.bot.flush().await;
    let paid = w.events("stars_payment_succeeded");
    assert_eq!(paid.len(), 1, "{paid:?}");
    let (unit, value, props) = &paid[0];
    assert_eq!((unit.as_str(), *value), ("1002", Some(200.0)));
    assert_eq!(props["tier"], "vip");
    assert_eq!(props["auto_topup"], true);
    assert_eq!(props["currency"], "XTR");
    w.bot.stop().await;
}

async fn import_and_nps(through_tap: bool) {
    let w = World::start(through_tap).await;
    let mut c = w.tg.chat(1003);
    c.onboard("portfolio", false, "eur").await;
    c.say("/import", 1).await;
    c.say("nonsense", 1).await;
    c.say("BTC 1\nETH 2\nTON 3", 1).await;
    c.say("/feedback", 1).await;
    c.press("nps:7");
    c.text().await;
    w.bot.flush().await;
    let imports = w.events("portfolio_import");
    let outcomes: Vec<_> = imports
        .iter()
        .map(|(_, v, p)| (p["success"].clone(), *v))
        .collect();
    assert_eq!(
        outcomes,
        vec![(false.into(), None), (true.into(), Some(3.0))],
        "{imports:?}"
    );
    assert_eq!(imports[0].2["error"], "bad_line");
    let nps = w.events("nps_survey");
    assert_eq!(nps.len(), 1);
    assert_eq!(
        (nps[0].1, nps[0].2["category"].as_str()),
        (Some(7.0), Some("passive"))
    );
    assert_eq!(nps[0].2["icp_segment"], "medium");
    w.bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_the_cta_sends_cta_click() {
    cta_click(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_the_cta_stores_cta_click() {
    cta_click(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successful_stars_payment_sends_the_event() {
    stars_payment(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successful_stars_payment_stores_the_event() {
    stars_payment(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_and_nps_events_are_sent() {
    import_and_nps(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_and_nps_events_are_stored() {
    import_and_nps(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_funnel_is_sent_in_order() {
    funnel(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_funnel_is_stored_in_order() {
    funnel(false).await;
}
