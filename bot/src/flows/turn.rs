//! [`Turn`]: one update being answered, and the one way flows send to the
//! user, so that a user who blocked the bot is noticed wherever it sends.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, User};
use teloxide::{ApiError, RequestError};

use super::{BotDialogue, HandlerError, HandlerResult};
use crate::experiments::{Experiments, Viewer};
use crate::session::{Session, Step};

/// One update being answered: who, where, and their session.
pub(crate) struct Turn {
    pub(crate) bot: Bot,
    pub(crate) exp: Experiments,
    pub(crate) dialogue: BotDialogue,
    pub(crate) session: Session,
    pub(crate) viewer: Viewer,
    /// A send to the user succeeded during this turn. Atomic because flows
    /// hold `&Turn` across awaits in `Send` futures.
    delivered: AtomicBool,
}

impl Turn {
    /// Loads the session of the dialogue's chat; `user` is the sender.
    pub(crate) async fn load(
        bot: Bot,
        exp: Experiments,
        dialogue: BotDialogue,
        user: Option<&User>,
    ) -> Self {
        let session = match dialogue.get().await {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => {
                tracing::error!(chat = dialogue.chat_id().0, error = %e, "loading dialogue state");
                Session::default()
            }
        };
        // In private chats the chat id is the user id.
        let user_id = user.map_or_else(|| dialogue.chat_id().0.unsigned_abs(), |u| u.id.0);
        let viewer = Viewer {
            user_id,
            language: user.and_then(|u| u.language_code.clone()),
            profile: session.profile.clone(),
        };
        Self {
            bot,
            exp,
            dialogue,
            session,
            viewer,
            delivered: AtomicBool::new(false),
        }
    }

    /// The chat being answered.
    pub(crate) fn chat(&self) -> ChatId {
        self.dialogue.chat_id()
    }

    /// Moves to `step` and saves the session (errors are logged).
    pub(crate) async fn save(&mut self, step: Step) {
        self.session.step = step;
        self.persist().await;
    }

    /// Saves the session as it is (errors are logged).
    pub(crate) async fn persist(&mut self) {
        self.viewer.profile = self.session.profile.clone();
        if let Err(e) = self.dialogue.update(self.session.clone()).await {
            tracing::error!(chat = self.chat().0, error = %e, "saving dialogue state");
        }
    }

    /// Sends `request` to the user. Every message, question and invoice
    /// goes through here; [`Turn::finish`] acts on the outcome.
    pub(crate) async fn deliver<R>(&self, request: R) -> HandlerResult
    where
        R: Request<Err = RequestError>,
    {
        request.send().await?;
        self.delivered.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Sends a plain-text message.
    pub(crate) async fn say(&self, text: impl Into<String>) -> HandlerResult {
        self.deliver(self.bot.send_message(self.chat(), text)).await
    }

    /// Sends a plain-text message with inline buttons.
    pub(crate) async fn ask(
        &self,
        text: impl Into<String>,
        keyboard: InlineKeyboardMarkup,
    ) -> HandlerResult {
        self.deliver(
            self.bot
                .send_message(self.chat(), text)
                .reply_markup(keyboard),
        )
        .await
    }

    /// Tracks an event for this user through the SDK.
    pub(crate) fn track(&self, name: &str, value: Option<f64>, properties: Value) {
        self.exp.track(name, &self.viewer, value, properties);
    }

    /// Ends the turn with the flow's `result`. A send refused because the
    /// user blocked the bot is expected, not a failure: it is tracked as
    /// `bot_blocked` once (until a later send gets through) and not retried.
    pub(crate) async fn finish(mut self, result: HandlerResult) -> HandlerResult {
        match result {
            Err(e) if is_blocked(&e) => {
                tracing::info!(chat = self.chat().0, "the user has blocked the bot");
                if !self.session.blocked_reported {
                    self.session.blocked_reported = true;
                    self.persist().await;
                    self.track("bot_blocked", None, json!({}));
                }
                Ok(())
            }
            Ok(()) if self.session.blocked_reported && self.delivered.load(Ordering::Relaxed) => {
                self.session.blocked_reported = false;
                self.persist().await;
                Ok(())
            }
            other => other,
        }
    }
}

/// Whether `e` is Telegram's 403 "bot was blocked by the user".
fn is_blocked(e: &HandlerError) -> bool {
    matches!(
        e.downcast_ref::<RequestError>(),
        Some(RequestError::Api(ApiError::BotBlocked))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_block_counts_as_blocked() {
        let blocked: HandlerError = Box::new(RequestError::Api(ApiError::BotBlocked));
        assert!(is_blocked(&blocked));
        for other in [
            RequestError::Api(ApiError::ChatNotFound),
            RequestError::Api(ApiError::BotKicked),
            RequestError::Api(ApiError::Unknown("Forbidden: user is deactivated".into())),
        ] {
            let e: HandlerError = Box::new(other);
            assert!(!is_blocked(&e), "{e}");
        }
        let io: HandlerError = "not a request error".into();
        assert!(!is_blocked(&io));
    }
}
