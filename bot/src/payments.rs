//! Telegram Stars payments: the invoice payload, the pre-checkout decision,
//! the payment event and the payments kept for refunds (pure; the handlers
//! do the I/O).

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::copy::MAX_PRICE_STARS;
use crate::session::Tier;

/// Telegram Stars currency code.
pub const STARS: &str = "XTR";

/// What an invoice sells; serialized into the invoice payload (≤128 bytes)
/// and read back at pre-checkout and on the successful payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// Tier bought.
    pub tier: Tier,
    /// Whether the user opted into automatic top-up.
    pub auto_topup: bool,
    /// Price shown on the paywall, in Stars.
    pub price_stars: u32,
}

impl Order {
    /// The invoice payload.
    pub fn payload(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads an invoice payload.
    pub fn from_payload(payload: &str) -> Option<Self> {
        serde_json::from_str(payload).ok()
    }
}

/// Why a checkout is refused; the text is shown to the user by Telegram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Not a Stars payment.
    #[error("Only Telegram Stars are accepted.")]
    Currency,
    /// The payload is not one of ours.
    #[error("This invoice has expired. Please open /vip again.")]
    UnknownOrder,
    /// The charged amount differs from the order.
    #[error("The price has changed. Please open /vip again.")]
    Amount,
}

/// Decides a `pre_checkout_query`: accepts only Stars invoices the bot
/// issued, for the amount it quoted.
pub fn pre_checkout(currency: &str, total_amount: u32, payload: &str) -> Result<Order, Rejection> {
    if currency != STARS {
        return Err(Rejection::Currency);
    }
    let order = Order::from_payload(payload).ok_or(Rejection::UnknownOrder)?;
    if order.tier == Tier::Free || !(1..=MAX_PRICE_STARS).contains(&order.price_stars) {
        return Err(Rejection::UnknownOrder);
    }
    if order.price_stars != total_amount {
        return Err(Rejection::Amount);
    }
    Ok(order)
}

/// Properties of `stars_payment_succeeded` (the value is the amount paid).
/// A payload that does not parse still records the payment, as VIP
/// without auto top-up.
pub fn payment_properties(
    payload: &str,
    currency: &str,
    charge_id: &str,
) -> (Order, serde_json::Value) {
    let order = Order::from_payload(payload).unwrap_or(Order {
        tier: Tier::Vip,
        auto_topup: false,
        price_stars: 0,
    });
    let props = json!({
        "tier": order.tier.as_str(),
        "auto_topup": order.auto_topup,
        "currency": currency,
        "telegram_payment_charge_id": charge_id,
    });
    (order, props)
}

/// How many refundable payments a chat keeps; older ones are forgotten
/// (refunding them is then a support matter).
pub const KEPT_PAYMENTS: usize = 10;

/// A successful Stars payment, kept so `/refund` can return it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarsPayment {
    /// The payer: `refundStarPayment` needs it with the charge id.
    pub user_id: u64,
    /// Telegram's id of the charge.
    pub telegram_payment_charge_id: String,
    /// Stars paid.
    pub stars: u32,
    /// Tier before this payment, restored by its refund.
    pub tier_before: Tier,
}

/// The chat's payments not refunded yet, oldest first. Refunds go newest
/// first, so each payment's `tier_before` is the tier to go back to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Refundable(Vec<StarsPayment>);

impl Refundable {
    /// Keeps `payment`, forgetting the oldest beyond [`KEPT_PAYMENTS`].
    pub fn record(&mut self, payment: StarsPayment) {
        self.0.push(payment);
        let excess = self.0.len().saturating_sub(KEPT_PAYMENTS);
        self.0.drain(..excess);
    }

    /// The payment `/refund` would return for `user_id`: the newest one,
    /// if they paid it.
    pub fn latest(&self, user_id: u64) -> Option<&StarsPayment> {
        self.0.last().filter(|p| p.user_id == user_id)
    }

    /// Forgets the newest payment once Telegram has refunded it.
    pub fn remove_latest(&mut self) -> Option<StarsPayment> {
        self.0.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(auto_topup: bool) -> Order {
        Order {
            tier: Tier::Vip,
            auto_topup,
            price_stars: 250,
        }
    }

    #[test]
    fn payload_round_trips_and_fits() {
        let o = order(true);
        assert!(o.payload().len() <= 128, "{}", o.payload());
        assert_eq!(Order::from_payload(&o.payload()), Some(o));
        assert_eq!(Order::from_payload("not json"), None);
    }

    #[test]
    fn pre_checkout_decisions() {
        let ok = order(false).payload();
        let free = Order {
            tier: Tier::Free,
            ..order(false)
        }
        .payload();
        let table: [(&str, u32, &str, Result<Order, Rejection>); 6] = [
            ("XTR", 250, &ok, Ok(order(false))),
            ("USD", 250, &ok, Err(Rejection::Currency)),
            ("XTR", 249, &ok, Err(Rejection::Amount)),
            ("XTR", 250, "{}", Err(Rejection::UnknownOrder)),
            ("XTR", 250, "", Err(Rejection::UnknownOrder)),
            ("XTR", 250, &free, Err(Rejection::UnknownOrder)),
        ];
        for (currency, amount, payload, want) in table {
            assert_eq!(pre_checkout(currency, amount, payload), want, "{payload}");
        }
    }

    #[test]
    fn payment_properties_carry_tier_and_auto_topup() {
        let (o, props) = payment_properties(&order(true).payload(), "XTR", "ch_1");
        assert_eq!(o, order(true));
        assert_eq!(props["tier"], "vip");
        assert_eq!(props["auto_topup"], true);
        assert_eq!(props["telegram_payment_charge_id"], "ch_1");
        let (o, props) = payment_properties("garbage", "XTR", "ch_2");
        assert_eq!(o.tier, Tier::Vip);
        assert_eq!(props["auto_topup"], false);
    }

    fn paid(user_id: u64, n: u32) -> StarsPayment {
        StarsPayment {
            user_id,
            telegram_payment_charge_id: format!("ch_{n}"),
            stars: n,
            tier_before: Tier::Free,
        }
    }

    #[test]
    fn refunds_go_newest_first_and_only_to_the_payer() {
        let mut r = Refundable::default();
        assert_eq!(r.latest(7), None);
        r.record(paid(7, 1));
        r.record(paid(7, 2));
        assert_eq!(r.latest(8), None, "not the payer");
        assert_eq!(r.latest(7), Some(&paid(7, 2)));
        assert_eq!(r.remove_latest(), Some(paid(7, 2)));
        assert_eq!(r.latest(7), Some(&paid(7, 1)));
        assert_eq!(r.remove_latest(), Some(paid(7, 1)));
        assert_eq!(r.latest(7), None);
    }

    #[test]
    fn only_the_newest_payments_are_kept() {
        let mut r = Refundable::default();
        let n = u32::try_from(KEPT_PAYMENTS).unwrap_or(u32::MAX) + 3;
        for i in 1..=n {
            r.record(paid(7, i));
        }
        let mut left = Vec::new();
        while let Some(p) = r.remove_latest() {
            left.push(p.stars);
        }
        assert_eq!(left, (4..=n).rev().collect::<Vec<_>>());
    }
}
