//! Results by dimension on the demo: the slices partition the experiment's
//! units, and each slice's numbers are the analysis of that slice's units
//! alone (the in-memory reference and the statistics engine, run here).

mod common;

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::test;
use chrono::{DateTime, Utc};
use common::{Backend, TestApp};
use diesel::prelude::*;
use serde_json::Value;
use verdict::auth::Role;
use verdict::db::{DbConnection, schema};
use verdict::metrics_catalog::semantics::{metric_spec, supports_cuped};
use verdict::metrics_catalog::{self as catalog, MetricDefinition};
use verdict_stats::{AnalysisRequest, DifferenceType, Engine};
use verdict_testkit::reference::{arm_data, funnel_units, unit_values_of};
use verdict_testkit::{backend_tests, call};

fn close(ctx: &str, got: &Value, want: Option<f64>) {
    match (got.as_f64(), want) {
        (Some(g), Some(w)) => assert!(
            (g - w).abs() <= 1e-9 * w.abs().max(1e-6),
            "{ctx}: {g} vs {w}"
        ),
        (None, None) => {}
        (g, w) => panic!("{ctx}: {g:?} vs {w:?}"),
    }
}

async fn slices_are_the_experiment_on_their_units(backend: Backend) {
    let ctx = TestApp::new(backend);
    {
        let now = Utc::now().naive_utc();
        let mut conn = ctx.pool().conn().expect("conn");
        verdict::seed::seed_demo(&mut conn, now).expect("seed");
        verdict::seed::simulate_users(&mut conn, 3000, 11, now).expect("simulate");
    }
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let key = "vip_paywall_copy";
    let uri = format!("/api/v1/experiments/{key}/results?dimension=icp_segment");
    let (status, results) = call!(app, ctx, Role::Analyst, get, uri);
    assert_eq!(status, StatusCode::OK, "{results}");
    let breakdowns = results["breakdowns"].as_array().expect("breakdowns");
    assert_eq!(breakdowns.len(), 1, "only the asked dimension");
    let breakdown = &breakdowns[0];
    assert_eq!(breakdown["dimension"], "icp_segment");
    assert_eq!(breakdown["exploratory"], true);
    let slices = breakdown["slices"].as_array().expect("slices");
    let mut values: Vec<&str> = slices.iter().filter_map(|s| s["value"].as_str()).collect();
    values.sort_unstable();
    assert_eq!(values, ["high", "low", "medium"], "{breakdown}");
    for (i, arm) in results["arms"].as_array().expect("arms").iter().enumerate() {
        let in_slices: u64 = slices
            .iter()
            .map(|s| s["arms"][i]["units"].as_u64().expect("units"))
            .sum();
        assert_eq!(
            Some(in_slices),
            arm["units"].as_u64(),
            "slices partition the arm"
        );
    }

    let as_of: DateTime<Utc> = results["as_of"]
        .as_str()
        .expect("as_of")
        .parse()
        .expect("time");
    let mut conn = ctx.pool().conn().expect("conn");
    let conn: &mut DbConnection = &mut conn;
    let recorded: Vec<(String, Option<String>)> = schema::exposures::table
        .filter(schema::exposures::experiment_key.eq(key))
        .select((schema::exposures::unit_id, schema::exposures::dimensions))
        .load(conn)
        .expect("exposures");
    let segment: HashMap<String, String> = recorded
        .into_iter()
        .filter_map(|(unit, dims)| {
            let dims: Value = serde_json::from_str(&dims?).ok()?;
            Some((unit, dims["icp_segment"].as_str()?.to_owned()))
        })
        .collect();
    let arms = ["control".to_owned(), "bold".to_owned()];
    let mut checked = 0;
    for slice in slices {
        let value = slice["value"].as_str().expect("value");
        let keep = |unit: &str| segment.get(unit).map(String::as_str) == Some(value);
        for m in slice["metrics"].as_array().expect("metrics") {
            let metric = catalog::get(conn, m["metric"].as_str().expect("key")).expect("metric");
            let label = format!("{value} / {}", metric.key);
            if let MetricDefinition::Funnel { steps, .. } = &metric.definition {
                let units = funnel_units(conn, key, 1, &metric, as_of.naive_utc());
                for (a, variant) in arms.iter().enumerate() {
                    for (j, step) in m["steps"].as_array().expect("steps").iter().enumerate() {
                        let want = units
                            .iter()
                            .filter(|(u, v, s)| v == variant && keep(u) && *s > j)
                            .count() as u64;
                        assert_eq!(step["arms"][a]["units"].as_u64(), Some(want), "{label}");
                    }
                }
                assert_eq!(m["steps"].as_array().map(Vec::len), Some(steps.len()));
                continue;
            }
            let pre = supports_cuped(&metric.definition).then_some(7);
            let values = unit_values_of(conn, key, 1, &metric, as_of.naive_utc(), pre, keep);
            let data = arm_data(&values, &arms);
            for (a, d) in data.iter().enumerate() {
                assert_eq!(m["arms"][a]["units"].as_f64(), Some(d.n), "{label}");
            }
            let want = verdict_stats::analyze(&AnalysisRequest {
                metric: metric_spec(&metric, pre.is_some()),
                engine: Engine::Sequential,
                difference: DifferenceType::Relative,
                alpha: 0.05,
                sequential_tuning: verdict_stats::DEFAULT_TUNING,
                prior: verdict_stats::Prior::default(),
                weights: None,
                arms: data,
            });
            let (got, want) = (&m["comparisons"][0], &want.comparisons[0]);
            close(
                &format!("{label} estimate"),
                &got["estimate"],
                want.estimate,
            );
            close(
                &format!("{label} ci_lower"),
                &got["ci_lower"],
                want.ci_lower,
            );
            close(
                &format!("{label} ci_upper"),
                &got["ci_upper"],
                want.ci_upper,
            );
            close(&format!("{label} p_value"), &got["p_value"], want.p_value);
            if let (Some(holm), Some(adjusted)) = (
                got["p_value_holm"].as_f64(),
                got["p_value_adjusted"].as_f64(),
            ) {
                assert!(adjusted >= holm - 1e-12, "{label}: BH only raises p-values");
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 15,
        "{checked} slice × metric comparisons checked"
    );

    let (status, problem) = call!(
        app,
        ctx,
        Role::Analyst,
        get,
        format!("/api/v1/experiments/{key}/results?dimension=favourite_colour")
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "dimension");
}

backend_tests!(slices_are_the_experiment_on_their_units);
