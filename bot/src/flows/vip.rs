//! `/vip`: the `vip_paywall_copy` paywall, the Telegram Stars invoice, the
//! pre-checkout answer and the payment, with the funnel events
//! `paywall_shown`, `invoice_sent` and `stars_payment_succeeded`.

use serde_json::json;
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, PreCheckoutQuery, SuccessfulPayment,
};

use super::{BotDialogue, HandlerResult, Turn};
use crate::copy;
use crate::experiments::Experiments;
use crate::payments::{self, Order, STARS, StarsPayment};
use crate::session::Tier;

/// Shows the paywall from `vip_paywall_copy`; records `paywall_shown`
/// (`variant`, `price_stars`) once it is out.
pub(super) async fn paywall(turn: &Turn) -> HandlerResult {
    let (p, variant) = turn.exp.vip_paywall(&turn.viewer);
    let keyboard = InlineKeyboardMarkup::new([
        vec![InlineKeyboardButton::callback(
            format!("Subscribe — ⭐ {}", p.price_stars),
            "vip:buy",
        )],
        vec![InlineKeyboardButton::callback(
            "Subscribe with auto top-up",
            "vip:auto",
        )],
    ]);
    turn.ask(
        format!(
            "⭐ {}\n\n{}\n\nPrice: {} Stars",
            p.title, p.body, p.price_stars
        ),
        keyboard,
    )
    .await?;
    turn.track(
        "paywall_shown",
        None,
        json!({"variant": variant, "price_stars": p.price_stars}),
    );
    Ok(())
}

/// "Subscribe": sends a Stars invoice for the paywall's price; records
/// `invoice_sent` (value: Stars; `auto_topup`, `variant`) once Telegram
/// accepted it.
pub(super) async fn subscribe(turn: &Turn, auto_topup: bool) -> HandlerResult {
    let (p, variant) = turn.exp.vip_paywall(&turn.viewer);
    let order = Order {
        tier: Tier::Vip,
        auto_topup,
        price_stars: p.price_stars,
    };
    // Telegram limits invoice titles to 32 characters.
    let title = copy::truncate(&p.title, 32);
    turn.deliver(turn.bot.send_invoice(
        turn.chat(),
        title.clone(),
        p.body,
        order.payload(),
        STARS,
        [LabeledPrice::new(title, p.price_stars)],
    ))
    .await?;
    turn.track(
        "invoice_sent",
        Some(f64::from(p.price_stars)),
        json!({"auto_topup": auto_topup, "variant": variant}),
    );
    Ok(())
}

/// Answers a `pre_checkout_query` (Telegram cancels the payment unless it
/// is answered within 10 s), using [`payments::pre_checkout`].
pub(super) async fn on_pre_checkout(bot: Bot, q: PreCheckoutQuery) -> HandlerResult {
    let decision = payments::pre_checkout(&q.currency, q.total_amount, &q.invoice_payload);
    let answer = bot.answer_pre_checkout_query(q.id, decision.is_ok());
    match decision {
        Ok(_) => answer.await?,
        Err(reason) => {
            tracing::warn!(user = q.from.id.0, %reason, "pre-checkout refused");
            answer.error_message(reason.to_string()).await?
        }
    };
    Ok(())
}

/// A successful payment: upgrades the tier, keeps the charge for
/// `/refund` and records `stars_payment_succeeded` (value: Stars paid).
pub(super) async fn on_successful_payment(
    bot: Bot,
    exp: Experiments,
    dialogue: BotDialogue,
    msg: Message,
    payment: SuccessfulPayment,
) -> HandlerResult {
    let mut turn = Turn::load(bot, exp, dialogue, msg.from.as_ref()).await;
    let result = paid(&mut turn, payment).await;
    turn.finish(result).await
}

async fn paid(turn: &mut Turn, payment: SuccessfulPayment) -> HandlerResult {
    let charge_id = payment.telegram_payment_charge_id.0;
    let (order, props) =
        payments::payment_properties(&payment.invoice_payload, &payment.currency, &charge_id);
    turn.session.payments.record(StarsPayment {
        user_id: turn.viewer.user_id,
        telegram_payment_charge_id: charge_id,
        stars: payment.total_amount,
        tier_before: turn.session.profile.tier,
    });
    turn.session.profile.tier = order.tier;
    turn.persist().await;
    turn.track(
        "stars_payment_succeeded",
        Some(f64::from(payment.total_amount)),
        props,
    );
    let topup = if order.auto_topup {
        " Auto top-up is on."
    } else {
        ""
    };
    turn.say(format!(
        "⭐ Welcome to VIP! Thank you for your support.{topup}"
    ))
    .await
}
