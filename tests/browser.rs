//! Telegram Mini App clients end to end in a real browser: headless Chromium
//! runs the official OpenFeature web SDK and OFREP web provider
//! (`tests/browser/page.js`) against the service on SQLite and PostgreSQL,
//! from the page's own origin, with initData signed by
//! `@telegram-apps/init-data-node` (`tests/browser/run.mjs`), not by our code.
//! The same browser also opens `examples/miniapp` (its `telegram-web-app.js`
//! answered by a stand-in), so the example cannot rot. One browser launch per
//! backend opens every page.
//!
//! Needs Node.js and Chromium (`CHROMIUM`, default `/usr/bin/chromium`); runs
//! `npm ci` in `tests/browser` when its `node_modules` is missing. Without
//! Chromium or Node.js it prints a loud skip and passes, so the suite runs on a
//! fresh machine, unless `CI` is set: there it fails.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use common::{Backend, TestServer, backend_tests};
use diesel::prelude::*;
use serde_json::{Value, json};
use verdict::auth::telegram::TelegramVerifier;
use verdict::auth::{DEFAULT_CLIENT_EVENTS, MiniAppEnvironment, MiniApps, Role};
use verdict::db::schema::{events, exposures};
use verdict::state::Settings;
use verdict_testkit::browser;

/// The experiments the page reads, defined as the bundled bot's demo has them.
const FLAGS: [&str; 2] = ["digest_layout", "import_hint"];
/// What `page.js` falls back to on an error.
const FALLBACK: &str = "fallback";
/// Pages whose initData is valid, on the allowed origin.
const VALID_PAGES: usize = 4;
/// What the example's import form gets: three positions, in the formats the
/// bot's `/import` reads too.
const POSITIONS: &str = "BTC 0.25\neth: 1,5\n\nTON\t100";
/// The background the example must take from the stand-in's Telegram theme.
const THEMED_BACKGROUND: &str = "rgb(23, 33, 43)";

/// An origin of its own (another port) serving the bundled page from `dir`.
fn serve_page(dir: PathBuf) -> (String, ServerHandle) {
    let server = HttpServer::new(move || {
        let dir = dir.clone();
        App::new().default_service(web::to(move |req: HttpRequest| {
            let dir = dir.clone();
            async move { page_file(&dir, req.path()) }
        }))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .expect("bind");
    let origin = format!("http://{}", server.addrs()[0]);
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (origin, handle)
}

/// The files `run.mjs` writes (the test page, the bundled example), nothing else.
fn page_file(dir: &Path, path: &str) -> HttpResponse {
    let (name, content_type) = match path {
        "/index.html" => ("index.html", "text/html; charset=utf-8"),
        "/page.js" => ("page.js", "text/javascript; charset=utf-8"),
        "/example/index.html" => ("example/index.html", "text/html; charset=utf-8"),
        "/example/dist/app.js" => ("example/dist/app.js", "text/javascript; charset=utf-8"),
        _ => return HttpResponse::NotFound().finish(),
    };
    match std::fs::read(dir.join(name)) {
        Ok(body) => HttpResponse::Ok().content_type(content_type).body(body),
        Err(_) => HttpResponse::NotFound().finish(),
    }
}

/// The deployment: one bot verifying `hash` with its token at the production
/// maximum age, the default event names, CORS for `origin` only.
fn settings(bot_token: &str, origin: &str) -> Settings {
    Settings {
        mini_apps: Arc::new(Some(MiniApps::new(
            vec![MiniAppEnvironment {
                environment: "production".into(),
                verifier: TelegramVerifier::first_party(bot_token),
                events: DEFAULT_CLIENT_EVENTS.map(str::to_owned).to_vec(),
            }],
            60,
        ))),
        cors_origins: vec![origin.to_owned()],
        ..Settings::default()
    }
}

/// `n` distinct Telegram-sized user ids, fresh each run.
fn user_ids(n: usize) -> Vec<u64> {
    let mut seen = HashSet::new();
    while seen.len() < n {
        seen.insert(rand::random_range(1_000_000_000..8_000_000_000u64));
    }
    seen.into_iter().collect()
}

fn telegram_user(id: u64) -> Value {
    json!({"id": id, "first_name": format!("User {id}"), "language_code": "en"})
}

fn page(name: &str, origin: &str, user: u64, init_data: &str, forged: u64) -> Value {
    json!({
        "name": name, "origin": origin, "initData": init_data, "user": telegram_user(user),
        "eventId": uuid::Uuid::new_v4().to_string(),
        "forgedUnit": forged.to_string(),
    })
}

fn report<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no page {name} in {report}"))
}

/// `(status, If-None-Match sent)` of each bulk OFREP call the page made.
fn bulk_calls(page: &Value) -> Vec<(u64, bool)> {
    page["responses"]
        .as_array()
        .expect("responses")
        .iter()
        .filter(|r| r["path"] == "/ofrep/v1/evaluate/flags")
        .map(|r| {
            (
                r["status"].as_u64().expect("status"),
                r["ifNoneMatch"].is_string(),
            )
        })
        .collect()
}

fn exposure_rows(server: &TestServer) -> BTreeSet<(String, String)> {
    let mut conn = server.conn();
    exposures::table
        .select((exposures::experiment_key, exposures::unit_id))
        .load::<(String, String)>(&mut *conn)
        .expect("exposures")
        .into_iter()
        .collect()
}

/// `(event_id, unit_id, name, value)` of every stored event.
fn event_rows(server: &TestServer) -> Vec<(String, String, String, Option<f64>)> {
    let mut conn = server.conn();
    events::table
        .select((
            events::event_id,
            events::unit_id,
            events::name,
            events::value,
        ))
        .order(events::event_id)
        .load(&mut *conn)
        .expect("events")
}

/// `(value, variant)` of `key` in a native `POST /api/v1/evaluate` answer.
fn native_flag<'a>(native: &'a Value, key: &str) -> (&'a Value, &'a Value) {
    let flag = native["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["key"] == key)
        .unwrap_or_else(|| panic!("{key} in {native}"));
    (&flag["value"], &flag["variant"])
}

fn exposure_set<'a>(users: impl IntoIterator<Item = &'a u64>) -> BTreeSet<(String, String)> {
    users
        .into_iter()
        .flat_map(|u| FLAGS.map(|key| (key.to_owned(), u.to_string())))
        .collect()
}

