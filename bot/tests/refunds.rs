//! `/refund`: the latest Stars payment goes back through
//! `refundStarPayment` (mock Bot API) and `stars_payment_refunded` is
//! stored by the real service; refusals and empty refunds record nothing.

mod common;

use std::path::PathBuf;

use common::RunningBot;
use common::telegram::MockTelegram;
use common::verdict::{Service, forced_flags};
use verdict::auth::Role;
use verdict_bot::payments::Order;
use verdict_bot::session::Tier;

const NOTHING: &str = "You have no Stars payment to refund.";

struct World {
    service: Service,
    tg: MockTelegram,
    token: String,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

impl World {
    async fn new() -> Self {
        let service = Service::start();
        service.create_flags(forced_flags()).await;
        let token = service.token(Role::Sdk);
        let dir = tempfile::tempdir().expect("temp dir");
        Self {
            db: dir.path().join("bot.sqlite"),
            token,
            service,
            tg: MockTelegram::start(),
            _dir: dir,
        }
    }

    async fn bot(&self) -> RunningBot {
        let verdict = Some((self.service.url.as_str(), self.token.as_str()));
        RunningBot::start(&self.tg.url, self.db.clone(), verdict).await
    }
}

/// A paid VIP order of `stars`, as Telegram reports it.
fn payload(stars: u32) -> String {
    Order {
        tier: Tier::Vip,
        auto_topup: false,
        price_stars: stars,
    }
    .payload()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_returns_the_latest_payment_once() {
    let w = World::new().await;
    let bot = w.bot().await;
    let mut c = w.tg.chat(1002);
    c.onboard("portfolio", true, "usd").await;
    assert_eq!(c.say("/refund", 1).await, [NOTHING], "nothing paid yet");
    let charge = w.tg.successful_payment(1002, 200, &payload(200));
    assert!(c.text().await.starts_with("⭐ Welcome to VIP!"));
    // The charge is in the dialogue state: it survives a restart.
    bot.stop().await;
    let bot = w.bot().await;

    let reply = c.say("/refund", 1).await.remove(0);
    assert_eq!(
        reply,
        "↩️ Refunded 200 Stars to your Telegram balance. Your VIP subscription has ended."
    );
    let calls = w.tg.calls("refundStarPayment");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["user_id"], 1002);
    assert_eq!(calls[0]["telegram_payment_charge_id"], charge.as_str());

    assert_eq!(c.say("/refund", 1).await, [NOTHING]);
    assert_eq!(w.tg.calls("refundStarPayment").len(), 1, "refunded once");
    bot.flush().await;
    let refunds = w.service.events("stars_payment_refunded");
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    let (unit, value, props) = &refunds[0];
    assert_eq!((unit.as_str(), *value), ("1002", Some(200.0)));
    assert_eq!(props["telegram_payment_charge_id"], charge.as_str());
    assert_eq!(props["tier"], "free", "VIP dropped: {props}");
    assert_eq!(props["icp_segment"], "high");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refund_records_nothing_and_stays_refundable() {
    let w = World::new().await;
    let bot = w.bot().await;
    let mut c = w.tg.chat(1001);
    c.onboard("portfolio", true, "usd").await;
    let charge = w.tg.successful_payment(1001, 250, &payload(250));
    c.text().await;

    w.tg.refuse_refunds(Some("Bad Request: CHARGE_NOT_FOUND"));
    let refused = c.say("/refund", 1).await.remove(0);
    assert!(
        refused.starts_with("⚠️ Telegram did not refund this payment"),
        "{refused}"
    );
    assert_eq!(w.tg.calls("refundStarPayment").len(), 1, "refund attempted");
    // Still VIP: the next event carries the paid tier.
    c.say("/vip", 1).await;
    bot.flush().await;
    let refunds = w.service.events("stars_payment_refunded");
    assert!(refunds.is_empty(), "{refunds:?}");
    let shown = w.service.events("paywall_shown");
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0].2["tier"], "vip");

    w.tg.refuse_refunds(None);
    let reply = c.say("/refund", 1).await.remove(0);
    assert!(reply.starts_with("↩️ Refunded 250 Stars"), "{reply}");
    let calls = w.tg.calls("refundStarPayment");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1]["telegram_payment_charge_id"], charge.as_str());
    bot.flush().await;
    let refunds = w.service.events("stars_payment_refunded");
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0].1, Some(250.0));
    bot.stop().await;
}
