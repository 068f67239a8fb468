//! Experiment results benchmark against PostgreSQL.
//!
//! Creates (or, with `--reuse`, keeps) the throwaway database `verdict_results_bench`
//! on the server at `--admin-url` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), fills it with `--units`
//! exposed units and `--events` events via `generate_series`, then times the
//! results of the experiment (every metric: a conversion with a property
//! filter, a winsorized sum, a ratio and NPS as guardrail, with CUPED):
//! the first incremental computation, which builds the stored per-unit values;
//! the direct computation from raw events at the same cut-off (checked equal);
//! then `--runs` times: ingest `--delta-events` new events and `--delta-units`
//! new exposures through the service's ingestion functions, and time the
//! incremental computation, once after that traffic and once with nothing new.
//!
//! ```sh
//! cargo run --release --example results_bench -- --units 1000000 --events 10000000
//! ```

use std::time::Instant;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::json;
use verdict::db::{DbConnection, DbTarget};
use verdict::metrics_catalog::Metric;
use verdict::results::{Breakdowns, SnapshotSource};

const DB_NAME: &str = "verdict_results_bench";

struct Options {
    admin_url: String,
    units: u64,
    events: u64,
    runs: usize,
    delta_events: u64,
    delta_units: u64,
    reuse: bool,
    explain: bool,
}

