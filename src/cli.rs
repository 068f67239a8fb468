//! Command-line interface: every option can also be set through its environment variable.

use std::time::Duration;

use chrono::NaiveTime;
use chrono_tz::Tz;
use clap::{Args, Parser, Subcommand};

use crate::auth::telegram::{TelegramEnvironment, TelegramVerifier};
use crate::auth::{DEFAULT_CLIENT_EVENTS, MiniAppEnvironment, MiniApps, Role};
use crate::events::IngestLimits;
use crate::experiments::GuardrailPolicy;
use crate::telegram::{Presentation, TelegramChat, TelegramSettings};
use crate::webhooks::{BotToken, TelegramBot};

/// Verdict: feature flags, experiments and decisions.
#[derive(Debug, Parser)]
#[command(name = "verdict", version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options shared by every command.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Options every command reads.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Database URL: `sqlite://PATH` (embedded default) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://verdict.db",
        global = true
    )]
    pub database_url: String,
    /// HS256 secret for signing and verifying tokens. When unset on SQLite, a random
    /// secret is generated and kept next to the database file.
    #[arg(
        long,
        env = "VERDICT_JWT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub jwt_secret: Option<String>,
    /// PEM file (or inline PEM) with an RSA public key: also accept RS256 tokens from an identity provider.
    #[arg(long, env = "VERDICT_JWT_PUBLIC_KEY", global = true)]
    pub jwt_public_key: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database and serve the HTTP API (the default).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a signed JWT for a role.
    Token(TokenArgs),
    /// Print the OpenAPI document.
    Openapi,
    /// Load demo data into the database.
    Seed(SeedArgs),
    /// Print a one-time link that signs into the console at `/ui`.
    LoginLink(LoginLinkArgs),
}

/// Options of `verdict login-link`.
#[derive(Debug, Clone, Args)]
pub struct LoginLinkArgs {
    /// Role of the console session the link opens.
    #[arg(long, default_value = "pm")]
    pub role: Role,
    /// Who signs in (recorded as the author of decisions).
    #[arg(long)]
    pub subject: String,
    /// Environment of the session.
    #[arg(long, default_value = "production")]
    pub environment: String,
    /// How long the link can be redeemed (once), e.g. `15m`.
    #[arg(long, default_value = "15m", value_parser = parse_ttl)]
    pub ttl: Duration,
    /// Where the console is reached, for the printed link.
    #[arg(
        long,
        env = "VERDICT_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub base_url: String,
}

/// Options of `verdict seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// Load the OKR demo: metric catalogue, four running experiments with their flags and guardrails.
    #[arg(long)]
    pub demo: bool,
    /// Also simulate this many users (exposures through flag evaluation, and events).
    #[arg(long, requires = "demo")]
    pub simulate_users: Option<usize>,
    /// Keep the simulated events in this PostgreSQL warehouse instead of
    /// Verdict's database (an `events` table and a dbt-style view), as data
    /// source `analytics` that every demo metric is computed on.
    #[arg(long, requires = "simulate_users")]
    pub warehouse: Option<String>,
    /// Random seed of the simulation.
    #[arg(long, default_value_t = 42)]
    pub simulation_seed: u64,
}

