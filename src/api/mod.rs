//! HTTP routes. Each handler declares its minimum role in its signature
//! (`Authorized<Pm>` etc.) and in its OpenAPI `security` scope.

mod audit;
mod data_sources;
mod decisions;
mod definition_routes;
mod error_mapping;
mod evaluate;
mod evaluate_body;
mod events;
mod experiments;
mod exposures;
mod flags;
mod layers;
mod meta;
mod metrics;
mod ofrep;
mod ops;
mod reports;
mod results;
mod segments;
mod session;
mod stats;
mod stored;
mod webhooks;

use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every documented route.
pub fn configure(cfg: &mut ServiceConfig) {
    // The runtime routes apps call on every screen come first: actix tries
    // routes in registration order, and every parameterised route tried before
    // a match costs a regex run.
    cfg.service(evaluate::evaluate_all)
        .service(evaluate::evaluate_one)
        .service(evaluate::sdk_config)
        .service(exposures::record_exposures)
        .service(ofrep::ofrep_evaluate_flags)
        .service(ofrep::ofrep_evaluate_flag)
        .service(events::ingest)
        .service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(ops::openapi_json)
        .service(session::whoami)
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
        .service(experiments::start_phase)
        .service(results::experiment_results)
        .service(flags::create_flag)
        .service(flags::list_flags)
        .service(flags::get_flag)
        .service(flags::replace_flag)
        .service(flags::patch_flag_environment)
        .service(flags::delete_flag)
        .service(segments::create_segment)
        .service(segments::list_segments)
        .service(segments::get_segment)
        .service(segments::replace_segment)
        .service(segments::delete_segment)
        .service(layers::create_layer)
        .service(layers::list_layers)
        .service(layers::get_layer)
        .service(layers::replace_layer)
        .service(layers::delete_layer)
        .service(data_sources::list_data_sources)
        .service(data_sources::create_data_source)
        .service(data_sources::get_data_source)
        .service(data_sources::replace_data_source)
        .service(data_sources::delete_data_source)
        .service(data_sources::test_data_source)
        .service(audit::list_audit)
        .service(stats::analyze)
        .service(stats::power)
        .service(webhooks::list_webhook_deliveries)
        .service(decisions::record_decision)
        .service(decisions::list_decisions)
        .service(decisions::get_decision)
        .service(reports::decision_sla)
        .service(reports::experimentation);
}
