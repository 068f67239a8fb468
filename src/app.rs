//! The actix-web application: shared state, routes, middleware, extractor settings.

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, HttpRequest, web};
use utoipa::OpenApi as _;
use utoipa::openapi::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::auth::JwtKeys;
use crate::db::{Db, DbError};
use crate::events::IngestLimits;
use crate::experiments::GuardrailPolicy;
use crate::exposures::ExposureSink;
use crate::http::{ApiError, HttpMetrics, observe, path_error, query_error};
use crate::openapi::{ApiDoc, Document};
use crate::ruleset::{Snapshots, load_snapshot};
use crate::webhooks::WebhookSettings;

/// Everything a request handler may need; cheap to clone (one per worker).
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: Db,
    /// Token keys.
    pub keys: Arc<JwtKeys>,
    /// Request metrics registry.
    pub metrics: HttpMetrics,
    /// The finished OpenAPI document.
    pub document: Arc<Document>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Event ingestion limits.
    pub ingest: IngestLimits,
    /// Launch policy for experiments without a guardrail.
    pub guardrail_policy: GuardrailPolicy,
    /// The ruleset snapshot evaluations read.
    pub snapshots: Snapshots,
    /// Where evaluations queue experiment exposures.
    pub exposures: ExposureSink,
    /// Where notifications go; `None` when no webhook is configured.
    pub webhooks: Option<WebhookSettings>,
}

impl AppState {
    /// State over `db` with `keys`: loads the ruleset snapshot and starts the
    /// exposure writer on the current tokio runtime.
    pub fn new(db: Db, keys: JwtKeys, max_body_bytes: usize) -> Result<Self, DbError> {
        let snapshots = Snapshots::new();
        snapshots.install(load_snapshot(&mut *db.conn()?)?);
        let metrics = HttpMetrics::new();
        let exposures = ExposureSink::spawn(db.clone(), metrics.registry());
        Ok(Self {
            db,
            keys: Arc::new(keys),
            metrics,
            document: Arc::new(Document::new(&openapi_document())),
            max_body_bytes,
            ingest: IngestLimits::default(),
            guardrail_policy: GuardrailPolicy::default(),
            snapshots,
            exposures,
            webhooks: None,
        })
    }

    /// Reloads the ruleset snapshot after a configuration change made here, so
    /// this replica serves it at once (others pick it up by polling).
    pub async fn refresh_snapshot(&self) {
        if let Err(e) = self.snapshots.reload(&self.db).await {
            tracing::warn!(error = %e, "cannot reload configuration after a change");
        }
    }
}

/// The OpenAPI document generated from the registered handlers.
pub fn openapi_document() -> OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::api::configure)
        .split_for_parts();
    crate::openapi::finish(&mut api);
    api
}

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
    app.app_data(web::PayloadConfig::new(state.max_body_bytes))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(state.keys.clone())
        .app_data(web::Data::new(state.metrics.clone()))
        .app_data(web::Data::from(state.document.clone()))
        .app_data(web::Data::new(state))
        .service(SwaggerUi::new("/docs/{_:.*}").config(Config::from("/openapi.json")))
        .service(web::redirect("/docs", "/docs/"))
        .default_service(web::to(not_found))
        .wrap(from_fn(observe))
}

async fn not_found(req: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.path()
    )))
}