/// Options of `verdict serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "VERDICT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Largest accepted request body in bytes; larger bodies get 413.
    #[arg(long, env = "VERDICT_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "VERDICT_WORKERS")]
    pub workers: Option<usize>,
    /// Database connection pool size.
    #[arg(long, env = "VERDICT_DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: u32,
    /// How often (ms) to check the database for configuration changes made by
    /// other replicas.
    #[arg(long, env = "VERDICT_CONFIG_POLL_MS", default_value_t = 250)]
    pub config_poll_ms: u64,
    /// Where notifications (decision recorded, SRM detected, guardrail failed,
    /// decision deadline reached) are POSTed; unset: none are sent.
    #[arg(long, env = "VERDICT_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// HMAC-SHA256 key for the `X-Verdict-Signature` header of notifications.
    #[arg(long, env = "VERDICT_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Bot token that sends the daily digest and the alerts (SRM detected,
    /// guardrail failed, decision deadline reached) to
    /// `VERDICT_TELEGRAM_DIGEST_CHAT`; unset: no Telegram messages.
    #[arg(long, env = "VERDICT_TELEGRAM_DIGEST_TOKEN", hide_env_values = true, value_parser = BotToken::new)]
    pub telegram_digest_token: Option<BotToken>,
    /// The chat the digest and alerts go to: a chat id (group ids are
    /// negative) or `@channel`.
    #[arg(long, env = "VERDICT_TELEGRAM_DIGEST_CHAT", allow_hyphen_values = true)]
    pub telegram_digest_chat: Option<String>,
    /// Bot API base URL (a local Bot API server's, say).
    #[arg(
        long,
        env = "VERDICT_TELEGRAM_API_URL",
        default_value = "https://api.telegram.org"
    )]
    pub telegram_api_url: String,
    /// Local time of the daily digest, `HH:MM` in `VERDICT_DIGEST_TZ`.
    #[arg(long, env = "VERDICT_DIGEST_AT", default_value = "09:00", value_parser = parse_time_of_day)]
    pub digest_at: NaiveTime,
    /// Time zone (IANA name) of the digest time and of times in messages.
    #[arg(long, env = "VERDICT_DIGEST_TZ", default_value = "Europe/Moscow", value_parser = parse_tz)]
    pub digest_tz: Tz,
    /// This service's public base URL, for console links in messages.
    #[arg(
        long,
        env = "VERDICT_PUBLIC_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub public_url: String,
    /// Most events accepted in one `POST /api/v1/events` batch.
    #[arg(long, env = "VERDICT_MAX_EVENTS_PER_BATCH", default_value_t = 1000)]
    pub max_events_per_batch: usize,
    /// Events timestamped further in the future are rejected, e.g. `1h`.
    #[arg(long, env = "VERDICT_EVENT_MAX_FUTURE", default_value = "1h", value_parser = parse_ttl)]
    pub event_max_future: Duration,
    /// Events older than this are rejected, e.g. `30d`.
    #[arg(long, env = "VERDICT_EVENT_MAX_AGE", default_value = "30d", value_parser = parse_ttl)]
    pub event_max_age: Duration,
    /// Launching an experiment without a guardrail: `require` refuses, `warn` launches and records it.
    #[arg(long, env = "VERDICT_GUARDRAIL_POLICY", value_enum, default_value_t = GuardrailPolicy::Require)]
    pub guardrail_policy: GuardrailPolicy,
    /// How often running experiments get a stored results snapshot (slots
    /// aligned on midnight UTC; `24h` = daily, T+1), e.g. `24h`.
    #[arg(long, env = "VERDICT_RESULTS_INTERVAL", default_value = "24h", value_parser = parse_ttl)]
    pub results_interval: Duration,
    /// How often the stored per-unit values behind on-request results are
    /// brought up to date for running experiments, e.g. `1m`.
    #[arg(long, env = "VERDICT_RESULTS_ADVANCE_INTERVAL", default_value = "1m", value_parser = parse_ttl)]
    pub results_advance_interval: Duration,
    /// Bot token whose Mini Apps may call with `Authorization: tma <initData>`
    /// (checks initData's `hash`): `TOKEN` for production, or per environment
    /// `production=TOKEN,staging=TOKEN`.
    #[arg(long, env = "VERDICT_TELEGRAM_BOT_TOKEN", hide_env_values = true)]
    pub telegram_bot_token: Option<String>,
    /// Bot id whose Mini Apps may call with `tma` (checks initData's Ed25519
    /// `signature` with Telegram's key; no token needed): `ID`, `test:ID` for
    /// Telegram's test environment, or per environment `production=ID,staging=test:ID`.
    #[arg(long, env = "VERDICT_TELEGRAM_BOT_ID")]
    pub telegram_bot_id: Option<String>,
    /// Oldest initData accepted (its `auth_date`), e.g. `24h`.
    #[arg(long, env = "VERDICT_TMA_MAX_AGE", default_value = "24h", value_parser = parse_ttl)]
    pub tma_max_age: Duration,
    /// Event names Mini Apps may send: `a,b,c` for every environment, or per
    /// environment `production=a|b;staging=c` (default: miniapp_auth,
    /// portfolio_import, cta_click).
    #[arg(long, env = "VERDICT_TMA_EVENTS")]
    pub tma_events: Option<String>,
    /// Events a Mini App user may send per minute (per replica).
    #[arg(long, env = "VERDICT_TMA_EVENTS_PER_MINUTE", default_value_t = 60)]
    pub tma_events_per_minute: u32,
    /// Web origins allowed to call the client-facing routes (evaluation, OFREP,
    /// events) from a browser, comma-separated, e.g. `https://app.example.com`
    /// (`*`: any); none by default.
    #[arg(long, env = "VERDICT_CORS_ORIGINS")]
    pub cors_origins: Option<String>,
}

