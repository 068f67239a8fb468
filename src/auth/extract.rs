//! The `Authorized<R>` extractor: a handler names its minimum role in its signature.

use std::future::{Ready, ready};
use std::marker::PhantomData;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest};

use super::{JwtKeys, Role};
use crate::http::ApiError;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's subject.
    pub subject: String,
    /// The token's role.
    pub role: Role,
    /// Environment the caller works in (an `sdk` token is bound to one).
    pub environment: String,
}

/// A marker type naming the minimum role of a route.
pub trait MinRole {
    /// The least role allowed.
    const ROLE: Role;
}

macro_rules! min_role {
    ($($name:ident => $role:expr),* $(,)?) => {$(
        #[doc = concat!("Minimum role `", stringify!($name), "`.")]
        #[derive(Debug)]
        pub struct $name;
        impl MinRole for $name {
            const ROLE: Role = $role;
        }
    )*};
}

min_role!(Sdk => Role::Sdk, Analyst => Role::Analyst, Pm => Role::Pm, Admin => Role::Admin);

/// Extracts the caller from `Authorization: Bearer <jwt>` (or `X-API-Key: <jwt>`)
/// and checks that its role is at least `R`: 401 without a valid token, 403 when
/// the role is too low.
#[derive(Debug)]
pub struct Authorized<R: MinRole> {
    /// The caller.
    pub caller: Caller,
    role: PhantomData<R>,
}

impl<R: MinRole> std::ops::Deref for Authorized<R> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<R: MinRole> FromRequest for Authorized<R> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authorize(req, R::ROLE).map(|caller| Authorized {
            caller,
            role: PhantomData,
        }))
    }
}

pub(super) fn authorize(req: &HttpRequest, required: Role) -> Result<Caller, ApiError> {
    let keys = req
        .app_data::<Arc<JwtKeys>>()
        .ok_or_else(|| ApiError::internal("JwtKeys missing from app data"))?;
    let token = bearer_token(req)?;
    let claims = keys
        .verify(token)
        .map_err(|e| ApiError::Unauthorized(e.to_string()))?;
    if !claims.role.satisfies(required) {
        return Err(ApiError::Forbidden(format!(
            "this operation needs role `{required}` or higher; the token has `{}`",
            claims.role
        )));
    }
    Ok(Caller {
        subject: claims.sub,
        role: claims.role,
        environment: claims.env.unwrap_or_else(|| "production".into()),
    })
}

fn bearer_token(req: &HttpRequest) -> Result<&str, ApiError> {
    if let Some(value) = req.headers().get(AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| ApiError::Unauthorized("Authorization header is not ASCII".into()))?;
        let (scheme, token) = value.split_once(' ').ok_or_else(|| {
            ApiError::Unauthorized("Authorization header must be `Bearer <token>`".into())
        })?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::Unauthorized(
                "Authorization header must be `Bearer <token>`".into(),
            ));
        }
        return Ok(token.trim());
    }
    if let Some(value) = req.headers().get("x-api-key") {
        return value
            .to_str()
            .map(str::trim)
            .map_err(|_| ApiError::Unauthorized("X-API-Key header is not ASCII".into()));
    }
    Err(ApiError::Unauthorized(
        "missing credentials: send `Authorization: Bearer <token>`".into(),
    ))
}
