//! Warehouse-native results benchmark: one on-request analysis of four metrics
//! computed on a PostgreSQL "warehouse" (the team's `events` table in the OKR
//! document's shape behind a dbt-style view), exposure copy included, against
//! the same analysis on Verdict's own ingestion (the direct path) in the same
//! run, and checks the two agree.
//!
//! Creates (or, with `--reuse`, keeps) the databases `verdict_wh_bench`
//! (Verdict's: `--units` exposures and the same `--events` events) and
//! `verdict_wh_bench_dwh` (the warehouse) on the server at `--admin-url`.
//!
//! ```sh
//! cargo run --release --example warehouse_bench -- --units 1000000 --events 10000000 --runs 3
//! ```

use std::time::Instant;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::json;
use verdict::db::{DbConnection, DbTarget};
use verdict::metrics_catalog::Metric;
use verdict::results::{Breakdowns, ExperimentResults, SnapshotSource};
use verdict::warehouse::{DataSource, Limits, Mapping, Properties, SourceUrl};

const DB: &str = "verdict_wh_bench";
const DWH: &str = "verdict_wh_bench_dwh";

struct Options {
    admin_url: String,
    units: u64,
    events: u64,
    runs: usize,
    reuse: bool,
    cuped: bool,
    sessions: u32,
}

