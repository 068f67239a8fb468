//! Verdict bot: a Telegram assistant for the Mini App product whose copy
//! and VIP paywall are Verdict experiments.
//!
//! Flows (teloxide dialogues, state in SQLite or Redis): `/start` with an
//! ICP questionnaire, a menu whose call-to-action is `cta_copy`, `/digest`
//! (`digest_layout`), `/import` (`import_hint`), `/vip` (`vip_paywall_copy`,
//! Telegram Stars) with `/refund`, `/app` (the Mini App) and `/feedback`
//! (NPS). Variants are evaluated locally by the Verdict SDK with the
//! Telegram user id as unit; events go through the SDK, one at every
//! funnel step. If Verdict is unreachable the bot answers with default copy.

pub mod config;
pub mod copy;
pub mod digest;
pub mod experiments;
pub mod flows;
pub mod payments;
pub mod portfolio;
pub mod questionnaire;
pub mod session;
pub mod storage;

use teloxide::prelude::*;
use teloxide::update_listeners;
use teloxide::utils::command::BotCommands;

pub use config::Config;
pub use experiments::Experiments;
use flows::Command;
use session::Session;

/// Errors that stop the bot at startup.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The dialogue storage could not be opened.
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
    /// Telegram rejected or did not answer the initial `getMe`.
    #[error("Telegram Bot API: {0}")]
    Telegram(#[from] teloxide::RequestError),
}

/// The Telegram client for `config` (token and optional API URL).
pub fn telegram(config: &Config) -> Bot {
    let bot = Bot::new(&config.bot_token);
    match &config.telegram_api_url {
        Some(url) => bot.set_api_url(url.clone()),
        None => bot,
    }
}

/// Runs the bot until Ctrl-C, then flushes queued events to Verdict.
pub async fn run(config: Config) -> Result<(), BotError> {
    let storage = storage::open::<Session>(&config).await?;
    let experiments = Experiments::from_config(&config);
    let bot = telegram(&config);
    if let Err(e) = bot.set_my_commands(Command::bot_commands()).await {
        tracing::warn!(error = %e, "setMyCommands failed");
    }
    let miniapp = flows::MiniApp(config.miniapp_url.clone());
    let mut dispatcher = flows::dispatcher(bot.clone(), experiments.clone(), storage, miniapp);
    let shutdown = dispatcher.shutdown_token();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok()
            && let Ok(done) = shutdown.shutdown()
        {
            done.await;
        }
    });
    tracing::info!("verdict-bot running");
    let listener = update_listeners::polling_default(bot).await;
    let result = dispatcher
        .try_dispatch_with_listener(
            listener,
            LoggingErrorHandler::with_custom_text("Telegram update listener"),
        )
        .await;
    ctrl_c.abort();
    experiments.close().await;
    Ok(result?)
}
