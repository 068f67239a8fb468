//! HTTP routes. Each handler declares its minimum role in its signature
//! (`Authorized<Pm>` etc.) and in its OpenAPI `security` scope.

mod events;
mod experiments;
mod metrics;
mod ops;
mod session;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every documented route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(ops::openapi_json)
        .service(session::whoami)
        .service(events::ingest)
        .service(metrics::list_metrics)
        .service(metrics::create_metric)
        .service(metrics::get_metric)
        .service(metrics::update_metric)
        .service(metrics::delete_metric)
        .service(experiments::list_experiments)
        .service(experiments::create_experiment)
        .service(experiments::guardrail_coverage)
        .service(experiments::get_experiment)
        .service(experiments::update_experiment)
        .service(experiments::experiment_checklist)
        .service(experiments::launch_experiment)
        .service(experiments::stop_experiment)
        .service(experiments::decide_experiment)
        .service(experiments::archive_experiment)
        .service(experiments::start_phase);
}
