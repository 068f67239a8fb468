//! `/vip`: the `vip_paywall_copy` paywall, the Telegram Stars invoice, the
//! pre-checkout answer and the `stars_payment_succeeded` event.

use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, PreCheckoutQuery, SuccessfulPayment,
};

use super::{BotDialogue, HandlerResult, Turn};
use crate::copy;
use crate::experiments::Experiments;
use crate::payments::{self, Order, STARS};
use crate::session::Tier;

/// Shows the paywall from `vip_paywall_copy`.
pub(super) async fn paywall(turn: &Turn) -> HandlerResult {
    let p = turn.exp.vip_paywall(&turn.viewer);
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
    .await
}

/// "Subscribe": sends a Stars invoice for the paywall's price.
pub(super) async fn subscribe(turn: &Turn, auto_topup: bool) -> HandlerResult {
    let p = turn.exp.vip_paywall(&turn.viewer);
    let order = Order {
        tier: Tier::Vip,
        auto_topup,
        price_stars: p.price_stars,
    };
    // Telegram limits invoice titles to 32 characters.
    let title = copy::truncate(&p.title, 32);
    turn.bot
        .send_invoice(
            turn.chat(),
            title.clone(),
            p.body,
            order.payload(),
            STARS,
            [LabeledPrice::new(title, p.price_stars)],
        )
        .await?;
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

/// A successful payment: upgrades the tier and records
/// `stars_payment_succeeded` (value: Stars paid).
pub(super) async fn on_successful_payment(
    bot: Bot,
    exp: Experiments,
    dialogue: BotDialogue,
    msg: Message,
    payment: SuccessfulPayment,
) -> HandlerResult {
    let mut turn = Turn::load(bot, exp, dialogue, msg.from.as_ref()).await;
    let (order, props) = payments::payment_properties(
        &payment.invoice_payload,
        &payment.currency,
        &payment.telegram_payment_charge_id.0,
    );
    turn.session.profile.tier = order.tier;
    let step = turn.session.step.clone();
    turn.save(step).await;
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
