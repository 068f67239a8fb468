//! `/feedback`: the 0–10 NPS question and the `nps_survey` event.

use serde_json::json;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::{HandlerResult, Turn};

/// Asks the NPS question with 0–10 buttons.
pub(super) async fn ask(turn: &Turn) -> HandlerResult {
    let row = |scores: std::ops::RangeInclusive<u8>| {
        scores
            .map(|s| InlineKeyboardButton::callback(s.to_string(), format!("nps:{s}")))
            .collect::<Vec<_>>()
    };
    turn.ask(
        "How likely are you to recommend us to a friend? 0 = not at all, 10 = extremely.",
        InlineKeyboardMarkup::new([row(0..=5), row(6..=10)]),
    )
    .await
}

/// NPS category of a score.
pub fn category(score: u8) -> &'static str {
    match score {
        9.. => "promoter",
        7..=8 => "passive",
        _ => "detractor",
    }
}

/// A score button: records `nps_survey` with the score as value.
pub(super) async fn answer(turn: &Turn, arg: &str) -> HandlerResult {
    let Some(score) = arg.parse::<u8>().ok().filter(|s| *s <= 10) else {
        return Ok(());
    };
    turn.track(
        "nps_survey",
        Some(f64::from(score)),
        json!({"score": score, "category": category(score)}),
    );
    turn.say("Thanks for your feedback! 🙏").await
}

#[cfg(test)]
mod tests {
    #[test]
    fn categories() {
        let table = [
            (0, "detractor"),
            (6, "detractor"),
            (7, "passive"),
            (8, "passive"),
            (9, "promoter"),
            (10, "promoter"),
        ];
        for (score, want) in table {
            assert_eq!(super::category(score), want);
        }
    }
}
