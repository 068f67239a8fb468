//! Authentication and authorization: JWT bearer tokens carrying a role, and
//! Telegram Mini App initData as the identity of browser clients.

mod client;
mod extract;
mod keys;
mod rate;
mod role;
mod secret;
pub mod telegram;
mod verified;

pub use client::{Client, DEFAULT_CLIENT_EVENTS, MiniAppEnvironment, MiniApps};
pub use extract::{Admin, Analyst, Authorized, Caller, MinRole, Pm, Sdk};
pub use keys::{Claims, JwtKeys, KeyError};
pub use rate::RateLimiter;
pub use role::Role;
pub use secret::{SecretError, SecretOrigin, resolve_secret};
pub use telegram::{TelegramEnvironment, TelegramError, TelegramUser, TelegramVerifier};
