//! Event ingestion benchmark against PostgreSQL.
//!
//! Creates a throwaway database on the server at `--admin-url` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), serves the real application
//! on a local port, and posts `--batches` batches of `--batch-size` unique
//! events over HTTP from `--connections` keep-alive connections, then reports
//! events/s. With `--store-only` it times the batched store directly instead.
//!
//! ```sh
//! cargo run --release --example ingest_bench -- --batches 200 --connections 4
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use verdict::app::build;
use verdict::auth::{JwtKeys, Role};
use verdict::events::{NewEvent, insert_batch};
use verdict::state::AppState;

struct Options {
    admin_url: String,
    batches: usize,
    batch_size: usize,
    connections: usize,
    workers: usize,
    store_only: bool,
}

fn options() -> Options {
    let mut o = Options {
        admin_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        batches: 200,
        batch_size: 1000,
        connections: 4,
        workers: 2,
        store_only: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        let number = || value.parse::<usize>().expect("a number");
        match args[i].as_str() {
            "--admin-url" => o.admin_url = value.clone(),
            "--batches" => o.batches = number(),
            "--batch-size" => o.batch_size = number(),
            "--connections" => o.connections = number().max(1),
            "--workers" => o.workers = number().max(1),
            "--store-only" => {
                o.store_only = true;
                i += 1;
                continue;
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    o
}

/// A throwaway database, dropped on exit.
struct Scratch {
    admin_url: String,
    name: String,
    url: String,
}

impl Scratch {
    fn new(admin_url: &str) -> Self {
        let name = format!("verdict_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(admin_url).expect("connect to PostgreSQL");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        let base = admin_url.rsplit_once('/').expect("URL with a database").0;
        Self {
            admin_url: admin_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

const NAMES: [&str; 4] = [
    "cta_click",
    "miniapp_auth",
    "stars_payment_succeeded",
    "alerts_push_sent",
];

fn batch_json(batch: usize, size: usize, timestamp: &str) -> String {
    let mut body = String::with_capacity(size * 220);
    body.push_str(r#"{"events":["#);
    for i in 0..size {
        if i > 0 {
            body.push(',');
        }
        let n = batch * size + i;
        body.push_str(&format!(
            r#"{{"event_id":"bench-{batch}-{i}","unit_id":"{}","name":"{}","timestamp":"{timestamp}","value":{},"properties":{{"auto_topup":{},"tier":"pro"}}}}"#,
            n % 50_000,
            NAMES[n % NAMES.len()],
            n % 100,
            n.is_multiple_of(3)
        ));
    }
    body.push_str("]}");
    body
}

/// Posts each body on one keep-alive connection; returns events accepted.
fn post_all(addr: &str, token: &str, bodies: &[String]) -> usize {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut accepted = 0;
    for body in bodies {
        write!(
            stream,
            "POST /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .expect("write head");
        stream.write_all(body.as_bytes()).expect("write body");
        let mut status = String::new();
        reader.read_line(&mut status).expect("status line");
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("length");
            }
        }
        let mut response = vec![0; length];
        reader.read_exact(&mut response).expect("body");
        assert!(status.contains(" 200 "), "{status}");
        let json: serde_json::Value = serde_json::from_slice(&response).expect("json");
        accepted += json["accepted"].as_u64().expect("accepted") as usize;
    }
    accepted
}

fn main() {
    let o = options();
    let scratch = Scratch::new(&o.admin_url);
    let target = scratch.url.parse().expect("target");
    let db =
        verdict::startup::open_database(&target, (o.workers * 2) as u32).expect("open and migrate");
    let timestamp = Utc::now().to_rfc3339();
    let total = o.batches * o.batch_size;

    if o.store_only {
        let now = Utc::now().naive_utc();
        let batches: Vec<Vec<NewEvent>> = (0..o.batches)
            .map(|b| {
                (0..o.batch_size)
                    .map(|i| NewEvent {
                        event_id: format!("bench-{b}-{i}"),
                        unit_id: format!("{}", (b * o.batch_size + i) % 50_000),
                        name: NAMES[i % NAMES.len()].into(),
                        timestamp: now,
                        value: Some((i % 100) as f64),
                        properties: Some(r#"{"auto_topup":true,"tier":"pro"}"#.into()),
                    })
                    .collect()
            })
            .collect();
        let mut conn = db.conn().expect("conn");
        let start = Instant::now();
        let mut stored = 0;
        for batch in &batches {
            stored += insert_batch(&mut conn, batch).expect("insert");
        }
        report("store", stored, total, start.elapsed());
        return;
    }

    let keys = JwtKeys::new(Some("bench-secret"), None).expect("keys");
    let token = keys
        .mint(Role::Sdk, "bench", Duration::from_secs(3600), None)
        .expect("token");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let workers = o.workers;
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let settings = verdict::state::Settings {
                max_body_bytes: 4 * 1024 * 1024,
                ..Default::default()
            };
            let state = AppState::new(db, keys, settings).expect("state");
            actix_web::HttpServer::new(move || build(state.clone()))
                .workers(workers)
                .listen(listener)
                .expect("listen")
                .run()
                .await
                .expect("server");
        });
    });

    let bodies: Vec<String> = (0..o.batches)
        .map(|b| batch_json(b, o.batch_size, &timestamp))
        .collect();
    // One warm-up request outside the timing (connection setup, statement preparation).
    post_all(&addr, &token, &[batch_json(o.batches, 10, &timestamp)]);

    let per_connection = o.batches.div_ceil(o.connections);
    let start = Instant::now();
    let accepted: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = bodies
            .chunks(per_connection)
            .map(|chunk| {
                let (addr, token) = (&addr, &token);
                scope.spawn(move || post_all(addr, token, chunk))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .sum()
    });
    report("http", accepted, total, start.elapsed());
}

fn report(mode: &str, stored: usize, total: usize, elapsed: Duration) {
    assert_eq!(stored, total, "every event is stored once");
    println!(
        "{mode}: {total} events in {:.3} s = {:.0} events/s",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );
}
