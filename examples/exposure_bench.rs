//! Exposure store benchmark on SQLite (the embedded default): how much CPU
//! the exposure writer spends per row.
//!
//! Writes `--rows` exposures of new units (5 experiments, random unit ids,
//! so every row is a random-key insert, as under `bench/load.sh`) into a fresh
//! database in key-sorted batches of `--batch`, as the writer does, and
//! reports rows/s and CPU time per row.
//!
//! ```sh
//! cargo run --release --example exposure_bench -- --rows 1000000 --batch 50000
//! ```

use std::time::Instant;

use chrono::Utc;
use rand::Rng;
use verdict::db::{Db, DbTarget, migrate};
use verdict::exposures::{ExposureRecord, insert_batch};

fn main() {
    let mut rows = 1_000_000usize;
    let mut batch = 50_000usize;
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse().ok()).expect("a number");
        match pair[0].as_str() {
            "--rows" => rows = value,
            "--batch" => batch = value,
            other => panic!("unknown option {other}"),
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let target = DbTarget::Sqlite(dir.path().join("exposures.db"));
    let db = Db::connect(&target, 1).expect("open");
    let mut conn = db.conn().expect("connection");
    migrate(&mut conn).expect("migrate");

    let mut rng = rand::rng();
    let mut cpu = 0.0;
    let started = Instant::now();
    let mut written = 0;
    while written < rows {
        let n = batch.min(rows - written);
        let mut records: Vec<ExposureRecord> = (0..n)
            .map(|i| ExposureRecord {
                experiment_key: format!("exp_{}", i % 5),
                phase: 1,
                unit_id: rng.random_range(1..10_000_000_000u64).to_string(),
                variant: "v1".into(),
                first_seen: Utc::now().naive_utc(),
                dimensions: None,
            })
            .collect();
        records.sort_unstable_by(|a, b| {
            (&a.experiment_key, a.phase, &a.unit_id).cmp(&(&b.experiment_key, b.phase, &b.unit_id))
        });
        let before = cpu_seconds();
        insert_batch(&mut conn, &records).expect("insert");
        cpu += cpu_seconds() - before;
        written += n;
    }
    let wall = started.elapsed().as_secs_f64();
    println!(
        "{rows} rows in batches of {batch}: {:.0} rows/s wall (incl. generating), {:.2} us CPU per row in the store",
        rows as f64 / wall,
        cpu * 1e6 / rows as f64
    );
}

/// CPU time (user + system) of this process so far.
fn cpu_seconds() -> f64 {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at ')'.
    let fields: Vec<&str> = text
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 here.
    (ticks(11) + ticks(12)) / 100.0
}
