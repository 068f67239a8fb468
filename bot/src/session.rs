//! Per-chat dialogue state, persisted by the dialogue storage.

use serde::{Deserialize, Serialize};

use crate::payments::Refundable;
use crate::questionnaire::{Currency, Segment, UseCase};

/// Everything the bot remembers about a chat: where the user is in a flow,
/// the profile that feeds every evaluation context, the payments `/refund`
/// can return and whether a block was already reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Current step of the dialogue.
    #[serde(default)]
    pub step: Step,
    /// Profile attributes.
    #[serde(default)]
    pub profile: Profile,
    /// Stars payments not refunded yet.
    #[serde(default)]
    pub payments: Refundable,
    /// `bot_blocked` was tracked and no message has got through since, so
    /// further failed sends are not reported again.
    #[serde(default)]
    pub blocked_reported: bool,
}

/// Dialogue steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Main menu; no question pending.
    #[default]
    Idle,
    /// Questionnaire, question 1 (use case).
    AskUseCase,
    /// Questionnaire, question 2 (prior experience).
    AskExperience {
        /// Answer to question 1.
        use_case: UseCase,
    },
    /// Questionnaire, question 3 (currency).
    AskCurrency {
        /// Answer to question 1.
        use_case: UseCase,
        /// Answer to question 2.
        experienced: bool,
    },
    /// Waiting for the portfolio to import.
    AwaitImport,
}

/// Attributes sent with every evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// ICP segment from the questionnaire, once completed.
    #[serde(default)]
    pub icp: Option<Segment>,
    /// Preferred currency from the questionnaire.
    #[serde(default)]
    pub currency: Option<Currency>,
    /// Subscription tier.
    #[serde(default)]
    pub tier: Tier,
}

/// Subscription tiers of the product.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// No subscription.
    #[default]
    Free,
    /// Pro.
    Pro,
    /// Pro+.
    ProPlus,
    /// VIP.
    Vip,
}

impl Tier {
    /// The attribute value (`free`, `pro`, `pro_plus`, `vip`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Pro => "pro",
            Self::ProPlus => "pro_plus",
            Self::Vip => "vip",
        }
    }

    /// Parses an attribute value.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Free, Self::Pro, Self::ProPlus, Self::Vip]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::StarsPayment;

    #[test]
    fn session_round_trips_through_json() {
        let s = Session {
            step: Step::AskCurrency {
                use_case: UseCase::Portfolio,
                experienced: true,
            },
            profile: Profile {
                icp: Some(Segment::Low),
                currency: Some(Currency::Eur),
                tier: Tier::ProPlus,
            },
            payments: {
                let mut p = Refundable::default();
                p.record(StarsPayment {
                    user_id: 7,
                    telegram_payment_charge_id: "stx1".into(),
                    stars: 250,
                    tier_before: Tier::Free,
                });
                p
            },
            blocked_reported: true,
        };
        let json = serde_json::to_string(&s).unwrap_or_default();
        let back: Session = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, s);
        // Older or partial records still load.
        let empty: Session = serde_json::from_str("{}").unwrap_or_default();
        assert_eq!(empty, Session::default());
    }

    #[test]
    fn tiers_parse() {
        for t in [Tier::Free, Tier::Pro, Tier::ProPlus, Tier::Vip] {
            assert_eq!(Tier::parse(t.as_str()), Some(t));
        }
        assert_eq!(Tier::parse("gold"), None);
    }
}
