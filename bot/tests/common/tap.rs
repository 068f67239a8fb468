//! A proxy in front of the service that forwards everything except
//! `POST /api/v1/events`, which it checks against the event contract
//! (`{"events": [{"event_id", "unit_id", "name", "timestamp", "value"?,
//! "properties"?}]}`), records and acknowledges itself.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

struct Proxy {
    upstream: String,
    http: reqwest::Client,
    events: Mutex<Vec<Value>>,
}

/// The running proxy.
pub struct Tap {
    /// Its base URL, the bot's `VERDICT_URL`.
    pub url: String,
    proxy: Arc<Proxy>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Tap {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn valid(event: &Value) -> bool {
    let s = |k: &str| event[k].as_str().is_some_and(|v| !v.is_empty());
    s("event_id")
        && s("unit_id")
        && s("name")
        && event["timestamp"].as_str().is_some_and(rfc3339_utc)
        && (event.get("value").is_none() || event["value"].is_number())
        && (event.get("properties").is_none() || event["properties"].is_object())
}

/// RFC 3339 UTC as the SDK sends it (`2026-11-21T10:00:00.000Z`).
fn rfc3339_utc(t: &str) -> bool {
    t.len() >= 20 && t.ends_with('Z') && t.as_bytes().get(10) == Some(&b'T')
}

async fn forward(req: HttpRequest, body: web::Bytes, proxy: web::Data<Arc<Proxy>>) -> HttpResponse {
    if req.method() == actix_web::http::Method::POST && req.path() == "/api/v1/events" {
        let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let Some(events) = parsed["events"].as_array() else {
            return HttpResponse::BadRequest().finish();
        };
        if !events.iter().all(valid) || req.headers().get("authorization").is_none() {
            return HttpResponse::BadRequest().json(json!({"events": events}));
        }
        let mut stored = proxy.events.lock().expect("events");
        let mut accepted = 0;
        let mut duplicates = 0;
        for e in events {
            if stored.iter().any(|s| s["event_id"] == e["event_id"]) {
                duplicates += 1;
            } else {
                accepted += 1;
                stored.push(e.clone());
            }
        }
        return HttpResponse::Ok()
            .json(json!({"accepted": accepted, "duplicates": duplicates, "rejected": []}));
    }
    let Ok(method) = reqwest::Method::from_bytes(req.method().as_str().as_bytes()) else {
        return HttpResponse::BadGateway().finish();
    };
    let mut up = proxy
        .http
        .request(method, format!("{}{}", proxy.upstream, req.uri()))
        .body(body.to_vec());
    for name in ["authorization", "content-type", "if-none-match"] {
        if let Some(v) = req.headers().get(name).and_then(|v| v.to_str().ok()) {
            up = up.header(name, v);
        }
    }
    let Ok(resp) = up.send().await else {
        return HttpResponse::BadGateway().finish();
    };
    let status = actix_web::http::StatusCode::from_u16(resp.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
    let mut out = HttpResponse::build(status);
    for name in ["content-type", "etag"] {
        if let Some(v) = resp.headers().get(name).and_then(|v| v.to_str().ok()) {
            out.insert_header((name, v.to_owned()));
        }
    }
    out.body(resp.bytes().await.unwrap_or_default())
}

impl Tap {
    /// Starts the proxy in front of `upstream`.
    pub fn start(upstream: &str) -> Self {
        super::no_proxy();
        let proxy = Arc::new(Proxy {
            upstream: upstream.to_owned(),
            http: reqwest::Client::new(),
            events: Mutex::new(Vec::new()),
        });
        let shared = proxy.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let data = web::Data::new(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .default_service(web::to(forward))
                })
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
        let (addr, handle) = rx.recv().expect("tap started");
        Self {
            url: format!("http://{addr}"),
            proxy,
            handle,
        }
    }

    /// Events received named `name`: (unit, value, properties).
    pub fn events(&self, name: &str) -> Vec<(String, Option<f64>, Value)> {
        self.select(|e| e["name"] == name, "unit_id")
    }

    /// Events received for `unit`, in the order sent: (name, value,
    /// properties).
    pub fn events_of(&self, unit: &str) -> Vec<(String, Option<f64>, Value)> {
        self.select(|e| e["unit_id"] == unit, "name")
    }

    /// Events matching `pred`: (`e[key]`, value, properties).
    fn select(
        &self,
        pred: impl Fn(&Value) -> bool,
        key: &str,
    ) -> Vec<(String, Option<f64>, Value)> {
        self.proxy
            .events
            .lock()
            .expect("events")
            .iter()
            .filter(|e| pred(e))
            .map(|e| {
                (
                    e[key].as_str().unwrap_or_default().to_owned(),
                    e["value"].as_f64(),
                    e.get("properties").cloned().unwrap_or(Value::Null),
                )
            })
            .collect()
    }
}
