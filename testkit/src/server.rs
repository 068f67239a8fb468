//! The real service serving HTTP on an ephemeral port, on its own thread and
//! actix `System`, for clients that talk to it over the network (the SDK, the
//! bot, browsers).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use actix_web::HttpServer;
use actix_web::dev::ServerHandle;
use serde_json::Value;
use verdict::auth::{JwtKeys, Role};
use verdict::db::DbConnection;
use verdict::state::{AppState, Settings};

use crate::app::mint;
use crate::db::{Backend, TestDb};

/// A signing secret unique to one server, so that a stopped server's port,
/// reused by another test's server, rejects its tokens.
fn unique_secret() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(
        "testkit-{}-{n}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The service on a port, over its own fresh database.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its address.
    pub addr: SocketAddr,
    /// The service state (database pool, exposure queue, …).
    pub state: AppState,
    /// The database (kept alive as long as the server).
    pub db: TestDb,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
    keys: JwtKeys,
}

impl TestServer {
    /// Starts the service on a fresh SQLite database with default settings.
    pub fn start() -> Self {
        Self::start_with(Backend::Sqlite, Settings::default())
    }

    /// Starts the service on a fresh `backend` database with `settings`.
    pub fn start_with(backend: Backend, settings: Settings) -> Self {
        let db = TestDb::new(backend);
        let target = db.target();
        let secret = unique_secret();
        let keys = JwtKeys::new(Some(&secret), None).expect("keys");
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let pool = verdict::startup::open_database(&target, 4).expect("open and migrate");
                let keys = JwtKeys::new(Some(&secret), None).expect("keys");
                let state = AppState::new(pool, keys, settings).expect("app state");
                let app_state = state.clone();
                let server = HttpServer::new(move || verdict::app::build(app_state.clone()))
                    .workers(2)
                    .disable_signals()
                    .bind(("127.0.0.1", 0))
                    .expect("bind");
                let addr = server.addrs()[0];
                let server = server.run();
                tx.send((addr, server.handle(), state)).expect("report");
                let _ = server.await;
            });
        });
        let (addr, handle, state) = rx.recv().expect("service started");
        Self {
            url: format!("http://{addr}"),
            addr,
            state,
            db,
            handle,
            thread: Some(thread),
            keys,
        }
    }

    /// Base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A token for `role` bound to `production`.
    pub fn token(&self, role: Role) -> String {
        mint(&self.keys, role, Some("production"))
    }

    /// A connection to the service's database.
    pub fn conn(&self) -> impl std::ops::DerefMut<Target = DbConnection> {
        self.state.db.conn().expect("connection")
    }

    /// Sends a JSON request as `role` (no body when `body` is null); returns
    /// the status and the JSON body (`Value::Null` when not JSON).
    pub async fn call(&self, method: &str, path: &str, role: Role, body: Value) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(self.token(role));
        if !body.is_null() {
            req = req.json(&body);
        }
        let res = req.send().await.expect("service reachable");
        let status = res.status().as_u16();
        let bytes = res.bytes().await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Stops the server and waits for its thread.
    pub async fn stop(&mut self) {
        self.handle.stop(false).await;
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Best effort: the System thread ends with the test process otherwise.
        drop(self.handle.stop(false));
    }
}
