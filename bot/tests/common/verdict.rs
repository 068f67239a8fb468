//! The real Verdict service in-process on a temporary SQLite database, the
//! bot's demo flags, and readers of what the service stored.

use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use serde_json::{Value, json};
use verdict::app::AppState;
use verdict::auth::{JwtKeys, Role};

/// A signing secret unique to one service, so that a stopped service's
/// port, reused by another test's service, rejects its tokens.
fn unique_secret() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("bot-test-{}-{n}-{nanos}", std::process::id())
}

/// The demo flags shipped with the bot (`bot/demo/flags.json`).
pub fn demo_flags() -> Vec<Value> {
    serde_json::from_str(include_str!("../../demo/flags.json")).expect("demo flags")
}

/// The demo flags with targeting rules that force users into arms:
/// 1001 → `control`/`control`, 1002 → `urgency`/`bold`, and the digest in
/// `cards` for the `high` ICP segment (`compact` otherwise).
pub fn forced_flags() -> Vec<Value> {
    let force = |id: &str, user: &str, variant: &str| {
        json!({"id": id, "conditions": [{"attribute": "user_id", "op": "in", "value": [user]}],
               "serve": {"variant": variant}})
    };
    demo_flags()
        .into_iter()
        .map(|mut f| {
            let key = f["key"].as_str().unwrap_or_default().to_owned();
            let env = &mut f["environments"]["production"];
            match key.as_str() {
                "cta_copy" => {
                    env["rules"] = json!([
                        force("u1", "1001", "control"),
                        force("u2", "1002", "urgency")
                    ]);
                }
                "vip_paywall_copy" => {
                    env["rules"] =
                        json!([force("u1", "1001", "control"), force("u2", "1002", "bold")]);
                }
                "digest_layout" => {
                    env["rules"] = json!([{"id": "high_icp",
                        "conditions": [{"attribute": "icp_segment", "op": "eq", "value": "high"}],
                        "serve": {"variant": "cards"}}]);
                    env["fallthrough"] = json!({"variant": "compact"});
                }
                _ => {}
            }
            f
        })
        .collect()
}

/// The service on its own thread and actix `System`.
pub struct Service {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The SQLite file.
    pub db_path: PathBuf,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
    keys: JwtKeys,
    _dir: tempfile::TempDir,
}

impl Drop for Service {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl Service {
    /// Starts the service on a fresh, migrated database.
    pub fn start() -> Self {
        super::no_proxy();
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = dir.path().join("verdict.db");
        let target: verdict::db::DbTarget = format!("sqlite://{}", db_path.display())
            .parse()
            .expect("sqlite URL");
        let secret = unique_secret();
        let keys = JwtKeys::new(Some(&secret), None).expect("keys");
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let db = verdict::startup::open_database(&target, 4).expect("open and migrate");
                let keys = JwtKeys::new(Some(&secret), None).expect("keys");
                let state = AppState::new(db, keys, 4 << 20).expect("app state");
                let server = HttpServer::new(move || verdict::app::build(state.clone()))
                    .workers(2)
                    .disable_signals()
                    .bind(("127.0.0.1", 0))
                    .expect("bind");
                let addr = server.addrs()[0];
                let server = server.run();
                tx.send((addr, server.handle())).expect("report");
                let _ = server.await;
            });
        });
        let (addr, handle) = rx.recv().expect("service started");
        Self {
            url: format!("http://{addr}"),
            db_path,
            handle,
            thread: Some(thread),
            keys,
            _dir: dir,
        }
    }

    /// Stops the service and waits for its thread.
    pub async fn stop(&mut self) {
        self.handle.stop(false).await;
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }

    /// A token for `role` bound to `production`.
    pub fn token(&self, role: Role) -> String {
        self.keys
            .mint(
                role,
                &format!("bot-test-{role}"),
                Duration::from_secs(3600),
                Some("production"),
            )
            .expect("mint")
    }

    /// Creates `flags` (`POST /api/v1/flags` as a pm).
    pub async fn create_flags(&self, flags: Vec<Value>) {
        let http = reqwest::Client::new();
        for flag in flags {
            let res = http
                .post(format!("{}/api/v1/flags", self.url))
                .bearer_auth(self.token(Role::Pm))
                .json(&flag)
                .send()
                .await
                .expect("service reachable");
            let status = res.status().as_u16();
            let body = res.text().await.unwrap_or_default();
            assert_eq!(status, 201, "{}: {body}", flag["key"]);
        }
    }

    fn conn(&self) -> SqliteConnection {
        let mut c = SqliteConnection::establish(&self.db_path.display().to_string()).expect("db");
        diesel::sql_query("PRAGMA busy_timeout = 5000")
            .execute(&mut c)
            .expect("pragma");
        c
    }

    /// Stored exposures of `experiment`: (unit, variant).
    pub fn exposures(&self, experiment: &str) -> Vec<(String, String)> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            unit_id: String,
            #[diesel(sql_type = Text)]
            variant: String,
        }
        diesel::sql_query(
            "SELECT unit_id, variant FROM exposures WHERE experiment_key = ? ORDER BY unit_id",
        )
        .bind::<Text, _>(experiment)
        .load::<Row>(&mut self.conn())
        .expect("exposures")
        .into_iter()
        .map(|r| (r.unit_id, r.variant))
        .collect()
    }

    /// Stored events named `name`: (unit, value, properties).
    pub fn events(&self, name: &str) -> Vec<(String, Option<f64>, Value)> {
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = Text)]
            unit_id: String,
            #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
            value: Option<f64>,
            #[diesel(sql_type = Nullable<Text>)]
            properties: Option<String>,
        }
        diesel::sql_query(
            "SELECT unit_id, value, properties FROM events WHERE name = ? ORDER BY ts",
        )
        .bind::<Text, _>(name)
        .load::<Row>(&mut self.conn())
        .expect("events")
        .into_iter()
        .map(|r| {
            let props = r
                .properties
                .and_then(|p| serde_json::from_str(&p).ok())
                .unwrap_or(Value::Null);
            (r.unit_id, r.value, props)
        })
        .collect()
    }
}
