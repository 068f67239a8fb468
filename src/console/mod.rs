//! The console: server-rendered pages for PMs and analysts at `/ui`, over the
//! same stores and results as the API (askama templates in `templates/console`,
//! plotters SVG charts, no script and nothing from a CDN). Nothing here is on
//! the evaluation path.

mod charts;
mod csrf;
mod decisions;
mod experiments;
mod flags;
mod format;
mod history;
pub mod links;
mod login;
mod page;
mod reports;
mod results_view;
mod session;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use crate::http::ApiError;
use page::PageError;

/// The stylesheet, compiled in so the binary serves the console alone.
const STYLESHEET: &str = include_str!("console.css");

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLESHEET)
}

fn bad_input(message: String) -> actix_web::Error {
    PageError::Api(ApiError::BadRequest {
        field: None,
        message,
    })
    .into()
}

/// The `/ui` scope.
pub fn scope() -> actix_web::Scope {
    web::scope("/ui")
        .app_data(web::FormConfig::default().error_handler(|e, _| bad_input(e.to_string())))
        .app_data(web::QueryConfig::default().error_handler(|e, _| bad_input(e.to_string())))
        .app_data(web::PathConfig::default().error_handler(|e, _| bad_input(e.to_string())))
        .route("", web::get().to(experiments::list))
        .route("/", web::get().to(experiments::list))
        .route("/console.css", web::get().to(stylesheet))
        .route("/login", web::get().to(login::form))
        .route("/login", web::post().to(login::submit))
        .route("/login/link/{code}", web::get().to(login::link))
        .route("/login/link/{code}", web::post().to(login::redeem))
        .route("/logout", web::post().to(login::logout))
        .route("/experiments/{key}", web::get().to(experiments::show))
        .route(
            "/experiments/{key}/decisions",
            web::post().to(experiments::record),
        )
        .route("/decisions", web::get().to(decisions::log))
        .route("/decisions.csv", web::get().to(decisions::csv))
        .route("/decisions/{id}", web::get().to(decisions::show))
        .route("/reports/okr", web::get().to(reports::okr))
        .route("/flags", web::get().to(flags::list))
}
