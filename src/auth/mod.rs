//! Authentication and authorization: JWT bearer tokens carrying a role, and
//! Telegram Mini App initData as the identity of browser clients.

mod extract;
mod keys;
mod role;
mod secret;
pub mod telegram;
mod verified;

pub use extract::{Admin, Analyst, Authorized, Caller, MinRole, Pm, Sdk};
pub use keys::{Claims, JwtKeys, KeyError};
pub use role::Role;
pub use secret::{SecretError, SecretOrigin, resolve_secret};
pub use telegram::{TelegramEnvironment, TelegramError, TelegramUser, TelegramVerifier};