/// `[environment=]value` entries separated by `separator`; a value without an
/// environment is production's.
fn per_environment(raw: &str, separator: char) -> Vec<(String, String)> {
    raw.split(separator)
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|entry| match entry.split_once('=') {
            Some((env, value)) => (env.trim().to_owned(), value.trim().to_owned()),
            None => ("production".to_owned(), entry.to_owned()),
        })
        .collect()
}

impl ServeArgs {
    /// The Mini App settings these options set (`None`: no bot configured).
    pub fn mini_apps(&self) -> Result<Option<MiniApps>, String> {
        let mut verifiers: Vec<(String, TelegramVerifier)> = Vec::new();
        for (env, token) in self
            .telegram_bot_token
            .as_deref()
            .map(|raw| per_environment(raw, ','))
            .unwrap_or_default()
        {
            if token.is_empty() {
                return Err(format!(
                    "VERDICT_TELEGRAM_BOT_TOKEN: empty token for `{env}`"
                ));
            }
            verifiers.push((env, TelegramVerifier::first_party(&token)));
        }
        for (env, id) in self
            .telegram_bot_id
            .as_deref()
            .map(|raw| per_environment(raw, ','))
            .unwrap_or_default()
        {
            let (telegram, id) = match id.strip_prefix("test:") {
                Some(id) => (TelegramEnvironment::Test, id.to_owned()),
                None => (TelegramEnvironment::Production, id),
            };
            let id: u64 = id
                .parse()
                .map_err(|_| format!("VERDICT_TELEGRAM_BOT_ID: `{id}` is not a bot id"))?;
            verifiers.push((env, TelegramVerifier::third_party(id, telegram)));
        }
        if verifiers.is_empty() {
            return Ok(None);
        }
        let events = self.tma_events.as_deref().map(|raw| {
            raw.split(';')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(|entry| match entry.split_once('=') {
                    Some((env, names)) => (Some(env.trim().to_owned()), names.to_owned()),
                    None => (None, entry.to_owned()),
                })
                .collect::<Vec<_>>()
        });
        let events_of = |env: &str| -> Vec<String> {
            let listed = events.as_ref().and_then(|entries| {
                entries
                    .iter()
                    .find(|(e, _)| e.as_deref() == Some(env))
                    .or_else(|| entries.iter().find(|(e, _)| e.is_none()))
            });
            match listed {
                Some((_, names)) => names
                    .split([',', '|'])
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect(),
                None => DEFAULT_CLIENT_EVENTS.map(str::to_owned).to_vec(),
            }
        };
        let environments = verifiers
            .into_iter()
            .map(|(environment, verifier)| MiniAppEnvironment {
                events: events_of(&environment),
                verifier: verifier.with_max_age(self.tma_max_age),
                environment,
            })
            .collect();
        Ok(Some(MiniApps::new(
            environments,
            self.tma_events_per_minute,
        )))
    }

