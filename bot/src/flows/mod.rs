//! The handler tree and the per-update plumbing shared by the flows.
//!
//! Every flow loads the chat's [`Session`], builds the [`Viewer`] (unit and
//! attributes) and answers. Storage and Verdict failures are logged, never
//! shown: a storage error starts from an empty session, Verdict gives
//! default copy.

mod feedback;
mod import;
mod menu;
mod onboarding;
mod vip;

use std::sync::Arc;

use serde_json::Value;
use teloxide::dispatching::dialogue::{self, ErasedStorage};
use teloxide::dispatching::{DefaultKey, HandlerExt, UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, User};
use teloxide::utils::command::BotCommands;

use crate::experiments::{Experiments, Viewer};
use crate::session::{Session, Step};

/// Dialogue over the configured storage.
pub type BotDialogue = Dialogue<Session, ErasedStorage<Session>>;
/// Handler error (Telegram request failures); logged by the dispatcher.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;
/// Handler result.
pub type HandlerResult = Result<(), HandlerError>;

/// Bot commands.
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase", description = "Commands:")]
pub enum Command {
    /// Greeting and onboarding questionnaire.
    #[command(description = "start and onboarding")]
    Start(String),
    /// Main menu.
    #[command(description = "main menu")]
    Menu,
    /// Sample digest.
    #[command(description = "your daily digest")]
    Digest,
    /// Portfolio import.
    #[command(description = "import your portfolio")]
    Import,
    /// VIP paywall.
    #[command(description = "become VIP")]
    Vip,
    /// NPS survey.
    #[command(description = "rate us 0–10")]
    Feedback,
    /// Retake the questionnaire.
    #[command(description = "retake the questionnaire")]
    Profile,
    /// Leave the current flow.
    #[command(description = "cancel the current step")]
    Cancel,
    /// Command list.
    #[command(description = "this help")]
    Help,
}

/// The whole handler tree. Dependencies: [`Experiments`] and
/// `Arc<ErasedStorage<Session>>`.
pub fn schema() -> UpdateHandler<HandlerError> {
    let messages = Update::filter_message()
        .branch(
            dptree::filter_map(|msg: Message| msg.successful_payment().cloned())
                .endpoint(vip::on_successful_payment),
        )
        .branch(
            dptree::entry()
                .filter_command::<Command>()
                .endpoint(on_command),
        )
        .endpoint(on_message);
    dptree::entry()
        .branch(Update::filter_pre_checkout_query().endpoint(vip::on_pre_checkout))
        .branch(
            dialogue::enter::<Update, ErasedStorage<Session>, Session, _>()
                .branch(messages)
                .branch(Update::filter_callback_query().endpoint(on_callback)),
        )
}

/// Builds the dispatcher for `bot` (without a Ctrl-C handler).
pub fn dispatcher(
    bot: Bot,
    experiments: Experiments,
    storage: Arc<ErasedStorage<Session>>,
) -> Dispatcher<Bot, HandlerError, DefaultKey> {
    Dispatcher::builder(bot, schema())
        .dependencies(dptree::deps![experiments, storage])
        .default_handler(|_| async {})
        .build()
}

/// One update being answered: who, where, and their session.
pub(crate) struct Turn {
    pub(crate) bot: Bot,
    pub(crate) exp: Experiments,
    pub(crate) dialogue: BotDialogue,
    pub(crate) session: Session,
    pub(crate) viewer: Viewer,
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
        }
    }

    /// The chat being answered.
    pub(crate) fn chat(&self) -> ChatId {
        self.dialogue.chat_id()
    }

    /// Moves to `step` and saves the session (errors are logged).
    pub(crate) async fn save(&mut self, step: Step) {
        self.session.step = step;
        self.viewer.profile = self.session.profile.clone();
        if let Err(e) = self.dialogue.update(self.session.clone()).await {
            tracing::error!(chat = self.chat().0, error = %e, "saving dialogue state");
        }
    }

    /// Sends a plain-text message.
    pub(crate) async fn say(&self, text: impl Into<String>) -> HandlerResult {
        self.bot.send_message(self.chat(), text).await?;
        Ok(())
    }

    /// Sends a plain-text message with inline buttons.
    pub(crate) async fn ask(
        &self,
        text: impl Into<String>,
        keyboard: InlineKeyboardMarkup,
    ) -> HandlerResult {
        self.bot
            .send_message(self.chat(), text)
            .reply_markup(keyboard)
            .await?;
        Ok(())
    }

    /// Tracks an event for this user through the SDK.
    pub(crate) fn track(&self, name: &str, value: Option<f64>, properties: Value) {
        self.exp.track(name, &self.viewer, value, properties);
    }
}

