//! Signing in (a pasted JWT, or a one-time link from `verdict login-link`)
//! and out.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::csrf::{self, Csrf};
use super::links;
use super::page::{PageError, render, see_other};
use super::session::{self, admit, is_tls};
use crate::auth::JwtKeys;
use crate::state::AppState;

/// How long a session opened by a one-time link lasts.
const LINK_SESSION: Duration = Duration::from_secs(12 * 3600);

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    csrf: String,
    message: Option<String>,
}

/// Query of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    session: String,
}

/// `GET /ui/login`.
pub async fn form(
    req: HttpRequest,
    csrf: Csrf,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, PageError> {
    let message =
        (query.session == "expired").then(|| "Your session has expired; sign in again.".to_owned());
    let page = LoginPage {
        csrf: csrf.token.clone(),
        message,
    };
    render(&req, &csrf, StatusCode::OK, &page)
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

fn keys(req: &HttpRequest) -> Result<&Arc<JwtKeys>, PageError> {
    req.app_data::<Arc<JwtKeys>>()
        .ok_or_else(|| PageError::internal("JwtKeys missing from app data"))
}

/// `POST /ui/login`: any valid JWT of role analyst or higher opens a session
/// with that token's role and expiry.
pub async fn submit(
    req: HttpRequest,
    csrf: Csrf,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&req, &form.csrf)?;
    let token = form.token.trim();
    let claims = match admit(keys(&req)?, token) {
        Ok(claims) => claims,
        Err(PageError::SignIn { reason }) => {
            let page = LoginPage {
                csrf: csrf.token.clone(),
                message: Some(format!(
                    "That token was not accepted: {}.",
                    reason.unwrap_or_else(|| "it does not verify".into())
                )),
            };
            return render(&req, &csrf, StatusCode::UNAUTHORIZED, &page);
        }
        Err(other) => return Err(other),
    };
    Ok(see_other("/ui")
        .cookie(session::session_cookie(
            token.to_owned(),
            &claims,
            unix_now(),
            is_tls(&req),
        ))
        .finish())
}

#[derive(Template)]
#[template(path = "console/link.html")]
struct LinkPage {
    csrf: String,
    code: String,
    link: Option<links::LoginLink>,
}

/// `GET /ui/login/link/{code}`: asks to confirm (link previews and
/// prefetchers follow GETs; only the POST redeems the link).
pub async fn link(
    req: HttpRequest,
    csrf: Csrf,
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let code = code.into_inner();
    let lookup = code.clone();
    let link = state
        .db
        .run(move |conn| links::peek(conn, &lookup, Utc::now().naive_utc()))
        .await?;
    let status = if link.is_some() {
        StatusCode::OK
    } else {
        StatusCode::GONE
    };
    let page = LinkPage {
        csrf: csrf.token.clone(),
        code,
        link,
    };
    render(&req, &csrf, status, &page)
}

/// The confirmation form.
#[derive(Debug, Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /ui/login/link/{code}`: redeems the link once and opens a session
/// for its role and subject.
pub async fn redeem(
    req: HttpRequest,
    csrf: Csrf,
    state: web::Data<AppState>,
    code: web::Path<String>,
    form: web::Form<LinkForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&req, &form.csrf)?;
    let code = code.into_inner();
    let lookup = code.clone();
    let redeemed = state
        .db
        .run(move |conn| links::redeem(conn, &lookup, Utc::now().naive_utc()))
        .await?;
    let Some(link) = redeemed else {
        let page = LinkPage {
            csrf: csrf.token.clone(),
            code,
            link: None,
        };
        return render(&req, &csrf, StatusCode::GONE, &page);
    };
    let keys = keys(&req)?;
    let token = keys
        .mint(
            link.role,
            &link.subject,
            LINK_SESSION,
            Some(&link.environment),
        )
        .map_err(PageError::internal)?;
    let claims = admit(keys, &token)?;
    Ok(see_other("/ui")
        .cookie(session::session_cookie(
            token,
            &claims,
            unix_now(),
            is_tls(&req),
        ))
        .finish())
}

/// `POST /ui/logout`.
pub async fn logout(
    req: HttpRequest,
    form: web::Form<LinkForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&req, &form.csrf)?;
    Ok(see_other("/ui/login")
        .cookie(session::signed_out(is_tls(&req)))
        .finish())
}
