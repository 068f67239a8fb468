//! `verdict seed --demo`: four running experiments with flags, guardrails,
//! exposures and events; idempotent.

mod common;

use actix_web::http::StatusCode;
use actix_web::test;
use common::{Backend, TestApp, send};
use diesel::prelude::*;
use serde_json::Value;
use verdict::auth::Role;
use verdict::db::{DbConnection, schema};
use verdict::metrics_catalog as catalog;
use verdict::seed::{seed_demo, simulate_users};
use verdict_testkit::backend_tests;
use verdict_testkit::reference::{arm_data, unit_values};

async fn demo_runs_four_experiments_end_to_end(backend: Backend) {
    let ctx = TestApp::new(backend);
    {
        let mut conn = ctx.pool().conn().expect("conn");
        let conn: &mut DbConnection = &mut conn;
        let report = seed_demo(conn, chrono::Utc::now().naive_utc()).expect("seed");
        assert_eq!(
            (
                report.flags_created,
                report.experiments_created,
                report.experiments_launched
            ),
            (4, 4, 4)
        );
        assert!(report.metrics_created >= 8);
        let sim = simulate_users(conn, 400, 7, chrono::Utc::now().naive_utc()).expect("simulate");
        assert_eq!(sim.users, 400);
        assert!(sim.exposures > 1200, "{sim:?}");
        assert!(sim.events > 1000, "{sim:?}");

        let again = seed_demo(conn, chrono::Utc::now().naive_utc()).expect("seed again");
        assert_eq!(again, verdict::seed::SeedReport::default(), "idempotent");
        let repeat =
            simulate_users(conn, 400, 7, chrono::Utc::now().naive_utc()).expect("simulate again");
        assert_eq!(repeat.exposures, 0, "exposures are first-exposure only");

        let per_experiment: Vec<(String, i64)> = schema::exposures::table
            .group_by(schema::exposures::experiment_key)
            .select((schema::exposures::experiment_key, diesel::dsl::count_star()))
            .order(schema::exposures::experiment_key)
            .load(conn)
            .expect("exposures");
        let keys: Vec<&str> = per_experiment.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "cta_copy",
                "digest_layout",
                "import_hint",
                "vip_paywall_copy"
            ]
        );

        // Results code path: per-unit values and per-arm statistics.
        let ctr = catalog::get(conn, "alert_ctr").expect("metric");
        let values = unit_values(
            conn,
            "cta_copy",
            1,
            &ctr,
            chrono::Utc::now().naive_utc(),
            Some(7),
        );
        assert_eq!(values.len(), 400, "every exposed unit has a value");
        let arms = arm_data(&values, &["control".into(), "urgency".into()]);
        assert!(
            arms.iter()
                .all(|a| a.n > 100.0 && a.denominator_sum.unwrap_or(0.0) > 0.0)
        );
    }
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let (status, running) = send(
        &app,
        ctx.request(
            "GET",
            "/api/v1/experiments?status=running",
            Role::Analyst,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(running.as_array().map(Vec::len), Some(4));
    assert!(
        running
            .as_array()
            .expect("list")
            .iter()
            .all(|e| !e["guardrails"].as_array().expect("guardrails").is_empty())
    );
    let (_, coverage) = send(
        &app,
        ctx.request(
            "GET",
            "/api/v1/reports/guardrail-coverage",
            Role::Analyst,
            Value::Null,
        ),
    )
    .await;
    assert_eq!(coverage["share"], 1.0);
}

backend_tests!(demo_runs_four_experiments_end_to_end);
