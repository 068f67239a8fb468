//! The onboarding questionnaire and its ICP scoring (pure).
//!
//! Modelled on the payments bot's "ICP Score Distribution": a user is
//! `high` when they come for the core use case (portfolio tracking), have
//! used a tracker before and prefer USD; `medium` when they come for the
//! core use case but the other answers differ; `low` otherwise.

use serde::{Deserialize, Serialize};

/// What the user wants the bot for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UseCase {
    /// Tracking a portfolio: the core use case.
    Portfolio,
    /// Price alerts only.
    Alerts,
    /// Just looking around.
    Browsing,
}

/// The user's preferred currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Currency {
    /// US dollar.
    Usd,
    /// Euro.
    Eur,
    /// Russian rouble.
    Rub,
    /// Anything else.
    Other,
}

/// ICP segment, sent to Verdict as the `icp_segment` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// Core use case, prior experience and USD.
    High,
    /// Core use case with mixed other answers.
    Medium,
    /// Everyone else.
    Low,
}

impl Segment {
    /// The attribute value (`high`, `medium`, `low`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }
}

/// The completed questionnaire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    /// Question 1.
    pub use_case: UseCase,
    /// Question 2: has used a portfolio tracker before.
    pub experienced: bool,
    /// Question 3.
    pub currency: Currency,
}

impl Answers {
    /// The ICP segment these answers score into.
    pub fn segment(&self) -> Segment {
        match (self.use_case, self.experienced, self.currency) {
            (UseCase::Portfolio, true, Currency::Usd) => Segment::High,
            (UseCase::Portfolio, _, _) => Segment::Medium,
            _ => Segment::Low,
        }
    }
}

impl UseCase {
    /// Every option with its button label, in display order.
    pub const OPTIONS: [(Self, &'static str); 3] = [
        (Self::Portfolio, "📊 Track my portfolio"),
        (Self::Alerts, "🔔 Price alerts"),
        (Self::Browsing, "👀 Just looking"),
    ];

    /// Callback-data code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Portfolio => "portfolio",
            Self::Alerts => "alerts",
            Self::Browsing => "browsing",
        }
    }

    /// Parses a callback-data code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::OPTIONS
            .iter()
            .map(|(u, _)| *u)
            .find(|u| u.code() == code)
    }
}

impl Currency {
    /// Every option with its button label, in display order.
    pub const OPTIONS: [(Self, &'static str); 4] = [
        (Self::Usd, "USD $"),
        (Self::Eur, "EUR €"),
        (Self::Rub, "RUB ₽"),
        (Self::Other, "Other"),
    ];

    /// Callback-data code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Usd => "usd",
            Self::Eur => "eur",
            Self::Rub => "rub",
            Self::Other => "other",
        }
    }

    /// Parses a callback-data code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::OPTIONS
            .iter()
            .map(|(c, _)| *c)
            .find(|c| c.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoring_table() {
        use Currency::*;
        use Segment::*;
        use UseCase::*;
        let table = [
            (Portfolio, true, Usd, High),
            (Portfolio, true, Eur, Medium),
            (Portfolio, true, Rub, Medium),
            (Portfolio, true, Other, Medium),
            (Portfolio, false, Usd, Medium),
            (Portfolio, false, Rub, Medium),
            (Alerts, true, Usd, Low),
            (Alerts, false, Eur, Low),
            (Browsing, true, Usd, Low),
            (Browsing, false, Other, Low),
        ];
        for (use_case, experienced, currency, want) in table {
            let answers = Answers {
                use_case,
                experienced,
                currency,
            };
            assert_eq!(answers.segment(), want, "{answers:?}");
        }
    }

    #[test]
    fn codes_round_trip() {
        for (u, _) in UseCase::OPTIONS {
            assert_eq!(UseCase::from_code(u.code()), Some(u));
        }
        for (c, _) in Currency::OPTIONS {
            assert_eq!(Currency::from_code(c.code()), Some(c));
        }
        assert_eq!(UseCase::from_code("games"), None);
        assert_eq!(Currency::from_code(""), None);
        assert_eq!(Segment::Medium.as_str(), "medium");
    }
}
