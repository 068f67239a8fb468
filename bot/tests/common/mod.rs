//! Test harness: the real Verdict service, a mock Telegram Bot API, and the
//! bot itself running its dispatcher against both.

#![allow(dead_code)]

pub mod tap;
pub mod telegram;
pub mod verdict;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use teloxide::dispatching::ShutdownToken;
use tokio::task::JoinHandle;
use verdict_bot::{Config, Experiments, flows, session::Session, storage};

/// Bound of every wait in the tests.
pub const WAIT: Duration = Duration::from_secs(15);

/// Routes loopback traffic around any proxy configured in the environment.
pub fn no_proxy() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: runs once, before this test builds any HTTP client; tests that
    // start concurrently wait on the `Once` instead of reading the environment.
    ONCE.call_once(|| unsafe { std::env::set_var("NO_PROXY", "127.0.0.1,localhost") });
}

/// The bot's dispatcher running on the test runtime.
pub struct RunningBot {
    /// Its Verdict access (to flush events in assertions).
    pub experiments: Experiments,
    shutdown: ShutdownToken,
    task: JoinHandle<()>,
}

impl RunningBot {
    /// Starts the bot with `TELEGRAM_API_URL=telegram`, dialogue state in
    /// `db`, and Verdict at `verdict` (`(url, sdk token)`), if any.
    pub async fn start(telegram: &str, db: PathBuf, verdict: Option<(&str, &str)>) -> Self {
        Self::start_with(telegram, db, verdict, &[]).await
    }

    /// [`RunningBot::start`] with extra command-line arguments.
    pub async fn start_with(
        telegram: &str,
        db: PathBuf,
        verdict: Option<(&str, &str)>,
        extra: &[&str],
    ) -> Self {
        no_proxy();
        let mut args = vec![
            "verdict-bot".to_owned(),
            "--bot-token".into(),
            "123456:TEST".into(),
            "--telegram-api-url".into(),
            telegram.into(),
            "--db".into(),
            db.display().to_string(),
            "--refresh-secs".into(),
            "1".into(),
        ];
        if let Some((url, token)) = verdict {
            args.extend(["--verdict-url".into(), url.into()]);
            args.extend(["--verdict-token".into(), token.into()]);
        }
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let config = Config::try_parse_from(args).expect("config");
        let storage = storage::open::<Session>(&config).await.expect("storage");
        let experiments = Experiments::from_config(&config);
        if verdict.is_some() {
            let client = experiments.client().expect("client");
            // Unreachable services never become ready; that is fine.
            let _ = client.wait_ready(Duration::from_secs(3)).await;
        }
        let bot = verdict_bot::telegram(&config);
        let miniapp = flows::MiniApp(config.miniapp_url.clone());
        let mut dispatcher =
            flows::dispatcher(bot, experiments.clone(), Arc::clone(&storage), miniapp);
        let shutdown = dispatcher.shutdown_token();
        let task = tokio::spawn(async move { dispatcher.dispatch().await });
        Self {
            experiments,
            shutdown,
            task,
        }
    }

    /// Delivers queued events and exposures now.
    pub async fn flush(&self) {
        if let Some(c) = self.experiments.client() {
            c.flush().await.expect("events and exposures delivered");
        }
    }

    /// Stops the dispatcher and closes the Verdict client.
    pub async fn stop(self) {
        for _ in 0..100 {
            match self.shutdown.shutdown() {
                Ok(done) => {
                    done.await;
                    break;
                }
                // Not running yet: try again shortly.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let _ = tokio::time::timeout(WAIT, self.task).await;
        self.experiments.close().await;
    }
}
