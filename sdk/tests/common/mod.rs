//! Test harness: the real Verdict service (from `verdict-testkit`), fake HTTP
//! servers, and the flag definitions the tests share.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use serde_json::{Value, json};
use verdict::auth::Role;

/// An HTTP server on its own thread and actix `System`.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Its address.
    pub addr: SocketAddr,
    handle: ServerHandle,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Stops the server and waits for its thread.
    pub async fn stop(&mut self) {
        self.handle.stop(false).await;
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Best effort: the System thread ends with the test process otherwise.
        drop(self.handle.stop(false));
    }
}

/// The real service over a fresh, migrated SQLite database: the workspace's
/// one harness.
pub use verdict_testkit::TestServer as Service;

/// Creates every definition of [`definitions`] on `service`.
pub async fn define(service: &Service) {
    for (path, body) in definitions() {
        let (status, res) = service.call("POST", path, Role::Pm, body).await;
        assert_eq!(status, 201, "{path}: {res}");
    }
}

/// A segment, a layer and flags with targeting, splits, experiments and a
/// custom `bucket_by` (mirrors the service's own parity test).
pub fn definitions() -> Vec<(&'static str, Value)> {
    let segment = json!({"key": "vip_users", "conditions": [{"attribute": "tier", "op": "in", "value": ["vip"]}]});
    let mut posts = vec![("/api/v1/segments", segment)];
    let string_flag = |key: &str, rules: Value, fallthrough: Value| {
        json!({
            "key": key, "value_type": "string",
            "variants": [{"key": "control", "value": "Try Pro free"}, {"key": "urgency", "value": "Pro trial ends today"}, {"key": "social", "value": "Join 10k traders"}],
            "default_variant": "control",
            "environments": {"production": {"enabled": true, "rules": rules, "fallthrough": fallthrough}}
        })
    };
    let split = |rollout: f64, experiment: Option<&str>| {
        let mut s = json!({"split": {"rollout": rollout, "weights": [
            {"variant": "control", "weight": 34.0}, {"variant": "urgency", "weight": 33.0}, {"variant": "social", "weight": 33.0}]}});
        if let Some(key) = experiment {
            s["split"]["experiment"] = json!({"key": key, "phase": 1});
        }
        s
    };
    posts.push(("/api/v1/flags", string_flag("cta_copy", json!([
        {"id": "vip", "segments": ["vip_users"], "serve": {"variant": "social"}},
        {"id": "new_app", "conditions": [{"attribute": "app_version", "op": "semver_gte", "value": "2.0.0"}, {"attribute": "language", "op": "eq", "value": "ru"}], "serve": split(50.0, None)}
    ]), split(80.0, Some("cta_copy")))));
    posts.push(("/api/v1/flags", string_flag("digest_layout", json!([
        {"id": "heavy", "conditions": [{"attribute": "portfolio_size", "op": "gte", "value": 10}], "serve": {"variant": "urgency"}},
        {"id": "recent", "conditions": [{"attribute": "signed_up_at", "op": "after", "value": "2026-06-01T00:00:00Z"}], "serve": split(100.0, None)}
    ]), json!({"variant": "control"}))));
    posts.push(("/api/v1/flags", string_flag("import_hint", json!([
        {"id": "excluded", "conditions": [{"attribute": "country", "op": "not_in", "value": ["RU", "KZ"]}, {"attribute": "email", "op": "ends_with", "value": "@example.com"}], "serve": {"variant": "social"}}
    ]), split(100.0, Some("import_hint")))));
    let mut by_chat = string_flag("chat_banner", json!([]), split(30.0, None));
    by_chat["bucket_by"] = json!("chat_id");
    posts.push(("/api/v1/flags", by_chat));
    posts.push(("/api/v1/flags", json!({
        "key": "vip_paywall_copy", "value_type": "json",
        "variants": [{"key": "control", "value": {"title": "VIP", "price": 500}}, {"key": "bold", "value": {"title": "Go VIP", "price": 450}}],
        "default_variant": "control",
        "environments": {"production": {"enabled": true, "fallthrough": {"split": {"weights": [{"variant": "control", "weight": 50.0}, {"variant": "bold", "weight": 50.0}], "experiment": {"key": "vip_paywall_copy", "phase": 1}}}}}
    })));
    posts.push(("/api/v1/flags", json!({
        "key": "dark_mode", "value_type": "boolean",
        "variants": [{"key": "off", "value": false}, {"key": "on", "value": true}],
        "default_variant": "off",
        "environments": {"production": {"enabled": true, "rules": [
            {"id": "pro", "conditions": [{"attribute": "tier", "op": "in", "value": ["pro", "pro_plus"]}], "serve": {"variant": "on"}}
        ], "fallthrough": {"split": {"rollout": 50.0, "weights": [{"variant": "off", "weight": 50.0}, {"variant": "on", "weight": 50.0}]}}}}
    })));
    posts.push(("/api/v1/flags", json!({
        "key": "digest_hour", "value_type": "number",
        "variants": [{"key": "morning", "value": 8}, {"key": "evening", "value": 19.5}],
        "default_variant": "morning",
        "environments": {"production": {"enabled": false, "fallthrough": {"variant": "evening"}}}
    })));
    posts.push((
        "/api/v1/layers",
        json!({"key": "monetization", "holdout": {"start": 0, "end": 1000},
        "members": [{"flag": "vip_paywall_copy", "range": {"start": 1000, "end": 10000}}]}),
    ));
    posts
}

/// A fake HTTP server whose routes `configure` registers.
pub fn fake<F>(configure: F) -> Server
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || App::new().configure(configure.clone()))
                .workers(1)
                .disable_signals()
                .bind(("127.0.0.1", 0))
                .expect("bind");
            let addr = server.addrs()[0];
            let server = server.run();
            tx.send((addr, server.handle())).expect("report");
            let _ = server.await;
        });
    });
    let (addr, handle) = rx.recv().expect("fake server started");
    Server {
        url: format!("http://{addr}"),
        addr,
        handle,
        thread: Some(thread),
    }
}

/// A local address nothing listens on.
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}