/// Valid launches on the allowed origin: ready provider, the ETag read
/// cross-origin and revalidated to 304, the event accepted.
fn check_valid(page: &Value) {
    let result = &page["result"];
    assert_eq!(result["setupError"], Value::Null, "{page}");
    assert_eq!(result["providerStatus"], "READY", "{page}");
    assert_eq!(result["revalidated"], result["flags"], "{page}");
    assert_eq!(bulk_calls(page), [(200, false), (304, true)], "{page}");
    assert_eq!(result["event"]["status"], 200, "{page}");
    assert_eq!(result["event"]["body"]["accepted"], 1, "{page}");
}

/// Refused initData: the provider's error path (fatal, the fallback value),
/// and the event refused.
fn check_refused(page: &Value) {
    let result = &page["result"];
    assert_eq!(result["providerStatus"], "FATAL", "{page}");
    for key in FLAGS {
        let flag = &result["flags"][key];
        assert_eq!(flag["value"], FALLBACK, "{page}");
        assert_eq!(flag["reason"], "ERROR", "{page}");
        assert_eq!(flag["errorCode"], "PROVIDER_FATAL", "{page}");
    }
    assert_eq!(bulk_calls(page), [(401, false)], "{page}");
    assert_eq!(result["event"]["status"], 401, "{page}");
}

fn blocked_by_cors(page: &Value) -> usize {
    page["console"]
        .as_array()
        .expect("console")
        .iter()
        .filter(|m| {
            m["text"]
                .as_str()
                .is_some_and(|t| t.contains("blocked by CORS policy"))
        })
        .count()
}

/// A page on an unlisted origin: the browser refuses the preflight, so no
/// response reaches the page and the calls fail as network errors.
fn check_unlisted(page: &Value) {
    let result = &page["result"];
    for key in FLAGS {
        assert_eq!(result["flags"][key]["value"], FALLBACK, "{page}");
        assert_eq!(result["flags"][key]["reason"], "ERROR", "{page}");
    }
    let event_error = result["event"]["error"].as_str().unwrap_or_default();
    assert!(event_error.contains("Failed to fetch"), "{page}");
    assert_eq!(page["responses"], json!([]), "{page}");
    assert_eq!(blocked_by_cors(page), 2, "evaluation and event: {page}");
}