    /// The origins allowed by `VERDICT_CORS_ORIGINS`.
    pub fn cors_origins(&self) -> Vec<String> {
        self.cors_origins
            .as_deref()
            .map(|raw| {
                raw.split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The Telegram digest and alerts these options set (`None`: no token).
    pub fn telegram(&self) -> Result<Option<TelegramSettings>, String> {
        let chat = self
            .telegram_digest_chat
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let (token, chat) = match (&self.telegram_digest_token, chat) {
            (None, None) => return Ok(None),
            (Some(token), Some(chat)) => (token.clone(), chat.to_owned()),
            (Some(_), None) => {
                return Err(
                    "VERDICT_TELEGRAM_DIGEST_TOKEN needs VERDICT_TELEGRAM_DIGEST_CHAT".into(),
                );
            }
            (None, Some(_)) => {
                return Err(
                    "VERDICT_TELEGRAM_DIGEST_CHAT needs VERDICT_TELEGRAM_DIGEST_TOKEN".into(),
                );
            }
        };
        for (name, url) in [
            ("VERDICT_TELEGRAM_API_URL", &self.telegram_api_url),
            ("VERDICT_PUBLIC_URL", &self.public_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!("{name}: `{url}` is not an http(s) URL"));
            }
        }
        Ok(Some(TelegramSettings {
            bot: TelegramBot {
                api_url: self.telegram_api_url.clone(),
                token,
                max_attempts: 10,
                base_backoff: Duration::from_secs(2),
                timeout: Duration::from_secs(10),
            },
            chat: TelegramChat {
                chat,
                view: Presentation {
                    public_url: self.public_url.clone(),
                    tz: self.digest_tz,
                },
            },
            digest_at: self.digest_at,
        }))
    }

    /// The event ingestion limits these options set.
    pub fn ingest_limits(&self) -> IngestLimits {
        IngestLimits {
            max_batch: self.max_events_per_batch.max(1),
            max_future: self.event_max_future,
            max_age: self.event_max_age,
        }
    }
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            max_body_bytes: 1024 * 1024,
            workers: None,
            db_pool_size: 8,
            max_events_per_batch: IngestLimits::default().max_batch,
            event_max_future: IngestLimits::default().max_future,
            event_max_age: IngestLimits::default().max_age,
            guardrail_policy: GuardrailPolicy::default(),
            config_poll_ms: 250,
            webhook_url: None,
            webhook_secret: None,
            telegram_digest_token: None,
            telegram_digest_chat: None,
            telegram_api_url: "https://api.telegram.org".into(),
            digest_at: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            digest_tz: chrono_tz::Europe::Moscow,
            public_url: "http://127.0.0.1:8080".into(),
            results_interval: Duration::from_secs(86_400),
            results_advance_interval: Duration::from_secs(60),
            telegram_bot_token: None,
            telegram_bot_id: None,
            tma_max_age: Duration::from_secs(86_400),
            tma_events: None,
            tma_events_per_minute: 60,
            cors_origins: None,
        }
    }
}

/// Options of `verdict token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// Role granted by the token.
    #[arg(long, env = "VERDICT_TOKEN_ROLE")]
    pub role: Role,
    /// Who the token is for (the `sub` claim; recorded as the actor of changes).
    #[arg(long, env = "VERDICT_TOKEN_SUBJECT")]
    pub subject: String,
    /// Lifetime, e.g. `30d`, `12h`.
    #[arg(long, env = "VERDICT_TOKEN_TTL", default_value = "30d", value_parser = parse_ttl)]
    pub ttl: Duration,
    /// Environment an `sdk` token is bound to.
    #[arg(long, env = "VERDICT_TOKEN_ENVIRONMENT", default_value = "production")]
    pub environment: String,
}

