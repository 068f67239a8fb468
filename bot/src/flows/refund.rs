//! `/refund`: returns the user's latest Stars payment through
//! `refundStarPayment`, drops the tier it bought and records
//! `stars_payment_refunded`. Only the payer can refund; Telegram enforces
//! its own limits and its refusal leaves the payment refundable.

use serde_json::json;
use teloxide::prelude::*;
use teloxide::types::TelegramTransactionId;

use super::{HandlerResult, Turn};
use crate::session::Tier;

/// Refunds the newest payment not refunded yet, or says there is none.
pub(super) async fn refund(turn: &mut Turn) -> HandlerResult {
    let Some(payment) = turn.session.payments.latest(turn.viewer.user_id).cloned() else {
        return turn.say("You have no Stars payment to refund.").await;
    };
    let refunded = turn
        .bot
        .refund_star_payment(
            UserId(payment.user_id),
            TelegramTransactionId(payment.telegram_payment_charge_id.clone()),
        )
        .await;
    if let Err(e) = refunded {
        tracing::warn!(
            user = payment.user_id,
            charge = %payment.telegram_payment_charge_id,
            error = %e,
            "refundStarPayment failed"
        );
        return turn
            .say(
                "⚠️ Telegram did not refund this payment, so nothing has changed. \
                 You can try /refund again later.",
            )
            .await;
    }
    turn.session.payments.remove_latest();
    turn.session.profile.tier = payment.tier_before;
    turn.persist().await;
    turn.track(
        "stars_payment_refunded",
        Some(f64::from(payment.stars)),
        json!({"telegram_payment_charge_id": payment.telegram_payment_charge_id}),
    );
    let plan = if payment.tier_before == Tier::Vip {
        "You stay VIP thanks to an earlier payment."
    } else {
        "Your VIP subscription has ended."
    };
    turn.say(format!(
        "↩️ Refunded {} Stars to your Telegram balance. {plan}",
        payment.stars
    ))
    .await
}
