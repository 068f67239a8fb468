//! The actix-web application: routes, middleware, extractor settings over the
//! shared [`AppState`].

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::http::cors::{CorsOrigins, cors};
use crate::http::{ApiError, Routes, observe, path_error, query_error};
use crate::state::AppState;

/// Builds the application over `state`.
pub fn build(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, _) = App::new()
        .into_utoipa_app()
        .configure(crate::api::configure)
        .split_for_parts();
    app.app_data(web::PayloadConfig::new(state.settings.max_body_bytes))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(state.keys.clone())
        .app_data(state.settings.mini_apps.clone())
        .app_data(web::Data::new(state.metrics.clone()))
        .app_data(web::Data::new(CorsOrigins(
            state.settings.cors_origins.clone(),
        )))
        .app_data(web::Data::new(state))
        .service(crate::console::scope())
        .service(SwaggerUi::new("/docs/{_:.*}").config(Config::from("/openapi.json")))
        .service(web::redirect("/docs", "/docs/"))
        .default_service(web::to(not_found))
        .wrap(from_fn(cors))
        .wrap(from_fn(observe))
}

/// No route matched: 405 with `Allow` when the path is documented with other
/// methods, else 404.
async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    match Routes::documented().allowed(req.path()) {
        Some(allowed) => Err(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allowed,
        }),
        None => Err(ApiError::NotFound(format!(
            "no route for {} {}",
            req.method(),
            req.path()
        ))),
    }
}
