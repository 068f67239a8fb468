//! A mock Telegram Bot API on localhost: serves queued updates through
//! `getUpdates`, answers the methods the bot calls (refusing sends to chats
//! marked blocked, and refunds when told to), and records every request for
//! assertions.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

use super::WAIT;

#[derive(Default)]
struct State {
    updates: Mutex<Vec<Value>>,
    requests: Mutex<Vec<(String, Value)>>,
    next_update: AtomicI64,
    next_message: AtomicI64,
    /// Chats whose user blocked the bot: every call for them gets a 403.
    blocked: Mutex<HashSet<u64>>,
    /// When set, `refundStarPayment` fails with this description.
    refund_refusal: Mutex<Option<String>>,
}

impl State {
    fn id(counter: &AtomicI64) -> i64 {
        counter.fetch_add(1, Ordering::SeqCst) + 1
    }
}

/// The mock Bot API server.
pub struct MockTelegram {
    /// Base URL (`http://127.0.0.1:PORT/`), the bot's `TELEGRAM_API_URL`.
    pub url: String,
    state: Arc<State>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for MockTelegram {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A Telegram user object.
pub fn user(id: u64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": format!("User{id}"), "language_code": "en"})
}

fn private_chat(id: u64) -> Value {
    json!({"id": id, "type": "private", "first_name": format!("User{id}")})
}

const BOT_ID: u64 = 123456;

fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "Verdict", "username": "verdict_test_bot"})
}

async fn api(
    path: web::Path<(String, String)>,
    body: web::Bytes,
    state: web::Data<Arc<State>>,
) -> HttpResponse {
    let (_token, method) = path.into_inner();
    // Bot API method names are case-insensitive (teloxide sends `SendMessage`).
    let method = lower_camel(&method);
    let body: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    if let Some(refusal) = refusal(&state, &method, &body) {
        state
            .requests
            .lock()
            .expect("requests")
            .push((method, body));
        return refusal;
    }
    let result = match method.as_str() {
        "getUpdates" => {
            return HttpResponse::Ok()
                .json(json!({"ok": true, "result": updates(&state, &body).await}));
        }
        "getMe" => {
            let mut me = bot_user();
            for k in [
                "can_join_groups",
                "can_read_all_group_messages",
                "supports_inline_queries",
                "can_connect_to_business",
                "has_main_web_app",
            ] {
                me[k] = json!(false);
            }
            me
        }
        "getWebhookInfo" => {
            json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0})
        }
        "sendMessage" => {
            let mut m = sent_message(&state, &body);
            m["text"] = body.get("text").cloned().unwrap_or(json!(""));
            if let Some(markup) = body.get("reply_markup") {
                m["reply_markup"] = markup.clone();
            }
            m
        }
        "sendInvoice" => {
            let mut m = sent_message(&state, &body);
            m["invoice"] = json!({
                "title": body["title"], "description": body["description"],
                "start_parameter": "", "currency": body["currency"],
                "total_amount": body["prices"][0]["amount"],
            });
            m
        }
        _ => json!(true),
    };
    state
        .requests
        .lock()
        .expect("requests")
        .push((method, body));
    HttpResponse::Ok().json(json!({"ok": true, "result": result}))
}

/// The error Telegram answers `method` with, if it refuses it: 403 for a
/// blocked chat (as Telegram words it), 400 for a refused refund.
fn refusal(state: &State, method: &str, body: &Value) -> Option<HttpResponse> {
    let chat = body["chat_id"].as_u64();
    if chat.is_some_and(|c| state.blocked.lock().expect("blocked").contains(&c)) {
        return Some(HttpResponse::Forbidden().json(json!({
            "ok": false, "error_code": 403,
            "description": "Forbidden: bot was blocked by the user",
        })));
    }
    if method == "refundStarPayment" {
        let refusal = state.refund_refusal.lock().expect("refusal").clone()?;
        return Some(HttpResponse::BadRequest().json(json!({
            "ok": false, "error_code": 400, "description": refusal,
        })));
    }
    None
}

