//! HTTP routes. Each handler declares its minimum role in its signature
//! (`Authorized<Pm>` etc.) and in its OpenAPI `security` scope.

mod ops;
mod session;
mod stats;
mod stats_dto;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every documented route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(ops::openapi_json)
        .service(session::whoami);
    cfg.service(stats::analyze).service(stats::power);
}