async fn on_command(
    bot: Bot,
    exp: Experiments,
    dialogue: BotDialogue,
    msg: Message,
    cmd: Command,
) -> HandlerResult {
    let mut turn = Turn::load(bot, exp, dialogue, msg.from.as_ref()).await;
    match cmd {
        Command::Start(param) => onboarding::start(&mut turn, param.trim()).await,
        Command::Profile => onboarding::ask_use_case(&mut turn).await,
        Command::Menu => menu::show(&mut turn).await,
        Command::Digest => menu::digest(&turn).await,
        Command::Import => import::start(&mut turn).await,
        Command::Vip => vip::paywall(&turn).await,
        Command::Feedback => feedback::ask(&turn).await,
        Command::Cancel => {
            turn.save(Step::Idle).await;
            turn.say("Cancelled.").await?;
            menu::show(&mut turn).await
        }
        Command::Help => turn.say(Command::descriptions().to_string()).await,
    }
}

async fn on_message(
    bot: Bot,
    exp: Experiments,
    dialogue: BotDialogue,
    msg: Message,
) -> HandlerResult {
    let mut turn = Turn::load(bot, exp, dialogue, msg.from.as_ref()).await;
    match turn.session.step.clone() {
        Step::AwaitImport => import::receive(&mut turn, msg.text()).await,
        Step::AskUseCase | Step::AskExperience { .. } | Step::AskCurrency { .. } => {
            onboarding::repeat_question(&turn).await
        }
        Step::Idle => {
            turn.say("I didn't get that — here is the menu. /help lists every command.")
                .await?;
            menu::show(&mut turn).await
        }
    }
}

async fn on_callback(
    bot: Bot,
    exp: Experiments,
    dialogue: BotDialogue,
    q: CallbackQuery,
) -> HandlerResult {
    // Stop the button's spinner first; a failure here is cosmetic.
    if let Err(e) = bot.answer_callback_query(q.id.clone()).await {
        tracing::warn!(error = %e, "answerCallbackQuery");
    }
    let mut turn = Turn::load(bot, exp, dialogue, Some(&q.from)).await;
    let data = q.data.as_deref().unwrap_or_default();
    let (kind, arg) = data.split_once(':').unwrap_or((data, ""));
    match kind {
        "q" => onboarding::answer(&mut turn, arg).await,
        "cta" => menu::cta_click(&turn).await,
        "menu" => match arg {
            "digest" => menu::digest(&turn).await,
            "import" => import::start(&mut turn).await,
            "vip" => vip::paywall(&turn).await,
            "feedback" => feedback::ask(&turn).await,
            _ => menu::show(&mut turn).await,
        },
        "vip" => vip::subscribe(&turn, arg == "auto").await,
        "nps" => feedback::answer(&turn, arg).await,
        _ => menu::show(&mut turn).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        let table = [
            ("/start", Some(Command::Start(String::new()))),
            ("/start ref_42", Some(Command::Start("ref_42".into()))),
            (
                "/start@verdict_test_bot",
                Some(Command::Start(String::new())),
            ),
            ("/vip", Some(Command::Vip)),
            ("/feedback", Some(Command::Feedback)),
            ("/nope", None),
            ("hello", None),
        ];
        for (text, want) in table {
            assert_eq!(
                Command::parse(text, "verdict_test_bot").ok(),
                want,
                "{text}"
            );
        }
    }
}
