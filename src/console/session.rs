//! Console sessions: the signed-in user's JWT in an HttpOnly, `SameSite=Strict`
//! cookie (`Secure` over TLS), verified on every page like an API token, so
//! the console's roles are exactly the API's.

use std::future::{Ready, ready};
use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};

use super::page::PageError;
use crate::auth::{Claims, JwtKeys, Role};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "verdict_session";

/// The signed-in user of a console request (at least `analyst`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// Token subject (the author of decisions recorded through the console).
    pub subject: String,
    /// Role of the token.
    pub role: Role,
}

impl Viewer {
    /// Refuses (403) unless the viewer's role is at least `required`.
    pub fn require(&self, required: Role) -> Result<(), PageError> {
        if self.role.satisfies(required) {
            Ok(())
        } else {
            Err(PageError::forbidden(format!(
                "this needs role `{required}` or higher; you are signed in as `{}`",
                self.role
            )))
        }
    }

    /// Whether the viewer may record decisions.
    pub fn can_write(&self) -> bool {
        self.role.satisfies(Role::Pm)
    }
}

/// The claims of `token` if it verifies and may use the console.
pub fn admit(keys: &JwtKeys, token: &str) -> Result<Claims, PageError> {
    let claims = keys.verify(token).map_err(|e| PageError::SignIn {
        reason: Some(e.to_string()),
    })?;
    if !claims.role.satisfies(Role::Analyst) {
        return Err(PageError::forbidden(
            "the console needs role `analyst` or higher; `sdk` tokens are for applications",
        ));
    }
    Ok(claims)
}

fn viewer(req: &HttpRequest) -> Result<Viewer, PageError> {
    let keys = req
        .app_data::<Arc<JwtKeys>>()
        .ok_or_else(|| PageError::internal("JwtKeys missing from app data"))?;
    let cookie = req
        .cookie(SESSION_COOKIE)
        .ok_or(PageError::SignIn { reason: None })?;
    let claims = admit(keys, cookie.value()).map_err(|e| match e {
        PageError::SignIn { .. } => PageError::SignIn {
            reason: Some("your session has expired; sign in again".into()),
        },
        other => other,
    })?;
    Ok(Viewer {
        subject: claims.sub,
        role: claims.role,
    })
}

impl FromRequest for Viewer {
    type Error = PageError;
    type Future = Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(viewer(req))
    }
}

/// Whether the request came over TLS (directly or through a proxy that says so).
pub fn is_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

/// A console cookie: HttpOnly, `SameSite=Strict`, scoped to `/ui`, `Secure` over TLS.
pub fn cookie(name: &'static str, value: String, tls: bool) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/ui")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(tls)
        .finish()
}

/// The session cookie for `token`, expiring with it.
pub fn session_cookie(token: String, claims: &Claims, now_secs: u64, tls: bool) -> Cookie<'static> {
    let mut c = cookie(SESSION_COOKIE, token, tls);
    let left = claims.exp.saturating_sub(now_secs).min(i64::MAX as u64) as i64;
    c.set_max_age(time::Duration::seconds(left));
    c
}

/// A cookie that removes the session.
pub fn signed_out(tls: bool) -> Cookie<'static> {
    let mut c = cookie(SESSION_COOKIE, String::new(), tls);
    c.make_removal();
    c
}
