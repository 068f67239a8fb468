//! Main menu with the `cta_copy` call-to-action, and `/digest`.

use serde_json::json;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::{HandlerResult, Turn};
use crate::digest;

/// Text above the menu buttons.
pub const MENU_TEXT: &str = "What would you like to do?";

/// Shows the menu; its first button is the `cta_copy` variant.
pub(super) async fn show(turn: &mut Turn) -> HandlerResult {
    let cta = turn.exp.cta_copy(&turn.viewer);
    let keyboard = InlineKeyboardMarkup::new([
        vec![InlineKeyboardButton::callback(cta, "cta")],
        vec![
            InlineKeyboardButton::callback("📰 Digest", "menu:digest"),
            InlineKeyboardButton::callback("📥 Import", "menu:import"),
        ],
        vec![
            InlineKeyboardButton::callback("⭐ VIP", "menu:vip"),
            InlineKeyboardButton::callback("💬 Feedback", "menu:feedback"),
        ],
    ]);
    turn.ask(MENU_TEXT, keyboard).await
}

/// The call-to-action was pressed: records `cta_click`.
pub(super) async fn cta_click(turn: &Turn) -> HandlerResult {
    let copy = turn.exp.cta_copy(&turn.viewer);
    turn.track("cta_click", None, json!({"copy": copy, "source": "menu"}));
    turn.say("🎉 Your 7-day Pro trial is on. Try /digest and /import.")
        .await
}

/// `/digest`: the sample digest in the `digest_layout` variant.
pub(super) async fn digest(turn: &Turn) -> HandlerResult {
    let layout = turn.exp.digest_layout(&turn.viewer);
    turn.say(digest::render(layout)).await
}
