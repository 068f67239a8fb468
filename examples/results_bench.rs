//! Experiment results benchmark against PostgreSQL.
//!
//! Creates (or, with `--reuse`, keeps) the throwaway database `verdict_results_bench`
//! on the server at `--admin-url` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), fills it with `--units`
//! exposed units and `--events` events via `generate_series`, then times
//! `verdict::results::compute` (every metric of the experiment: a conversion
//! with a property filter, a winsorized sum, a ratio and NPS as guardrail, with
//! CUPED) `--runs` times.
//!
//! ```sh
//! cargo run --release --example results_bench -- --units 1000000 --events 10000000
//! ```

use std::time::Instant;

use chrono::{NaiveDate, Utc};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::json;
use verdict::db::{DbConnection, DbTarget};
use verdict::metrics_catalog::Metric;

const DB_NAME: &str = "verdict_results_bench";

struct Options {
    admin_url: String,
    units: u64,
    events: u64,
    runs: usize,
    reuse: bool,
    explain: bool,
}

fn options() -> Options {
    let mut o = Options {
        admin_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        units: 1_000_000,
        events: 10_000_000,
        runs: 3,
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
             TIMESTAMP '2026-10-20' + (g % 3024000) * INTERVAL '1 second',
             CASE g % 10 WHEN 0 THEN CAST(g % 97 AS DOUBLE PRECISION)
               WHEN 1 THEN CAST(g % 11 AS DOUBLE PRECISION) END,
             CASE WHEN g % 10 = 0 THEN '{{\"auto_topup\": ' || CAST(g % 3 = 0 AS TEXT) || '}}' END,
             TIMESTAMP '2026-11-01'
           FROM generate_series(CAST(1 AS BIGINT), {events}) g;
         ANALYZE;",
        units = o.units,
        events = o.events,
    ))
    .expect("generate data");
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
    let as_of = NaiveDate::from_ymd_opt(2026, 11, 25)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date");
    if o.explain {
        explain(conn, as_of);
    }
    let mut times = Vec::new();
    for run in 0..o.runs {
        let started = Instant::now();
        let results = verdict::results::compute(conn, "bench", as_of).expect("results");
        let secs = started.elapsed().as_secs_f64();
        times.push(secs);
        println!(
            "run {}: {:.3} s  (units {:?}, recommendation {:?}, {})",
            run + 1,
            secs,
            results.arms.iter().map(|a| a.units).collect::<Vec<_>>(),
            results.recommendation.action,
            Utc::now().format("%H:%M:%S"),
        );
    }
    times.sort_by(f64::total_cmp);
    println!(
        "results for {} units / {} events: best {:.3} s, median {:.3} s",
        o.units,
        o.events,
        times[0],
        times[times.len() / 2]
    );
}

#[derive(diesel::QueryableByName)]
struct PlanLine {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// Prints each metric query's PostgreSQL plan with timings.
fn explain(conn: &mut DbConnection, as_of: chrono::NaiveDateTime) {
    use diesel::RunQueryDsl;
    use diesel::pg::Pg;
    use diesel::sql_types::{Double, Integer, Text, Timestamp};
    use verdict::results::sql::{Dialect, MetricQuery, Param, metric_query};
    for key in ["topup", "stars", "stars_per_session", "nps"] {
        let metric = verdict::metrics_catalog::get(conn, key).expect("metric");
        let q = MetricQuery {
            experiment: "bench",
            phase: 1,
            metric: &metric.definition,
            as_of,
            pre_period_secs: (key != "nps").then_some(14.0 * 86_400.0),
        };
        let query = metric_query(Dialect::Postgres, &q);
        let DbConnection::Postgresql(pg) = &mut *conn else {
            return;
        };
        pg.batch_execute("SET work_mem = '256MB'")
            .expect("work_mem");
        let mut boxed = diesel::sql_query(format!("EXPLAIN (ANALYZE, BUFFERS) {}", query.sql))
            .into_boxed::<Pg>();
        for p in &query.params {
            boxed = match p {
                Param::Text(s) => boxed.bind::<Text, _>(s.clone()),
                Param::Int(i) => boxed.bind::<Integer, _>(*i),
                Param::Double(d) => boxed.bind::<Double, _>(*d),
                Param::Timestamp(t) => boxed.bind::<Timestamp, _>(*t),
            };
        }
        let lines: Vec<PlanLine> = boxed.load(pg).expect("explain");
        println!("== {key}");
        for l in lines {
            println!("{}", l.line);
        }
    }
}
