//! The handler tree and the per-update plumbing shared by the flows.
//!
//! Every flow loads the chat's [`Session`] into a [`Turn`] (with the
//! [`Viewer`](crate::experiments::Viewer): unit and attributes), answers,
//! and ends with [`Turn::finish`]. Storage and Verdict failures are logged,
//! never shown: a storage error starts from an empty session, Verdict gives
//! default copy.

mod app;
mod feedback;
mod import;
mod menu;
mod onboarding;
mod refund;
mod turn;
mod vip;

use std::sync::Arc;

use teloxide::dispatching::dialogue::{self, ErasedStorage};
use teloxide::dispatching::{DefaultKey, HandlerExt, UpdateFilterExt, UpdateHandler};
use teloxide::prelude::*;
use teloxide::utils::command::BotCommands;

pub use app::MiniApp;
use turn::Turn;

use crate::experiments::Experiments;
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
    /// Refund the latest Stars payment.
    #[command(description = "refund your latest Stars payment")]
    Refund,
    /// Open the Mini App.
    #[command(description = "open the Mini App")]
    App,
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

/// The whole handler tree. Dependencies: [`Experiments`], [`MiniApp`] and
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
    miniapp: MiniApp,
) -> Dispatcher<Bot, HandlerError, DefaultKey> {
    Dispatcher::builder(bot, schema())
        .dependencies(dptree::deps![experiments, storage, miniapp])
        .default_handler(|_| async {})
        .build()
}

async fn on_command(
    bot: Bot,
    exp: Experiments,
    miniapp: MiniApp,
    dialogue: BotDialogue,
    msg: Message,
    cmd: Command,
) -> HandlerResult {
    let mut turn = Turn::load(bot, exp, dialogue, msg.from.as_ref()).await;
    let result = command(&mut turn, cmd, &miniapp).await;
    turn.finish(result).await
}

async fn command(turn: &mut Turn, cmd: Command, miniapp: &MiniApp) -> HandlerResult {
    match cmd {
        Command::Start(param) => onboarding::start(turn, param.trim()).await,
        Command::Profile => onboarding::ask_use_case(turn).await,
        Command::Menu => menu::show(turn).await,
        Command::Digest => menu::digest(turn).await,
        Command::Import => import::start(turn).await,
        Command::Vip => vip::paywall(turn).await,
        Command::Refund => refund::refund(turn).await,
        Command::App => app::open(turn, miniapp).await,
        Command::Feedback => feedback::ask(turn).await,
        Command::Cancel => {
            turn.save(Step::Idle).await;
            turn.say("Cancelled.").await?;
            menu::show(turn).await
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
    let result = message(&mut turn, msg.text()).await;
    turn.finish(result).await
}

async fn message(turn: &mut Turn, text: Option<&str>) -> HandlerResult {
    match turn.session.step.clone() {
        Step::AwaitImport => import::receive(turn, text).await,
        Step::AskUseCase | Step::AskExperience { .. } | Step::AskCurrency { .. } => {
            onboarding::repeat_question(turn).await
        }
        Step::Idle => {
            turn.say("I didn't get that — here is the menu. /help lists every command.")
                .await?;
            menu::show(turn).await
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
    let result = callback(&mut turn, q.data.as_deref().unwrap_or_default()).await;
    turn.finish(result).await
}

async fn callback(turn: &mut Turn, data: &str) -> HandlerResult {
    let (kind, arg) = data.split_once(':').unwrap_or((data, ""));
    match kind {
        "q" => onboarding::answer(turn, arg).await,
        "cta" => menu::cta_click(turn).await,
        "menu" => match arg {
            "digest" => menu::digest(turn).await,
            "import" => import::start(turn).await,
            "vip" => vip::paywall(turn).await,
            "feedback" => feedback::ask(turn).await,
            _ => menu::show(turn).await,
        },
        "vip" => vip::subscribe(turn, arg == "auto").await,
        "nps" => feedback::answer(turn, arg).await,
        _ => menu::show(turn).await,
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
            ("/refund", Some(Command::Refund)),
            ("/app", Some(Command::App)),
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
