//! Who calls a client-facing route (evaluation, OFREP, events): an app with
//! an `sdk` token, or a Telegram Mini App with `Authorization: tma <initData>`
//! that Telegram signed for one of the deployment's bots. A Mini App is a
//! public web page, so it never holds a token: its verified Telegram user is
//! its identity, and the unit experiments assign.

use std::future::{Ready, ready};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest};
use verdict_core::Context;

use super::Role;
use super::extract::authorize;
use super::rate::RateLimiter;
use super::telegram::{TelegramUser, TelegramVerifier};
use crate::http::ApiError;

/// OpenFeature's name for the unit, which OFREP clients send.
const TARGETING_KEY: &str = "targetingKey";

/// Events a Mini App may send unless configured otherwise: the catalogue's
/// client-side events.
pub const DEFAULT_CLIENT_EVENTS: [&str; 3] = ["miniapp_auth", "portfolio_import", "cta_click"];

/// One environment's Mini App settings.
pub struct MiniAppEnvironment {
    /// The environment its users evaluate in.
    pub environment: String,
    /// Verifies its bot's initData.
    pub verifier: TelegramVerifier,
    /// Event names its Mini Apps may send.
    pub events: Vec<String>,
}

impl std::fmt::Debug for MiniAppEnvironment {
    // The verifier holds a key derived from the bot token: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniAppEnvironment")
            .field("environment", &self.environment)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for MiniApps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniApps")
            .field("environments", &self.environments)
            .finish_non_exhaustive()
    }
}

impl MiniApps {
    /// The settings of `environment`, when Mini Apps are configured for it.
    pub fn environment(&self, environment: &str) -> Option<&MiniAppEnvironment> {
        self.environments
            .iter()
            .find(|e| e.environment == environment)
    }
}

/// How Mini Apps are authenticated and limited; `None` in the app state when
/// no bot is configured (then `tma` credentials are refused).
pub struct MiniApps {
    /// Per environment (a bot belongs to one).
    pub environments: Vec<MiniAppEnvironment>,
    /// Events per user and minute (per replica).
    pub events: RateLimiter,
}

impl MiniApps {
    /// Mini App settings over `environments`, allowing `events_per_minute`
    /// events per user.
    pub fn new(environments: Vec<MiniAppEnvironment>, events_per_minute: u32) -> Self {
        Self {
            environments,
            events: RateLimiter::per_minute(events_per_minute),
        }
    }
}

/// A caller of a client-facing route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The environment it evaluates in.
    pub environment: String,
    /// The verified Telegram user of a Mini App (`None`: an `sdk` token).
    pub telegram: Option<TelegramUser>,
}

impl Client {
    /// Sets what initData vouches for in `ctx`: the verified user as the unit
    /// (`user_id` and OFREP's `targetingKey`; client-supplied ones are
    /// replaced, not refused, so a page that sends its own guess still works),
    /// and `language_code`, `is_premium` and `start_param` (a client's own
    /// values for those are dropped when initData has none). Nothing for an
    /// `sdk` token.
    pub fn vouch(&self, ctx: &mut Context) {
        let Some(user) = &self.telegram else {
            return;
        };
        ctx.insert(verdict_core::DEFAULT_BUCKET_BY, user.id.clone());
        if ctx.get(TARGETING_KEY).is_some() {
            ctx.insert(TARGETING_KEY, user.id.clone());
        }
        ctx.insert("is_premium", user.is_premium);
        for (attribute, vouched) in [
            ("language_code", &user.language_code),
            ("start_param", &user.start_param),
        ] {
            match vouched {
                Some(value) => ctx.insert(attribute, value.clone()),
                None => ctx.remove(attribute),
            };
        }
    }
}

impl FromRequest for Client {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(client(req))
    }
}

fn client(req: &HttpRequest) -> Result<Client, ApiError> {
    let init_data = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("tma"))
        .map(|(_, data)| data.trim());
    let Some(init_data) = init_data else {
        let caller = authorize(req, Role::Sdk)?;
        return Ok(Client {
            environment: caller.environment,
            telegram: None,
        });
    };
    let apps = req
        .app_data::<Arc<Option<MiniApps>>>()
        .and_then(|a| a.as_ref().as_ref())
        .ok_or_else(|| {
            ApiError::Unauthorized(
                "this deployment accepts no Telegram initData: set VERDICT_TELEGRAM_BOT_TOKEN \
                 or VERDICT_TELEGRAM_BOT_ID"
                    .into(),
            )
        })?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let mut first_error = None;
    for env in &apps.environments {
        match env.verifier.verify(init_data, now) {
            Ok(user) => {
                return Ok(Client {
                    environment: env.environment.clone(),
                    telegram: Some(user),
                });
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(ApiError::Unauthorized(match first_error {
        Some(e) => format!("Telegram initData refused: {e}"),
        None => "Telegram initData refused: no bot is configured".into(),
    }))
}
