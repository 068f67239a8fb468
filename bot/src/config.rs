//! Command-line and environment configuration.

use std::path::PathBuf;

use clap::Parser;
use url::Url;

/// Telegram assistant for the Mini App whose copy and VIP paywall are
/// Verdict experiments. Every option can also be set by its environment
/// variable.
#[derive(Debug, Clone, Parser)]
#[command(name = "verdict-bot", version, about)]
pub struct Config {
    /// Telegram bot token from @BotFather.
    #[arg(long, env = "BOT_TOKEN", hide_env_values = true)]
    pub bot_token: String,

    /// Base URL of the Verdict service.
    #[arg(
        long,
        env = "VERDICT_URL",
        hide_env_values = true,
        default_value = "http://127.0.0.1:8080"
    )]
    pub verdict_url: Url,

    /// Verdict token with the `sdk` role. Without it the bot serves default
    /// copy and tracks nothing.
    #[arg(long, env = "VERDICT_TOKEN", hide_env_values = true)]
    pub verdict_token: Option<String>,

    /// Telegram Bot API base URL (a local Bot API server or a test server).
    #[arg(long, env = "TELEGRAM_API_URL", hide_env_values = true)]
    pub telegram_api_url: Option<Url>,

    /// SQLite file holding dialogue state (used unless REDIS_URL is set).
    #[arg(
        long,
        env = "BOT_DB",
        hide_env_values = true,
        default_value = "verdict-bot.sqlite"
    )]
    pub db: PathBuf,

    /// Redis URL for dialogue state instead of SQLite, e.g. redis://127.0.0.1/.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Ruleset JSON (a saved `GET /api/v1/sdk/config` body) served until
    /// the first download from Verdict succeeds.
    #[arg(long, env = "VERDICT_BOOTSTRAP", hide_env_values = true)]
    pub verdict_bootstrap: Option<PathBuf>,

    /// Seconds between ruleset refreshes.
    #[arg(
        long,
        env = "VERDICT_REFRESH_SECS",
        hide_env_values = true,
        default_value_t = 30
    )]
    pub refresh_secs: u64,

    /// Telegram Mini App opened by /app (an https URL). Unset: /app says
    /// the Mini App is not configured.
    #[arg(long, env = "BOT_MINIAPP_URL", hide_env_values = true, value_parser = https_url)]
    pub miniapp_url: Option<Url>,
}

/// Why a Mini App URL is rejected at startup.
#[derive(Debug, thiserror::Error)]
pub enum MiniAppUrlError {
    /// Not a URL at all.
    #[error("not a URL: {0}")]
    Parse(#[from] url::ParseError),
    /// Telegram opens `web_app` buttons only over https.
    #[error("the Mini App URL must start with https:// (Telegram opens Mini Apps only over https)")]
    NotHttps,
}

/// Parses `--miniapp-url`: an absolute https URL.
pub fn https_url(s: &str) -> Result<Url, MiniAppUrlError> {
    let url = Url::parse(s)?;
    if url.scheme() == "https" && url.host().is_some() {
        Ok(url)
    } else {
        Err(MiniAppUrlError::NotHttps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Config::command().debug_assert();
    }

    #[test]
    fn parses_flags() {
        let c = Config::try_parse_from([
            "verdict-bot",
            "--bot-token",
            "1:abc",
            "--verdict-url",
            "http://verdict:8080",
            "--telegram-api-url",
            "http://127.0.0.1:8081",
            "--db",
            "/tmp/x.sqlite",
        ]);
        let c = c.map_err(|e| e.to_string());
        assert!(c.is_ok(), "{c:?}");
        if let Ok(c) = c {
            assert_eq!(c.verdict_url.as_str(), "http://verdict:8080/");
            assert_eq!(
                c.telegram_api_url.map(String::from).as_deref(),
                Some("http://127.0.0.1:8081/")
            );
            assert_eq!(c.refresh_secs, 30);
        }
    }

    #[test]
    fn miniapp_url_must_be_https() {
        let ok = https_url("https://app.example.com/tma?x=1").map(String::from);
        assert_eq!(ok.ok().as_deref(), Some("https://app.example.com/tma?x=1"));
        for bad in [
            "http://app.example.com/",
            "app.example.com",
            "https:/",
            "ftp://x",
        ] {
            assert!(https_url(bad).is_err(), "{bad}");
        }
        let e = Config::try_parse_from([
            "verdict-bot",
            "--bot-token",
            "1:abc",
            "--miniapp-url",
            "http://app.example.com/",
        ]);
        let msg = e.map(|_| String::new()).unwrap_or_else(|e| e.to_string());
        assert!(msg.contains("https://"), "{msg}");
    }
}
