//! Rendering console pages and their errors as HTML.

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use super::csrf::Csrf;
use super::session::Viewer;
use crate::auth::Role;
use crate::http::ApiError;

/// Pages never leave the console's own origin: no framing, scripts only from
/// the service (there are none yet), forms only to the service.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the header of every signed-in page shows.
#[derive(Debug, Clone)]
pub struct Nav {
    /// The signed-in subject.
    pub subject: String,
    /// Their role.
    pub role: Role,
    /// The CSRF token for the page's forms (sign-out included).
    pub csrf: String,
    /// Which section is open (`experiments`, `decisions`, `okr`, `flags`).
    pub section: &'static str,
}

impl Nav {
    /// The header for `viewer` in `section`.
    pub fn new(viewer: &Viewer, csrf: &Csrf, section: &'static str) -> Self {
        Self {
            subject: viewer.subject.clone(),
            role: viewer.role,
            csrf: csrf.token.clone(),
            section,
        }
    }
}

/// An HTML response with `status` for `page`, setting the CSRF cookie if new.
pub fn render(
    req: &HttpRequest,
    csrf: &Csrf,
    status: StatusCode,
    page: &impl Template,
) -> Result<HttpResponse, PageError> {
    let body = page.render().map_err(PageError::internal)?;
    let mut response = HttpResponse::build(status);
    secure_headers(&mut response);
    csrf.attach(req, &mut response);
    Ok(response.body(body))
}

fn secure_headers(response: &mut actix_web::HttpResponseBuilder) {
    response
        .insert_header((CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header(("Content-Security-Policy", CSP))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"));
}

/// A 303 to `location` (after a form post, or to sign in).
pub fn see_other(location: &str) -> actix_web::HttpResponseBuilder {
    let mut response = HttpResponse::SeeOther();
    response.insert_header((LOCATION, location.to_owned()));
    response
}

/// Why a page could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No valid session: go to the sign-in page.
    #[error("sign in first")]
    SignIn {
        /// Shown on the sign-in page (e.g. an expired session).
        reason: Option<String>,
    },
    /// Anything the API would answer with a problem, shown as a page.
    #[error(transparent)]
    Api(ApiError),
}

impl<E: Into<ApiError>> From<E> for PageError {
    fn from(e: E) -> Self {
        Self::Api(e.into())
    }
}

impl PageError {
    /// A 403 page.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Api(ApiError::Forbidden(message.into()))
    }

    /// A 500 page (the message is logged, never shown).
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Api(ApiError::internal(error))
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    status: u16,
    title: String,
    detail: String,
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn { .. } => StatusCode::SEE_OTHER,
            Self::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignIn { reason: None } => see_other("/ui/login").finish(),
            Self::SignIn { reason: Some(_) } => see_other("/ui/login?session=expired").finish(),
            Self::Api(e) => {
                let problem = e.to_problem();
                let page = ErrorPage {
                    status: problem.status,
                    title: problem.title,
                    detail: problem.detail,
                };
                let mut response = HttpResponse::build(e.status_code());
                secure_headers(&mut response);
                match page.render() {
                    Ok(body) => response.body(body),
                    Err(_) => response.body(format!("{}: {}", page.title, page.detail)),
                }
            }
        }
    }
}
