//! `/app`: a button opening the Telegram Mini App (`--miniapp-url`).

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo};
use url::Url;

use super::{HandlerResult, Turn};

/// The Mini App's https URL, if configured; a dispatcher dependency.
#[derive(Debug, Clone)]
pub struct MiniApp(pub Option<Url>);

/// Reply to `/app` when no Mini App URL is configured.
const NOT_CONFIGURED: &str = "The Mini App is not configured for this bot yet.";

/// Sends the `web_app` button, or says the Mini App is not configured.
pub(super) async fn open(turn: &Turn, miniapp: &MiniApp) -> HandlerResult {
    let Some(url) = &miniapp.0 else {
        return turn.say(NOT_CONFIGURED).await;
    };
    let button = InlineKeyboardButton::web_app("📱 Open", WebAppInfo { url: url.clone() });
    turn.ask(
        "Your portfolio, digests and alerts in the Verdict Mini App:",
        InlineKeyboardMarkup::new([[button]]),
    )
    .await
}
