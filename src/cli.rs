//! Command-line interface: every option can also be set through its environment variable.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::auth::Role;
use crate::events::IngestLimits;
use crate::experiments::GuardrailPolicy;

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
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print a signed JWT for a role.
    Token(TokenArgs),
    /// Print the OpenAPI document.
    Openapi,
    /// Load demo data into the database.
    Seed(SeedArgs),
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
}

impl ServeArgs {
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
            results_interval: Duration::from_secs(86_400),
            results_advance_interval: Duration::from_secs(60),
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