fn parse_ttl(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw).map_err(|e| format!("invalid duration {raw:?}: {e}"))
}

fn parse_time_of_day(raw: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(raw.trim(), "%H:%M")
        .map_err(|_| format!("invalid time of day {raw:?}: expected HH:MM, e.g. 09:00"))
}

fn parse_tz(raw: &str) -> Result<Tz, String> {
    raw.trim().parse().map_err(|_| {
        format!("unknown time zone {raw:?}: expected an IANA name, e.g. Europe/Moscow")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(token: Option<&str>, chat: Option<&str>, api: &str) -> ServeArgs {
        ServeArgs {
            telegram_digest_token: token.map(|t| BotToken::new(t).expect("token")),
            telegram_digest_chat: chat.map(str::to_owned),
            telegram_api_url: api.into(),
            ..ServeArgs::default()
        }
    }

    #[test]
    fn telegram_needs_token_and_chat_together() {
        let api = "https://api.telegram.org";
        let cases = [
            (None, None, api, Ok(None)),
            (Some("1:x"), Some("-100"), api, Ok(Some("-100"))),
            (Some("1:x"), Some(" @alerts "), api, Ok(Some("@alerts"))),
            (
                Some("1:x"),
                None,
                api,
                Err("VERDICT_TELEGRAM_DIGEST_TOKEN needs VERDICT_TELEGRAM_DIGEST_CHAT"),
            ),
            (
                Some("1:x"),
                Some(" "),
                api,
                Err("VERDICT_TELEGRAM_DIGEST_TOKEN needs VERDICT_TELEGRAM_DIGEST_CHAT"),
            ),
            (
                None,
                Some("-100"),
                api,
                Err("VERDICT_TELEGRAM_DIGEST_CHAT needs VERDICT_TELEGRAM_DIGEST_TOKEN"),
            ),
            (
                Some("1:x"),
                Some("-100"),
                "api.telegram.org",
                Err("VERDICT_TELEGRAM_API_URL: `api.telegram.org` is not an http(s) URL"),
            ),
        ];
        for (token, chat, api, expected) in cases {
            let got = args(token, chat, api)
                .telegram()
                .map(|t| t.map(|t| t.chat.chat));
            assert_eq!(
                got,
                expected
                    .map(|c| c.map(str::to_owned))
                    .map_err(str::to_owned),
                "{token:?} {chat:?} {api}"
            );
        }
    }

    #[test]
    fn options_parse_and_hide_the_token() {
        let cli = Cli::try_parse_from([
            "verdict",
            "serve",
            "--telegram-digest-token",
            "123:very-secret",
            "--telegram-digest-chat",
            "-1001234",
            "--digest-at",
            "07:30",
            "--digest-tz",
            "Europe/Berlin",
        ])
        .expect("parses");
        let Some(Command::Serve(serve)) = cli.command else {
            panic!("serve");
        };
        let settings = serve.telegram().expect("valid").expect("configured");
        assert_eq!(
            (
                settings.chat.chat.as_str(),
                settings.digest_at,
                settings.chat.view.tz,
                settings.bot.api_url.as_str()
            ),
            (
                "-1001234",
                NaiveTime::from_hms_opt(7, 30, 0).expect("time"),
                chrono_tz::Europe::Berlin,
                "https://api.telegram.org"
            )
        );
        for printed in [format!("{serve:?}"), format!("{settings:?}")] {
            assert!(!printed.contains("very-secret"), "{printed}");
        }
        for (flag, value) in [("--digest-at", "9am"), ("--digest-tz", "Mars/Olympus")] {
            assert!(
                Cli::try_parse_from(["verdict", "serve", flag, value]).is_err(),
                "{flag} {value}"
            );
        }
    }
}