fn lower_camel(method: &str) -> String {
    let mut chars = method.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

fn sent_message(state: &State, body: &Value) -> Value {
    let chat = body["chat_id"].as_u64().unwrap_or(0);
    json!({
        "message_id": State::id(&state.next_message),
        "date": now(),
        "chat": private_chat(chat),
        "from": bot_user(),
    })
}

/// Long polling, shortened: waits up to 200 ms for updates.
async fn updates(state: &State, body: &Value) -> Value {
    let offset = body.get("offset").and_then(Value::as_i64).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_millis(200);
    loop {
        let pending: Vec<Value> = {
            let mut q = state.updates.lock().expect("updates");
            q.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            q.clone()
        };
        if !pending.is_empty() || Instant::now() >= deadline {
            return Value::Array(pending);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl MockTelegram {
    /// Starts the server on its own thread.
    pub fn start() -> Self {
        super::no_proxy();
        let state = Arc::new(State::default());
        let shared = state.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let data = web::Data::new(shared);
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(data.clone())
                        .app_data(web::PayloadConfig::new(1 << 20))
                        .route("/{token}/{method}", web::post().to(api))
                        .route("/{token}/{method}", web::get().to(api))
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
        let (addr, handle) = rx.recv().expect("mock Telegram started");
        Self {
            url: format!("http://{addr}/"),
            state,
            handle,
        }
    }

    fn push(&self, mut update: Value) {
        update["update_id"] = json!(State::id(&self.state.next_update));
        self.state.updates.lock().expect("updates").push(update);
    }

    fn message(&self, user_id: u64) -> Value {
        json!({
            "message_id": State::id(&self.state.next_message),
            "date": now(),
            "chat": private_chat(user_id),
            "from": user(user_id),
        })
    }

    /// The user sends `text`.
    pub fn send_text(&self, user_id: u64, text: &str) {
        let mut m = self.message(user_id);
        m["text"] = json!(text);
        self.push(json!({"message": m}));
    }

    /// The user presses an inline button with callback `data`.
    pub fn press(&self, user_id: u64, data: &str) {
        let mut m = self.message(user_id);
        m["from"] = bot_user();
        m["text"] = json!("…");
        self.push(json!({"callback_query": {
            "id": format!("cb{}", State::id(&self.state.next_message)),
            "from": user(user_id), "chat_instance": "1", "data": data, "message": m,
        }}));
    }

    /// Telegram asks the bot to confirm a checkout; returns the query id.
    pub fn pre_checkout(&self, user_id: u64, currency: &str, total: u32, payload: &str) -> String {
        let id = format!("pcq{}", State::id(&self.state.next_message));
        self.push(json!({"pre_checkout_query": {
            "id": id, "from": user(user_id), "currency": currency,
            "total_amount": total, "invoice_payload": payload,
        }}));
        id
    }

    /// Telegram reports a successful Stars payment; returns its
    /// `telegram_payment_charge_id` (unique per payment).
    pub fn successful_payment(&self, user_id: u64, total: u32, payload: &str) -> String {
        let charge = format!("stxTEST{user_id}_{}", State::id(&self.state.next_message));
        let mut m = self.message(user_id);
        m["successful_payment"] = json!({
            "currency": "XTR", "total_amount": total, "invoice_payload": payload,
            "telegram_payment_charge_id": charge,
            "provider_payment_charge_id": "",
        });
        self.push(json!({"message": m}));
        charge
    }

    /// The user blocks (`true`) or unblocks the bot: calls for their chat
    /// get Telegram's 403 (and are still recorded).
    pub fn set_blocked(&self, user_id: u64, blocked: bool) {
        let mut set = self.state.blocked.lock().expect("blocked");
        if blocked {
            set.insert(user_id);
        } else {
            set.remove(&user_id);
        }
    }

    /// Makes `refundStarPayment` fail with `description` (`None`: succeed).
    pub fn refuse_refunds(&self, description: Option<&str>) {
        *self.state.refund_refusal.lock().expect("refusal") = description.map(str::to_owned);
    }

    /// Recorded requests of `method`, oldest first.
    pub fn calls(&self, method: &str) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|(m, _)| m == method)
            .map(|(_, b)| b)
            .collect()
    }

    /// Every recorded request (method, body), oldest first.
    pub fn requests(&self) -> Vec<(String, Value)> {
        self.state.requests.lock().expect("requests").clone()
    }

    /// Waits for a request matching `pred` at index ≥ `*cursor`, moves the
    /// cursor past it and returns its method and body.
    pub async fn wait_for(
        &self,
        cursor: &mut usize,
        what: &str,
        pred: impl Fn(&str, &Value) -> bool,
    ) -> (String, Value) {
        let deadline = Instant::now() + WAIT;
        loop {
            {
                let reqs = self.state.requests.lock().expect("requests");
                if let Some((i, (method, body))) = reqs
                    .iter()
                    .enumerate()
                    .skip(*cursor)
                    .find(|(_, (m, b))| pred(m, b))
                {
                    *cursor = i + 1;
                    return (method.clone(), body.clone());
                }
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; requests: {:#?}",
                self.requests()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A conversation with one user, reading the bot's messages from now on.
    pub fn chat(&self, user_id: u64) -> Chat<'_> {
        Chat {
            tg: self,
            user_id,
            cursor: self.state.requests.lock().expect("requests").len(),
        }
    }
}

/// One user's side of the conversation, reading the bot's messages to
/// that chat in order.
pub struct Chat<'a> {
    /// The server.
    pub tg: &'a MockTelegram,
    /// The user (and private chat) id.
    pub user_id: u64,
    cursor: usize,
}

impl Chat<'_> {
    /// Sends `text` as the user.
    pub fn send(&self, text: &str) {
        self.tg.send_text(self.user_id, text);
    }

    /// Presses a button.
    pub fn press(&self, data: &str) {
        self.tg.press(self.user_id, data);
    }

    /// The bot's next `sendMessage`/`sendInvoice` to this chat: (method, body).
    pub async fn next(&mut self) -> (String, Value) {
        let user = self.user_id;
        self.tg
            .wait_for(&mut self.cursor, &format!("a message to {user}"), |m, b| {
                (m == "sendMessage" || m == "sendInvoice") && b["chat_id"].as_u64() == Some(user)
            })
            .await
    }

    /// The text of the bot's next message to this chat.
    pub async fn text(&mut self) -> String {
        let (_, body) = self.next().await;
        body["text"].as_str().unwrap_or_default().to_owned()
    }

    /// Sends `text` and returns the texts of the next `n` replies.
    pub async fn say(&mut self, text: &str, n: usize) -> Vec<String> {
        self.send(text);
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.text().await);
        }
        out
    }

    /// Sends `text` and returns the next `n` replies' bodies.
    pub async fn say_raw(&mut self, text: &str, n: usize) -> Vec<Value> {
        self.send(text);
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.next().await.1);
        }
        out
    }

    /// Presses `data` and returns the next `n` replies' bodies.
    pub async fn press_raw(&mut self, data: &str, n: usize) -> Vec<Value> {
        self.press(data);
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.next().await.1);
        }
        out
    }

    /// Runs the questionnaire from `/start` with the given answer codes;
    /// returns the menu message that ends it.
    pub async fn onboard(&mut self, use_case: &str, experienced: bool, currency: &str) -> Value {
        let replies = self.say_raw("/start", 2).await;
        assert!(
            replies[1]["text"]
                .as_str()
                .unwrap_or_default()
                .starts_with("1/3"),
            "{replies:?}"
        );
        self.press_raw(&format!("q:use:{use_case}"), 1).await;
        self.press_raw(
            &format!("q:exp:{}", if experienced { "yes" } else { "no" }),
            1,
        )
        .await;
        let done = self.press_raw(&format!("q:cur:{currency}"), 2).await;
        done[1].clone()
    }
}

/// The call-to-action of a menu message (its first button).
pub fn cta(menu: &Value) -> String {
    menu["reply_markup"]["inline_keyboard"][0][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