/// Launches of `page.js` (valid ones, tampered and expired initData, an
/// unlisted origin) and of `examples/miniapp` in one browser. Valid launches
/// and the example show the variants the native API gives their verified
/// user, and their exposures and events are stored under that user whatever
/// `targetingKey`/`unit_id` they claim; the refused and blocked launches
/// store nothing at all.
async fn mini_app_in_chromium(backend: Backend) {
    let Some(chromium) = browser::prerequisites("tests/browser.rs") else {
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let (origin, page_server) = serve_page(dir.path().to_owned());
    let (unlisted, unlisted_server) = serve_page(dir.path().to_owned());
    let bot_token = format!(
        "{}:{}",
        rand::random_range(1_000_000..10_000_000u32),
        uuid::Uuid::new_v4().simple()
    );
    let mut server = TestServer::start_with(backend, settings(&bot_token, &origin));
    let demo: Vec<Value> =
        serde_json::from_str(include_str!("../bot/demo/flags.json")).expect("bot/demo/flags.json");
    for flag in demo
        .into_iter()
        .filter(|f| FLAGS.iter().any(|k| f["key"] == *k))
    {
        let (status, body) = server.call("POST", "/api/v1/flags", Role::Pm, flag).await;
        assert_eq!(status, 201, "{body}");
    }

    let ids = user_ids(VALID_PAGES + 6);
    let (victim, tampered, claimed, expired, blocked, example_user) =
        (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]);
    let valid = &ids[6..];
    let mut pages: Vec<Value> = valid
        .iter()
        .enumerate()
        .map(|(i, &user)| page(&format!("valid-{i}"), &origin, user, "valid", victim))
        .collect();
    let mut tampered_page = page("tampered", &origin, tampered, "tampered", victim);
    tampered_page["claimAs"] = json!(claimed);
    pages.push(tampered_page);
    pages.push(page("expired", &origin, expired, "expired", victim));
    pages.push(page("unlisted-origin", &unlisted, blocked, "valid", victim));
    let spec = json!({
        "verdictUrl": server.url(), "botToken": bot_token, "outDir": dir.path(), "pages": pages,
        "example": {"origin": origin, "user": telegram_user(example_user), "positions": POSITIONS},
    });
    let (out, runner) =
        actix_web::rt::task::spawn_blocking(move || browser::run("run.mjs", &chromium, &spec))
            .await
            .expect("runner thread");

    let mut page_events = Vec::new();
    for (i, user) in valid.iter().enumerate() {
        let page = report(&out, &format!("valid-{i}"));
        check_valid(page);
        assert_eq!(blocked_by_cors(page), 0, "{page}");
        let event_id = pages[i]["eventId"].as_str().expect("event id").to_owned();
        page_events.push((event_id, user.to_string(), "miniapp_auth".to_owned(), None));
    }
    page_events.sort_by(|a, b| a.0.cmp(&b.0));
    check_refused(report(&out, "tampered"));
    check_refused(report(&out, "expired"));
    check_unlisted(report(&out, "unlisted-origin"));
    let example = &out["example"];
    assert_eq!(
        example["greeting"],
        format!("Hi, User {example_user}!"),
        "{example}"
    );
    assert_eq!(example["imported"], "Imported 3 positions.", "{example}");
    assert_eq!(example["readied"], true, "{example}");
    assert_eq!(example["background"], THEMED_BACKGROUND, "{example}");
    assert_eq!(example["errors"], json!([]), "{example}");

    server.state.exposures.flush().await;
    assert_eq!(
        exposure_rows(&server),
        exposure_set(valid.iter().chain([&example_user]))
    );
    let (mut example_events, others): (Vec<_>, Vec<_>) = event_rows(&server)
        .into_iter()
        .partition(|e| e.1 == example_user.to_string());
    assert_eq!(others, page_events);
    example_events.sort_by(|a, b| a.2.cmp(&b.2));
    let example_events: Vec<_> = example_events.into_iter().map(|e| (e.2, e.3)).collect();
    assert_eq!(
        example_events,
        [
            ("miniapp_auth".to_owned(), None),
            ("portfolio_import".to_owned(), Some(3.0))
        ]
    );

    // Evaluated natively for the same users only now: these record exposures too.
    for (i, &user) in valid.iter().chain([&example_user]).enumerate() {
        let (status, native) = server
            .call(
                "POST",
                "/api/v1/evaluate",
                Role::Sdk,
                json!({"context": {"user_id": user.to_string()}}),
            )
            .await;
        assert_eq!(status, 200, "{native}");
        if user == example_user {
            assert_eq!(example["hint"], *native_flag(&native, "import_hint").0);
            assert_eq!(
                example["digestLayout"],
                *native_flag(&native, "digest_layout").0
            );
            continue;
        }
        let page = report(&out, &format!("valid-{i}"));
        for key in FLAGS {
            let (value, variant) = native_flag(&native, key);
            let seen = &page["result"]["flags"][key];
            assert_eq!(seen["variant"], *variant, "{key} of {user}: {page}");
            assert_eq!(seen["value"], *value, "{key} of {user}: {page}");
            assert_eq!(seen["errorCode"], Value::Null, "{key} of {user}: {page}");
        }
    }

    eprintln!(
        "browser test on {backend:?}: {:.1?} in all, runner {runner:.1?} (Chromium {}: {})",
        started.elapsed(),
        out["browser"].as_str().unwrap_or("?"),
        out["ms"]
    );
    server.stop().await;
    page_server.stop(false).await;
    unlisted_server.stop(false).await;
}

backend_tests!(mini_app_in_chromium);