fn options() -> Options {
    let mut o = Options {
        admin_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        units: 1_000_000,
        events: 10_000_000,
        runs: 3,
        delta_events: 10_000,
        delta_units: 1_000,
        reuse: false,
        explain: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        let number = || value.parse::<u64>().expect("a number");
        match args[i].as_str() {
            "--admin-url" => o.admin_url = value.clone(),
            "--units" => o.units = number().max(2),
            "--events" => o.events = number(),
            "--runs" => o.runs = usize::try_from(number()).unwrap_or(1).max(1),
            "--delta-events" => o.delta_events = number(),
            "--delta-units" => o.delta_units = number(),
            "--reuse" => {
                o.reuse = true;
                i += 1;
                continue;
            }
            "--explain" => {
                o.explain = true;
                i += 1;
                continue;
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    o
}

fn seed(conn: &mut DbConnection, o: &Options) {
    let metric = |key: &str, direction: &str, definition: serde_json::Value| Metric {
        key: key.into(),
        name: key.into(),
        description: String::new(),
        direction: serde_json::from_value(json!(direction)).expect("direction"),
        definition: serde_json::from_value(definition).expect("metric definition"),
        data_source: None,
        created_at: Utc::now().naive_utc(),
        updated_at: Utc::now().naive_utc(),
    };
    for m in [
        metric(
            "topup",
            "higher_is_better",
            json!({"type": "conversion", "event": "purchase", "window_hours": 168,
                "filters": [{"property": "auto_topup", "op": "eq", "value": true}]}),
        ),
        metric(
            "stars",
            "higher_is_better",
            json!({"type": "sum", "event": "purchase", "winsorize_percentile": 99}),
        ),
        metric(
            "stars_per_session",
            "higher_is_better",
            json!({"type": "ratio", "numerator": {"event": "purchase"},
                "denominator": {"event": "session"}}),
        ),
        metric(
            "nps",
            "higher_is_better",
            json!({"type": "nps", "event": "nps_survey"}),
        ),
    ] {
        verdict::metrics_catalog::create(conn, "bench", m).expect("create metric");
    }
    let definition = serde_json::from_value(json!({
        "name": "bench", "owner": "bench", "hypothesis": "auto top-up", "environment": "production",
        "flag": "bench", "arms": [{"variant": "control", "weight": 50.0}, {"variant": "treatment", "weight": 50.0}],
        "audience": {"conditions": [], "segments": []}, "allocation": 100.0, "layer": null,
        "primary_metric": "topup", "secondary_metrics": ["stars", "stars_per_session"],
        "guardrails": [{"metric": "nps", "max_degradation": 2.0, "margin_type": "absolute"}],
        "analysis": {"engine": "sequential", "alpha": 0.05, "cuped": true, "cuped_pre_period_days": 14},
        "minimum_detectable_effect": 0.05, "target_decision_at": null
    }))
    .expect("definition");
    verdict::experiments::create(conn, "bench", "bench", definition).expect("experiment");
    let started = Instant::now();
    conn.batch_execute(&format!(
        "UPDATE experiments SET status = 'running', current_phase = 1, \
           started_at = TIMESTAMP '2026-11-01' WHERE key = 'bench';
         INSERT INTO experiment_phases VALUES ('bench', 1, 'bench:1', 100,
           '[{{\"variant\":\"control\",\"weight\":50.0}},{{\"variant\":\"treatment\",\"weight\":50.0}}]',
           '{{\"conditions\":[],\"segments\":[]}}', 'launch', 'bench', TIMESTAMP '2026-11-01', NULL);
         INSERT INTO exposures (experiment_key, phase, unit_id, variant, first_seen)
           SELECT 'bench', 1, 'u' || g, CASE WHEN g % 2 = 0 THEN 'control' ELSE 'treatment' END,
             TIMESTAMP '2026-11-01' + (g % 1209600) * INTERVAL '1 second'
           FROM generate_series(1, {units}) g;
         INSERT INTO events (event_id, unit_id, name, ts, value, properties, received_at)
           SELECT 'e' || g, 'u' || (1 + (g * 7919) % {units}),
             CASE g % 10 WHEN 0 THEN 'purchase' WHEN 1 THEN 'nps_survey' ELSE 'session' END,
             TIMESTAMP '2026-10-16' + (g % 3024000) * INTERVAL '1 second',
             CASE g % 10 WHEN 0 THEN CAST(g % 97 AS DOUBLE PRECISION)
               WHEN 1 THEN CAST(g % 11 AS DOUBLE PRECISION) END,
             CASE WHEN g % 10 = 0 THEN '{{\"auto_topup\": ' || CAST(g % 3 = 0 AS TEXT) || '}}' END,
             TIMESTAMP '2026-11-01'
           FROM generate_series(CAST(1 AS BIGINT), {events}) g;",
        units = o.units,
        events = o.events,
    ))
    .expect("generate data");
    // What autovacuum does to a table that has been filling for a while:
    // statistics, and BRIN ranges summarized.
    conn.batch_execute("VACUUM ANALYZE").expect("vacuum");
    println!(
        "generated {} units and {} events in {:.1} s",
        o.units,
        o.events,
        started.elapsed().as_secs_f64()
    );
}

fn main() {
    let o = options();
    let mut admin = PgConnection::establish(&o.admin_url).expect("admin connection");
    let base = o.admin_url.rsplit_once('/').map(|(b, _)| b).expect("URL");
    let url = format!("{base}/{DB_NAME}");
    if !o.reuse {
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
            .expect("drop database");
        admin
            .batch_execute(&format!("CREATE DATABASE {DB_NAME}"))
            .expect("create database");
    }
    let target: DbTarget = url.parse().expect("URL");
    let db = verdict::startup::open_database(&target, 2).expect("open and migrate");
    let mut conn = db.conn().expect("connection");
    let conn: &mut DbConnection = &mut conn;
    if !o.reuse {
        seed(conn, &o);
    }
    if o.explain {
        explain(conn, &o);
        return;
    }

    // Stored per-unit values: the first computation builds them from scratch.
    let started = Instant::now();
    let stored =
        verdict::results::compute_current(conn, "bench", Breakdowns::Skip).expect("results");
    println!(
        "first incremental computation (builds the stored values): {:.3} s",
        started.elapsed().as_secs_f64()
    );
    let started = Instant::now();
    let direct = verdict::results::compute(
        conn,
        "bench",
        stored.as_of.naive_utc(),
        SnapshotSource::Manual,
        Breakdowns::Skip,
    )
    .expect("results");
    println!(
        "direct computation from raw events at the same cut-off: {:.3} s",
        started.elapsed().as_secs_f64()
    );
    assert_same(&direct, &stored);

    let mut warm = Vec::new();
    let mut idle = Vec::new();
    for run in 0..o.runs {
        let (events, units) = add_traffic(conn, &o, run);
        let started = Instant::now();
        let results =
            verdict::results::compute_current(conn, "bench", Breakdowns::Skip).expect("results");
        let secs = started.elapsed().as_secs_f64();
        warm.push(secs);
        let started = Instant::now();
        verdict::results::compute_current(conn, "bench", Breakdowns::Skip).expect("results");
        idle.push(started.elapsed().as_secs_f64());
        println!(
            "run {}: +{events} events, +{units} units: {secs:.3} s; again with nothing new: {:.3} s \
             (units {:?}, recommendation {:?}, {})",
            run + 1,
            idle[idle.len() - 1],
            results.arms.iter().map(|a| a.units).collect::<Vec<_>>(),
            results.recommendation.action,
            Utc::now().format("%H:%M:%S"),
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "results for {} units / {} events after new traffic: median {:.3} s (best {:.3} s); \
         with nothing new: median {:.3} s",
        o.units,
        o.events,
        median(&mut warm),
        warm[0],
        median(&mut idle),
    );
    let started = Instant::now();
    let results =
        verdict::results::compute_current(conn, "bench", Breakdowns::Skip).expect("results");
    let incremental = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let direct = verdict::results::compute(
        conn,
        "bench",
        results.as_of.naive_utc(),
        SnapshotSource::Manual,
        Breakdowns::Skip,
    )
    .expect("results");
    println!(
        "final check against the direct computation ({:.3} s incremental, {:.3} s direct): same results",
        incremental,
        started.elapsed().as_secs_f64()
    );
    assert_same(&direct, &results);
}

/// Ingests `--delta-events` events (a tenth of them for new units) dated in
/// the last hour and `--delta-units` new exposures, through the service's
/// ingestion functions.
fn add_traffic(conn: &mut DbConnection, o: &Options, run: usize) -> (usize, usize) {
    use verdict::events::NewEvent;
    use verdict::exposures::ExposureRecord;
    let now = Utc::now().naive_utc();
    let tag = format!("{run}-{}", now.and_utc().timestamp_micros());
    let new_unit = |i: u64| format!("n{tag}-{}", i % o.delta_units.max(1));
    let exposures: Vec<ExposureRecord> = (0..o.delta_units)
        .map(|i| ExposureRecord {
            experiment_key: "bench".into(),
            phase: 1,
            unit_id: new_unit(i),
            variant: if i % 2 == 0 { "control" } else { "treatment" }.into(),
            first_seen: now - chrono::TimeDelta::seconds(3_600),
            dimensions: None,
        })
        .collect();
    verdict::exposures::insert_batch(conn, &exposures).expect("exposures");
    let events: Vec<NewEvent> = (0..o.delta_events)
        .map(|g| {
            let unit = if g % 10 == 0 {
                new_unit(g / 10)
            } else {
                format!("u{}", 1 + (g * 7919 + run as u64 * 104_729) % o.units)
            };
            let (name, value, properties) = match g % 10 {
                0 | 3 => (
                    "purchase",
                    Some((g % 97) as f64),
                    Some(format!("{{\"auto_topup\": {}}}", g % 3 == 0)),
                ),
                1 => ("nps_survey", Some((g % 11) as f64), None),
                _ => ("session", None, None),
            };
            NewEvent {
                event_id: format!("d{tag}-{g}"),
                unit_id: unit,
                name: name.into(),
                timestamp: now - chrono::TimeDelta::seconds((g % 3_600) as i64),
                value,
                properties,
            }
        })
        .collect();
    for batch in events.chunks(10_000) {
        verdict::events::insert_batch(conn, batch).expect("events");
    }
    (events.len(), exposures.len())
}

/// Both computations report the same exposures and per-metric estimates.
fn assert_same(a: &verdict::results::ExperimentResults, b: &verdict::results::ExperimentResults) {
    assert_eq!(a.arms, b.arms, "exposures per arm");
    for (x, y) in a.metrics.iter().zip(&b.metrics) {
        for (cx, cy) in x.comparisons.iter().zip(&y.comparisons) {
            let close = |p: Option<f64>, q: Option<f64>| match (p, q) {
                (Some(p), Some(q)) => (p - q).abs() <= 1e-9 * p.abs().max(1.0),
                (p, q) => p == q,
            };
            assert!(
                close(cx.estimate, cy.estimate)
                    && close(cx.ci_lower, cy.ci_lower)
                    && close(cx.p_value, cy.p_value),
                "{}: {cx:?} vs {cy:?}",
                x.metric
            );
        }
    }
}

#[derive(diesel::QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// Brings the stored values up to date, adds one round of traffic, then
/// prints the PostgreSQL plan, with timings, of each metric's direct query and
/// of the incremental statements for that traffic (rolled back).
fn explain(conn: &mut DbConnection, o: &Options) {
    use verdict::results::sql::{
        Dialect, MetricQuery, Query, StateRows, delete_state_rows, insert_state_rows, metric_query,
        state_sums_query,
    };
    let since = verdict::results::compute_current(conn, "bench", Breakdowns::Skip)
        .expect("results")
        .as_of
        .naive_utc();
    add_traffic(conn, o, 99);
    let as_of = Utc::now().naive_utc();
    let metrics: Vec<_> = ["topup", "stars", "stars_per_session", "nps"]
        .into_iter()
        .map(|key| {
            (
                key,
                verdict::metrics_catalog::get(conn, key).expect("metric"),
            )
        })
        .collect();
    if !matches!(conn, DbConnection::Postgresql(_)) {
        return;
    }
    // Explains `statements` in order in one transaction, then rolls it back.
    let mut show = |label: &str, statements: Vec<Query>| {
        let explained = conn.transaction(|conn| {
            conn.batch_execute("SET LOCAL work_mem = '256MB'")?;
            for query in statements {
                let explain = Query {
                    sql: format!("EXPLAIN (ANALYZE, BUFFERS) {}", query.sql),
                    params: query.params,
                };
                let lines: Vec<PlanLine> = verdict::results::load(conn, &explain)?;
                println!("== {label}");
                for l in lines {
                    println!("{}", l.line);
                }
            }
            Err::<(), _>(diesel::result::Error::RollbackTransaction)
        });
        assert!(
            matches!(explained, Err(diesel::result::Error::RollbackTransaction)),
            "{explained:?}"
        );
    };
    for (key, metric) in &metrics {
        let q = MetricQuery {
            experiment: "bench",
            phase: 1,
            metric: &metric.definition,
            as_of,
            pre_period_secs: (*key != "nps").then_some(14.0 * 86_400.0),
            slice: None,
            ingested_by_as_of: false,
        };
        let rows = StateRows {
            metric_key: key,
            since: Some(since),
        };
        show(
            &format!("{key}: direct"),
            vec![metric_query(Dialect::Postgres, &q)],
        );
        show(
            &format!("{key}: delete, then insert the changed units"),
            vec![
                delete_state_rows(Dialect::Postgres, &q, rows),
                insert_state_rows(Dialect::Postgres, &q, rows),
            ],
        );
        show(
            &format!("{key}: sums of stored values"),
            vec![state_sums_query(Dialect::Postgres, &q, key)],
        );
    }
}