fn options() -> Options {
    let mut o = Options {
        admin_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        units: 1_000_000,
        events: 10_000_000,
        runs: 3,
        reuse: false,
        cuped: true,
        sessions: 2,
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
            "--sessions" => o.sessions = u32::try_from(number()).unwrap_or(1).clamp(1, 16),
            flag @ ("--reuse" | "--no-cuped") => {
                if flag == "--reuse" {
                    o.reuse = true;
                } else {
                    o.cuped = false;
                }
                i += 1;
                continue;
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    o
}

/// The generated events as (unit, name, ts, value, properties) SQL over `g`.
const EVENT_COLUMNS: &str = "'u' || (1 + (g * 7919) % {units}) AS unit_id, \
     CASE g % 10 WHEN 0 THEN 'purchase' WHEN 1 THEN 'nps_survey' ELSE 'session' END AS name, \
     TIMESTAMP '2026-10-16' + (g % 3024000) * INTERVAL '1 second' AS ts, \
     CASE g % 10 WHEN 0 THEN CAST(g % 97 AS DOUBLE PRECISION) \
       WHEN 1 THEN CAST(g % 11 AS DOUBLE PRECISION) END AS value, \
     CASE WHEN g % 10 = 0 THEN '{\"auto_topup\": ' || CAST(g % 3 = 0 AS TEXT) || '}' END AS properties";

/// The warehouse as a data source, with `o.sessions` concurrent queries.
fn data_source(dwh_url: &str, o: &Options) -> DataSource {
    DataSource {
        key: "dwh".into(),
        url: SourceUrl::new(dwh_url.to_owned()),
        mapping: Mapping {
            relation: "analytics.events_clean".into(),
            unit_column: "user_id".into(),
            name_column: "name".into(),
            timestamp_column: "ts".into(),
            value_column: Some("value".into()),
            properties: Some(Properties::Json("props".into())),
            filters: Vec::new(),
        },
        limits: Limits {
            statement_timeout_ms: 600_000,
            max_units: 5_000_000,
            max_concurrent_queries: o.sessions,
        },
    }
}

fn seed(conn: &mut DbConnection, dwh: &mut PgConnection, dwh_url: &str, o: &Options) {
    verdict::warehouse::store::create(conn, "bench", data_source(dwh_url, o)).expect("data source");
    let definitions = [
        (
            "topup",
            json!({"type": "conversion", "event": "purchase", "window_hours": 168,
            "filters": [{"property": "auto_topup", "op": "eq", "value": true}]}),
        ),
        (
            "stars",
            json!({"type": "sum", "event": "purchase", "winsorize_percentile": 99}),
        ),
        (
            "stars_per_session",
            json!({"type": "ratio", "numerator": {"event": "purchase"},
            "denominator": {"event": "session"}}),
        ),
        ("nps", json!({"type": "nps", "event": "nps_survey"})),
    ];
    for (key, definition) in definitions {
        for (suffix, data_source) in [("", None), ("_dwh", Some("dwh".to_owned()))] {
            let metric = Metric {
                key: format!("{key}{suffix}"),
                name: key.into(),
                description: String::new(),
                direction: serde_json::from_value(json!("higher_is_better")).expect("direction"),
                definition: serde_json::from_value(definition.clone()).expect("definition"),
                data_source,
                created_at: Utc::now().naive_utc(),
                updated_at: Utc::now().naive_utc(),
            };
            verdict::metrics_catalog::create(conn, "bench", metric).expect("metric");
        }
    }
    for (key, suffix) in [("bench", ""), ("bench_dwh", "_dwh")] {
        let definition = serde_json::from_value(json!({
            "name": key, "owner": "bench", "hypothesis": "auto top-up", "environment": "production",
            "flag": "bench", "arms": [{"variant": "control", "weight": 50.0}, {"variant": "treatment", "weight": 50.0}],
            "audience": {"conditions": [], "segments": []}, "allocation": 100.0, "layer": null,
            "primary_metric": format!("topup{suffix}"),
            "secondary_metrics": [format!("stars{suffix}"), format!("stars_per_session{suffix}")],
            "guardrails": [{"metric": format!("nps{suffix}"), "max_degradation": 2.0, "margin_type": "absolute"}],
            "analysis": {"engine": "sequential", "alpha": 0.05, "cuped": o.cuped, "cuped_pre_period_days": 14},
            "minimum_detectable_effect": 0.05, "target_decision_at": null
        }))
        .expect("definition");
        verdict::experiments::create(conn, "bench", key, definition).expect("experiment");
    }
    let started = Instant::now();
    let events = EVENT_COLUMNS.replace("{units}", &o.units.to_string());
    conn.batch_execute(&format!(
        "UPDATE experiments SET status = 'running', current_phase = 1, \
           started_at = TIMESTAMP '2026-11-01' WHERE key IN ('bench', 'bench_dwh');
         INSERT INTO experiment_phases SELECT key, 1, key || ':1', 100,
           '[{{\"variant\":\"control\",\"weight\":50.0}},{{\"variant\":\"treatment\",\"weight\":50.0}}]',
           '{{\"conditions\":[],\"segments\":[]}}', 'launch', 'bench', TIMESTAMP '2026-11-01', NULL
           FROM experiments WHERE key IN ('bench', 'bench_dwh');
         INSERT INTO exposures (experiment_key, phase, unit_id, variant, first_seen)
           SELECT e.key, 1, 'u' || g, CASE WHEN g % 2 = 0 THEN 'control' ELSE 'treatment' END,
             TIMESTAMP '2026-11-01' + (g % 1209600) * INTERVAL '1 second'
           FROM generate_series(1, {units}) g, (VALUES ('bench'), ('bench_dwh')) e(key);
         INSERT INTO events (event_id, unit_id, name, ts, value, properties, received_at)
           SELECT 'e' || g, unit_id, name, ts, value, properties, TIMESTAMP '2026-11-01'
           FROM (SELECT g, {events} FROM generate_series(CAST(1 AS BIGINT), {n}) g) s;",
        units = o.units,
        n = o.events,
    ))
    .expect("Verdict's data");
    conn.batch_execute("VACUUM ANALYZE").expect("vacuum");
    dwh.batch_execute(&format!(
        "CREATE TABLE events (id bigserial PRIMARY KEY, name text NOT NULL, user_id text NOT NULL,
           ts timestamptz NOT NULL, props jsonb);
         INSERT INTO events (name, user_id, ts, props)
           SELECT name, unit_id, ts AT TIME ZONE 'UTC',
             CASE WHEN value IS NULL THEN CAST(properties AS jsonb)
               ELSE COALESCE(CAST(properties AS jsonb), '{{}}') || jsonb_build_object('value', value) END
           FROM (SELECT g, {events} FROM generate_series(CAST(1 AS BIGINT), {n}) g) s;
         CREATE INDEX events_user_id ON events (user_id);
         CREATE SCHEMA analytics;
         CREATE VIEW analytics.events_clean AS
           SELECT name, user_id, ts, props, CAST(props ->> 'value' AS double precision) AS value
           FROM events WHERE NOT COALESCE(CAST(props ->> 'test' AS boolean), false);",
        n = o.events,
    ))
    .expect("warehouse data");
    dwh.batch_execute("VACUUM ANALYZE").expect("vacuum");
    println!(
        "generated {} units and {} events (twice) in {:.1} s",
        o.units,
        o.events,
        started.elapsed().as_secs_f64()
    );
}

fn assert_same(a: &ExperimentResults, b: &ExperimentResults) {
    assert_eq!(a.arms, b.arms, "exposures per arm");
    assert_eq!(a.metrics.len(), b.metrics.len());
    for (x, y) in a.metrics.iter().zip(&b.metrics) {
        assert!(y.error.is_none(), "{:?}", y.error);
        assert_eq!(x.arms.len(), y.arms.len());
        for (ax, ay) in x.arms.iter().zip(&y.arms) {
            assert_eq!(ax.units, ay.units, "{} units", x.metric);
            let (p, q) = (ax.mean.unwrap_or(0.0), ay.mean.unwrap_or(0.0));
            assert!(
                (p - q).abs() <= 1e-9 * p.abs().max(1.0),
                "{}: {p} vs {q}",
                x.metric
            );
        }
        for (cx, cy) in x.comparisons.iter().zip(&y.comparisons) {
            let (p, q) = (cx.estimate.unwrap_or(0.0), cy.estimate.unwrap_or(0.0));
            assert!(
                (p - q).abs() <= 1e-9 * p.abs().max(1.0),
                "{}: {p} vs {q}",
                x.metric
            );
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What any plan must at least do on the warehouse, timed on one prepared
/// session: join every event of the metrics' names to its unit (no
/// arithmetic), and group the events by unit (no join): seconds of each.
fn floor(conn: &mut DbConnection, source: &DataSource) -> (f64, f64) {
    let mut sessions = verdict::warehouse::session::prepare_many(conn, source, "bench_dwh", 1, 1)
        .expect("session");
    let session = &mut sessions[0];
    let mut time = |sql: &str| {
        let started = Instant::now();
        session.batch_execute(sql).expect("floor statement");
        started.elapsed().as_secs_f64()
    };
    (
        time(
            "SELECT count(*) FROM exposures u JOIN events e ON e.unit_id = u.unit_id \
             AND e.name IN ('purchase', 'session', 'nps_survey')",
        ),
        time("SELECT count(*) FROM (SELECT unit_id FROM events GROUP BY unit_id) g"),
    )
}

fn main() {
    let o = options();
    let mut admin = PgConnection::establish(&o.admin_url).expect("admin connection");
    let base = o.admin_url.rsplit_once('/').map(|(b, _)| b).expect("URL");
    let (url, dwh_url) = (format!("{base}/{DB}"), format!("{base}/{DWH}"));
    if !o.reuse {
        for name in [DB, DWH] {
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .expect("drop database");
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create database");
        }
    }
    let target: DbTarget = url.parse().expect("URL");
    let db = verdict::startup::open_database(&target, 2).expect("open and migrate");
    let mut conn = db.conn().expect("connection");
    let conn: &mut DbConnection = &mut conn;
    if !o.reuse {
        let mut dwh = PgConnection::establish(&dwh_url).expect("warehouse");
        seed(conn, &mut dwh, &dwh_url, &o);
    } else {
        verdict::warehouse::store::replace(conn, "bench", data_source(&dwh_url, &o))
            .expect("data source");
    }
    let cut_off = Utc::now().naive_utc();
    let (mut own, mut warehouse, mut copy) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..o.runs {
        let started = Instant::now();
        let a = verdict::results::compute(
            conn,
            "bench",
            cut_off,
            SnapshotSource::Manual,
            Breakdowns::Skip,
        )
        .expect("own results");
        own.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let source = verdict::warehouse::store::get(conn, "dwh")
            .expect("source")
            .source;
        let n = usize::try_from(o.sessions).unwrap_or(1);
        verdict::warehouse::session::prepare_many(conn, &source, "bench_dwh", 1, n).expect("copy");
        copy.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let b = verdict::results::compute(
            conn,
            "bench_dwh",
            cut_off,
            SnapshotSource::Manual,
            Breakdowns::Skip,
        )
        .expect("warehouse results");
        warehouse.push(started.elapsed().as_secs_f64());
        assert_same(&a, &b);
        println!(
            "run {}: own ingestion {:.3} s, warehouse {:.3} s (of which the exposure copy alone: {:.3} s)",
            run + 1,
            own[run],
            warehouse[run],
            copy[run]
        );
    }
    let source = verdict::warehouse::store::get(conn, "dwh")
        .expect("source")
        .source;
    let (join, group) = floor(conn, &source);
    println!(
        "floor on the warehouse: every event joined to its unit {join:.3} s, \
         events grouped by unit {group:.3} s"
    );
    println!(
        "{} units / {} events, 4 metrics{}, {} warehouse session(s): own ingestion median {:.3} s, \
         warehouse median {:.3} s (exposure copy {:.3} s); results agree",
        o.units,
        o.events,
        if o.cuped { " with CUPED" } else { "" },
        o.sessions,
        median(own),
        median(warehouse),
        median(copy),
    );
}
