//! Cross-site request forgery protection for every console form: a random
//! token in a `SameSite=Strict` cookie that each form repeats in a hidden
//! field (double submit), and the `Origin` of a POST must be the console's own.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header::ORIGIN;
use actix_web::{FromRequest, HttpRequest, HttpResponseBuilder};
use base64::Engine as _;
use subtle::ConstantTimeEq;

use super::page::PageError;
use super::session::{cookie, is_tls};

/// Name of the CSRF cookie (and of the hidden form field).
pub const CSRF_COOKIE: &str = "verdict_csrf";

/// The CSRF token a page's forms carry: the visitor's, or a new one that the
/// response sets.
#[derive(Debug, Clone)]
pub struct Csrf {
    /// The token to put in forms.
    pub token: String,
    fresh: bool,
}

impl Csrf {
    /// Sets the cookie on `response` when the token is new.
    pub fn attach(&self, req: &HttpRequest, response: &mut HttpResponseBuilder) {
        if self.fresh {
            response.cookie(cookie(CSRF_COOKIE, self.token.clone(), is_tls(req)));
        }
    }
}

fn current(req: &HttpRequest) -> Csrf {
    match req.cookie(CSRF_COOKIE) {
        Some(c) if c.value().len() >= 32 => Csrf {
            token: c.value().to_owned(),
            fresh: false,
        },
        _ => Csrf {
            token: base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(rand::random::<[u8; 32]>()),
            fresh: true,
        },
    }
}

impl FromRequest for Csrf {
    type Error = PageError;
    type Future = Ready<Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(current(req)))
    }
}

/// Refuses (403) a form whose `submitted` token is not the cookie's, or that a
/// page of another origin posted.
pub fn verify(req: &HttpRequest, submitted: &str) -> Result<(), PageError> {
    let refused = |why: &str| Err(PageError::forbidden(format!("form refused: {why}")));
    if let Some(origin) = req.headers().get(ORIGIN) {
        let info = req.connection_info();
        let own = format!("{}://{}", info.scheme(), info.host());
        if origin.as_bytes() != own.as_bytes() {
            return refused("it was sent from another site");
        }
    }
    let Some(cookie) = req.cookie(CSRF_COOKIE) else {
        return refused("the form's security cookie is missing; reload the page and send it again");
    };
    let matches: bool = cookie.value().as_bytes().ct_eq(submitted.as_bytes()).into();
    if submitted.is_empty() || !matches {
        return refused(
            "its security token is missing or stale; reload the page and send it again",
        );
    }
    Ok(())
}
