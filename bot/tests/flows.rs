//! The bot end to end: its dispatcher polls a mock Telegram Bot API and
//! evaluates flags from a real, in-process Verdict service.

mod common;

use common::RunningBot;
use common::telegram::{MockTelegram, cta};
use common::verdict::{Service, forced_flags};
use serde_json::Value;
use verdict::auth::Role;
use verdict_bot::copy::DigestLayout;
use verdict_bot::copy::{DEFAULT_CTA, DEFAULT_IMPORT_HINT, VipPaywall};
use verdict_bot::digest;
use verdict_bot::payments::Order;
use verdict_bot::session::Tier;

struct World {
    service: Service,
    tg: MockTelegram,
    bot: RunningBot,
    _dir: tempfile::TempDir,
}

/// Service with the forced demo flags, mock Telegram, and the bot.
async fn world() -> World {
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
    assert!(
        bot.experiments.client().is_some_and(|c| c.is_ready()),
        "ruleset downloaded"
    );
    World {
        service,
        tg,
        bot,
        _dir: dir,
    }
}

fn text(v: &Value) -> &str {
    v["text"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_arms_see_different_cta_and_paywall() {
    let w = world().await;
    let mut a = w.tg.chat(1001);
    let mut b = w.tg.chat(1002);
    let menu_a = a.onboard("portfolio", true, "usd").await;
    let menu_b = b.onboard("alerts", false, "eur").await;
    assert_eq!(cta(&menu_a), "Try Pro free");
    assert_eq!(cta(&menu_b), "Pro trial ends today");

    let pay_a = a.say_raw("/vip", 1).await.remove(0);
    let pay_b = b.say_raw("/vip", 1).await.remove(0);
    assert!(
        text(&pay_a).contains("Verdict VIP") && text(&pay_a).contains("250 Stars"),
        "{pay_a}"
    );
    assert!(
        text(&pay_b).contains("Go VIP today") && text(&pay_b).contains("200 Stars"),
        "{pay_b}"
    );

    // "Subscribe" sends a Stars invoice at the variant's price.
    let (m, inv_a) = {
        a.press("vip:buy");
        a.next().await
    };
    assert_eq!(m, "sendInvoice");
    assert_eq!(
        (
            inv_a["currency"].as_str(),
            inv_a["prices"][0]["amount"].as_u64()
        ),
        (Some("XTR"), Some(250))
    );
    let (m, inv_b) = {
        b.press("vip:auto");
        b.next().await
    };
    assert_eq!(m, "sendInvoice");
    assert_eq!(inv_b["title"], "Go VIP today");
    assert_eq!(inv_b["prices"][0]["amount"], 200);
    let order = Order::from_payload(inv_b["payload"].as_str().unwrap_or_default());
    assert_eq!(
        order,
        Some(Order {
            tier: Tier::Vip,
            auto_topup: true,
            price_stars: 200
        })
    );
    w.bot.stop().await;
}

/// A variant served from an experiment split is recorded as an exposure
/// in the service, with the arm whose copy the user saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn showing_a_split_variant_records_the_exposure() {
    let w = world().await;
    let mut c = w.tg.chat(1005);
    let menu = c.onboard("browsing", false, "rub").await;
    let shown = cta(&menu);
    w.bot.flush().await;
    let exposures = w.service.exposures("cta_copy");
    let want = if shown == "Try Pro free" {
        "control"
    } else {
        "urgency"
    };
    assert_eq!(
        exposures,
        vec![("1005".to_owned(), want.to_owned())],
        "shown {shown:?}"
    );
    // Forced users are not part of the split: no exposure for them.
    w.bot.stop().await;
}

/// The ICP segment from the questionnaire is sent with later evaluations:
/// the service's rule on `icp_segment` decides the digest layout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questionnaire_answers_change_the_icp_attribute() {
    let w = world().await;
    let mut c = w.tg.chat(1003);
    c.onboard("portfolio", true, "usd").await; // high
    assert_eq!(
        c.say("/digest", 1).await[0],
        digest::render(DigestLayout::Cards)
    );
    // Retake: now a low-ICP user.
    let q1 = c.say("/profile", 1).await;
    assert!(q1[0].starts_with("1/3"), "{q1:?}");
    c.press_raw("q:use:browsing", 1).await;
    c.press_raw("q:exp:no", 1).await;
    c.press_raw("q:cur:eur", 2).await;
    assert_eq!(
        c.say("/digest", 1).await[0],
        digest::render(DigestLayout::Compact)
    );
    // Medium: core use case, other answers mixed.
    c.say("/profile", 1).await;
    c.press_raw("q:use:portfolio", 1).await;
    c.press_raw("q:exp:yes", 1).await;
    c.press_raw("q:cur:rub", 2).await;
    assert_eq!(
        c.say("/digest", 1).await[0],
        digest::render(DigestLayout::Compact)
    );
    w.bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_shows_the_hint_and_parses_the_portfolio() {
    let w = world().await;
    let mut c = w.tg.chat(1006);
    c.onboard("portfolio", true, "usd").await;
    let hint = c.say("/import", 1).await.remove(0);
    let demo_hints = [
        "Send one position per line, e.g. `BTC 0.25`.",
        "Paste your holdings like this:",
    ];
    assert!(demo_hints.iter().any(|h| hint.contains(h)), "{hint}");
    let bad = c.say("BTC lots", 1).await.remove(0);
    assert!(bad.starts_with("⚠️ Couldn't import: line 1"), "{bad}");
    let ok = c.say("btc 0.5\neth 2", 1).await.remove(0);
    assert_eq!(ok, "✅ Imported 2 positions: BTC, ETH");
    // Back to the menu: free text now gets the menu, not the importer.
    let after = c.say("hello", 2).await;
    assert!(after[0].starts_with("I didn't get that"), "{after:?}");
    w.bot.stop().await;
}

/// The bot answers `pre_checkout_query` through the Bot API (accepting its
/// own invoices only) and thanks the user after a successful payment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stars_checkout_is_answered_and_payment_upgrades_the_tier() {
    let w = world().await;
    let mut c = w.tg.chat(1002);
    c.onboard("portfolio", true, "usd").await;
    let payload = Order {
        tier: Tier::Vip,
        auto_topup: true,
        price_stars: 200,
    }
    .payload();

    let mut cursor = w.tg.requests().len();
    let id = w.tg.pre_checkout(1002, "XTR", 200, &payload);
    let (_, ok) =
        w.tg.wait_for(&mut cursor, "answerPreCheckoutQuery", |m, b| {
            m == "answerPreCheckoutQuery" && b["pre_checkout_query_id"] == id.as_str()
        })
        .await;
    assert_eq!(ok["ok"], true, "{ok}");
    let id = w.tg.pre_checkout(1002, "XTR", 1, &payload);
    let (_, refused) =
        w.tg.wait_for(&mut cursor, "answerPreCheckoutQuery", |m, b| {
            m == "answerPreCheckoutQuery" && b["pre_checkout_query_id"] == id.as_str()
        })
        .await;
    assert_eq!(refused["ok"], false, "{refused}");
    assert!(
        refused["error_message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );

    w.tg.successful_payment(1002, 200, &payload);
    let thanks = c.text().await;
    assert!(
        thanks.starts_with("⭐ Welcome to VIP!") && thanks.contains("Auto top-up is on"),
        "{thanks}"
    );
    w.bot.stop().await;
}

/// With the service down from the start, every command is answered with
/// the bot's default copy and nothing mentions an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_stopped_bot_answers_with_defaults() {
    let mut service = Service::start();
    service.create_flags(forced_flags()).await;
    let token = service.token(Role::Sdk);
    service.stop().await;
    let tg = MockTelegram::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let bot = RunningBot::start(
        &tg.url,
        dir.path().join("bot.sqlite"),
        Some((&service.url, &token)),
    )
    .await;
    assert!(bot.experiments.client().is_some_and(|c| !c.is_ready()));

    let mut c = tg.chat(1002);
    let menu = c.onboard("portfolio", true, "usd").await;
    assert_eq!(cta(&menu), DEFAULT_CTA);
    assert_eq!(
        c.say("/digest", 1).await[0],
        digest::render(DigestLayout::Compact)
    );
    let hint = c.say("/import", 1).await.remove(0);
    assert!(hint.contains(DEFAULT_IMPORT_HINT), "{hint}");
    assert_eq!(c.say("BTC 1", 1).await[0], "✅ Imported 1 position: BTC");
    let paywall = c.say("/vip", 1).await.remove(0);
    let d = VipPaywall::default();
    assert!(
        paywall.contains(&d.title) && paywall.contains(&format!("{} Stars", d.price_stars)),
        "{paywall}"
    );
    let (m, invoice) = {
        c.press("vip:buy");
        c.next().await
    };
    assert_eq!(
        (m.as_str(), invoice["prices"][0]["amount"].as_u64()),
        ("sendInvoice", Some(250))
    );
    c.press("cta");
    assert!(c.text().await.starts_with("🎉"));
    let q = c.say("/feedback", 1).await.remove(0);
    assert!(q.contains("0 = not at all"));
    c.press("nps:9");
    assert_eq!(c.text().await, "Thanks for your feedback! 🙏");
    for (_, body) in tg.requests() {
        let t = body["text"].as_str().unwrap_or_default().to_lowercase();
        assert!(!t.contains("error") && !t.contains("verdict is"), "{t}");
    }
    bot.stop().await;
}

/// When the service goes away mid-session the bot keeps the last copy it
/// downloaded and keeps answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_going_down_keeps_last_known_copy() {
    let mut w = world().await;
    let mut c = w.tg.chat(1002);
    let menu = c.onboard("portfolio", true, "usd").await;
    assert_eq!(cta(&menu), "Pro trial ends today");
    w.service.stop().await;
    let menu = c.say_raw("/menu", 1).await.remove(0);
    assert_eq!(cta(&menu), "Pro trial ends today");
    let paywall = c.say("/vip", 1).await.remove(0);
    assert!(paywall.contains("Go VIP today"), "{paywall}");
    w.bot.stop().await;
}

/// Dialogue state is in the SQLite file: a restarted bot continues the
/// questionnaire where it stopped and remembers the profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dialogue_state_survives_restarts() {
    let tg = MockTelegram::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("bot.sqlite");
    let bot = RunningBot::start(&tg.url, db.clone(), None).await;
    let mut c = tg.chat(1010);
    c.say("/start", 2).await;
    let q2 = c.press_raw("q:use:portfolio", 1).await.remove(0);
    assert!(text(&q2).starts_with("2/3"));
    bot.stop().await;

    let bot = RunningBot::start(&tg.url, db.clone(), None).await;
    let q3 = c.press_raw("q:exp:yes", 1).await.remove(0);
    assert!(text(&q3).starts_with("3/3"), "{q3}");
    // An answer to an earlier question is stale now and ignored.
    c.press("q:use:alerts");
    let done = c.press_raw("q:cur:usd", 2).await;
    assert_eq!(text(&done[0]), "Thanks! Your feed is tuned to you.");
    bot.stop().await;

    let bot = RunningBot::start(&tg.url, db, None).await;
    let again = c.say_raw("/start", 2).await;
    assert_eq!(
        again[1]["text"], "What would you like to do?",
        "onboarded users get the menu"
    );
    bot.stop().await;
}
