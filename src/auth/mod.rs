//! Authentication and authorization: JWT bearer tokens carrying a role.

mod extract;
mod keys;
mod role;
mod secret;
mod verified;

pub use extract::{Admin, Analyst, Authorized, Caller, MinRole, Pm, Sdk};
pub use keys::{Claims, JwtKeys, KeyError};
pub use role::Role;
pub use secret::{SecretError, SecretOrigin, resolve_secret};
