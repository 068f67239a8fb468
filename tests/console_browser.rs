//! The console at `/ui` in a real browser, on SQLite and PostgreSQL: headless
//! Chromium (`tests/browser/console.mjs`) signs in through the login form and
//! opens every page over the demo data, and what the pages show must be the
//! API's numbers. It records a decision through the form, sees a form without
//! its CSRF token and an analyst's post refused, runs axe-core on every page
//! (a `serious` or `critical` violation fails) and writes full-page
//! screenshots at 375 and 1280 px to `target/console-screenshots/`; with
//! `UPDATE_SCREENSHOTS=1` the SQLite run also copies the two in the README's
//! `docs/screenshots/`. `tests/console.rs` checks the same pages in-process;
//! this is what a person's browser gets: the CSS, the forms and the cookies.
//!
//! Needs Node.js and Chromium as `tests/browser.rs` does (see
//! `verdict_testkit::browser`): skips loudly without them, fails in CI.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use common::{Backend, TestServer, backend_tests};
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict::state::Settings;
use verdict_testkit::{COMPARISON_FIELDS, browser};

/// The demo's experiments, each with a page of its own.
const EXPERIMENTS: [&str; 4] = [
    "cta_copy",
    "digest_layout",
    "import_hint",
    "vip_paywall_copy",
];
/// The breakdown page opened: an experiment and one of its dimensions.
const BREAKDOWN: (&str, &str) = ("cta_copy", "icp_segment");
/// Enough simulated users for every demo metric to have an interval.
const SIMULATED_USERS: usize = 2000;
/// The decision the PM records through the form.
const DECISION: (&str, &str) = ("import_hint", "iterate");
const RATIONALE: &str = "Hint helps imports but the lift is small; try a shorter copy";
const LINK: &str = "https://wiki.example/import-hint";
/// Screenshot widths, as the runner takes them.
const WIDTHS: [u32; 2] = [375, 1280];
const SCREENSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/console-screenshots");
const DOCS_SCREENSHOTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/screenshots");
/// The screenshots the README shows.
const PUBLISHED: [&str; 2] = ["experiment-vip_paywall_copy-1280", "experiments-375"];

async fn api(server: &TestServer, path: &str) -> Value {
    let (status, body) = server.call("GET", path, Role::Analyst, Value::Null).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn page<'a>(out: &'a Value, name: &str) -> &'a Value {
    out["pm"]["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no page {name}"))
}

fn f64_of(shown: &Value) -> Option<f64> {
    shown.as_str().and_then(|s| s.parse().ok())
}

/// Every page's axe violations printed, the test failing on a serious or
/// critical one.
fn check_accessibility(pages: &[Value]) {
    let mut failing = Vec::new();
    for p in pages {
        for v in p["violations"].as_array().expect("violations") {
            let nodes: Vec<String> = v["nodes"]
                .as_array()
                .expect("nodes")
                .iter()
                .map(|n| format!("    {}\n      {}", n["target"], n["summary"]))
                .collect();
            let line = format!(
                "{} at {} px: [{}] {} — {} ({})\n{}",
                p["name"],
                v["width"],
                v["impact"],
                v["id"],
                v["help"],
                v["helpUrl"],
                nodes.join("\n")
            );
            eprintln!("axe: {line}");
            if v["failing"] == true {
                failing.push(line);
            }
        }
    }
    assert!(
        failing.is_empty(),
        "serious or critical accessibility violations:\n{}",
        failing.join("\n")
    );
}

/// Each screenshot is a PNG exactly as wide as its viewport: nothing on the
/// page is wider than the screen (tables and charts scroll in their boxes).
fn check_screenshots(pages: &[Value]) {
    for p in pages {
        let shots = p["shots"].as_array().expect("shots");
        assert_eq!(shots.len(), WIDTHS.len(), "{}", p["name"]);
        for (shot, width) in shots.iter().zip(WIDTHS) {
            let file = shot.as_str().expect("path");
            let png = std::fs::read(file).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(&png[1..4], b"PNG", "{file}");
            let shown = u32::from_be_bytes(png[16..20].try_into().expect("IHDR width"));
            assert_eq!(shown, width, "{file}: the page is wider than the screen");
        }
    }
}

/// The list: every experiment the SLA report has, with its SLA state and
/// the recommendation its results give.
fn check_list(list: &Value, sla: &Value, results: &BTreeMap<&str, Value>) {
    let rows = list["experiments"].as_array().expect("rows");
    let shown: BTreeMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["key"].as_str().expect("key"), r))
        .collect();
    let reported: BTreeSet<&str> = sla["experiments"]
        .as_array()
        .expect("sla rows")
        .iter()
        .map(|r| r["experiment"].as_str().expect("experiment"))
        .collect();
    assert_eq!(shown.keys().copied().collect::<BTreeSet<_>>(), reported);
    assert_eq!(reported, EXPERIMENTS.into_iter().collect());
    for row in sla["experiments"].as_array().expect("sla rows") {
        let key = row["experiment"].as_str().expect("experiment");
        assert_eq!(shown[key]["sla"], row["status"], "{key}");
        assert_eq!(
            shown[key]["recommendation"], results[key]["recommendation"]["action"],
            "{key}"
        );
    }
}

/// An experiment page: units per arm, every comparison's lift, interval and
/// p-values as exact f64s, the recommended action, the SLA state and days
/// left (which run down between the API's answer and the page's, by at most
/// `elapsed_days`).
fn check_experiment(shown: &Value, api: &Value, sla: &Value, elapsed_days: f64) {
    let key = shown["path"].as_str().expect("path");
    let units: Vec<(&Value, String)> = shown["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|u| {
            (
                &u["arm"],
                u["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let want: Vec<(&Value, String)> = api["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .map(|a| (&a["variant"], a["units"].to_string()))
        .collect();
    assert_eq!(units, want, "{key}: units per arm");

    let rows = shown["comparisons"].as_array().expect("comparisons");
    let mut compared = 0;
    for metric in api["metrics"].as_array().expect("metrics") {
        let m = &metric["metric"];
        for c in metric["comparisons"].as_array().expect("comparisons") {
            let row = rows
                .iter()
                .find(|r| r["metric"] == *m && r["arm"] == c["arm"])
                .unwrap_or_else(|| panic!("{key}: no row for {m} {}", c["arm"]));
            for field in COMPARISON_FIELDS {
                let on_page = &row["fields"][field];
                match c[field].as_f64() {
                    Some(want) => assert_eq!(
                        f64_of(on_page),
                        Some(want),
                        "{key} {m} {} {field}",
                        c["arm"]
                    ),
                    None => assert_eq!(*on_page, "", "{key} {m} {} {field}", c["arm"]),
                }
            }
            compared += 1;
        }
    }
    assert_eq!(rows.len(), compared, "{key}: a row per comparison, no more");
    assert!(
        rows.iter()
            .any(|r| f64_of(&r["fields"]["ci_lower"]).is_some()),
        "{key}: with the demo traffic some interval is computed"
    );
    assert_eq!(
        shown["action"], api["recommendation"]["action"],
        "{key}: action"
    );
    assert_eq!(shown["sla"], sla["status"], "{key}: SLA");
    let left = f64_of(&shown["daysLeft"]).expect("days left shown");
    let reported = sla["days_left"].as_f64().expect("days left reported");
    assert!(
        left <= reported + 1e-9 && left >= reported - elapsed_days - 1e-9,
        "{key}: {left} days left on the page, {reported} in the API"
    );
}

/// The decision recorded through the form is the only one the API lists,
/// by the PM's token's subject, and the log, its page and the CSV show it.
fn check_decision(out: &Value, logged: &Value) {
    let pm = &out["pm"];
    assert_eq!(
        pm["withoutCsrf"]["status"], 403,
        "a form without its CSRF token: {}",
        pm["withoutCsrf"]
    );
    let refusal = pm["withoutCsrf"]["body"].as_str().unwrap_or_default();
    assert!(refusal.contains("security token"), "{refusal}");
    assert_eq!(pm["recorded"]["status"], 303, "{}", pm["recorded"]);
    let id = pm["recorded"]["id"]
        .as_str()
        .expect("sent on to the decision");

    let decisions = logged["decisions"].as_array().expect("decisions");
    assert_eq!(decisions.len(), 1, "refused posts record nothing: {logged}");
    let d = &decisions[0];
    assert_eq!(d["id"].to_string(), id);
    assert_eq!(d["experiment"], DECISION.0);
    assert_eq!(d["outcome"], DECISION.1);
    assert_eq!(d["rationale"], RATIONALE);
    assert_eq!(d["links"], json!([LINK]));
    assert_eq!(d["author"], format!("test-{}", Role::Pm));

    let log = page(out, "decisions");
    assert_eq!(log["decisions"], json!([id]));
    let csv = &pm["csv"];
    assert_eq!(csv["status"], 200, "{csv}");
    let body = csv["body"].as_str().expect("csv body");
    assert!(
        body.lines()
            .any(|l| l.starts_with(&format!("{id},{},{},", DECISION.0, DECISION.1))),
        "{body}"
    );
    let shown = page(out, "decision");
    assert_eq!(shown["outcome"], DECISION.1);
    assert_eq!(shown["rationale"], RATIONALE);
    assert!(
        !shown["units"].as_array().expect("units").is_empty(),
        "the frozen results are shown"
    );
}

/// The analyst's session has no form, and its post, with its own valid
/// CSRF token, is refused.
fn check_analyst(analyst: &Value) {
    assert_eq!(analyst["viewer"], format!("test-{0} ({0})", Role::Analyst));
    assert_eq!(analyst["decisionForms"], 0);
    assert!(
        analyst["csrf"].as_str().is_some_and(|t| t.len() >= 32)
            && analyst["csrf"] == analyst["cookie"],
        "the analyst posts the token its cookie holds: {analyst}"
    );
    assert_eq!(analyst["post"]["status"], 403, "{}", analyst["post"]);
    assert_eq!(analyst["post"]["location"], Value::Null);
    let refusal = analyst["post"]["body"].as_str().unwrap_or_default();
    assert!(
        refusal.contains("needs role"),
        "refused for the role, its CSRF token passed: {refusal}"
    );
}

/// Demo data (four running experiments, simulated users, daily snapshots),
/// then the browser: every page checked against the API, the decision form
/// used and refused, axe and screenshots on every page.
async fn console_in_chromium(backend: Backend) {
    let Some(chromium) = browser::prerequisites("tests/console_browser.rs") else {
        return;
    };
    let started = Instant::now();
    let mut server = TestServer::start_with(backend, Settings::default());
    let now = chrono::Utc::now().naive_utc();
    {
        let mut conn = server.conn();
        verdict::seed::seed_demo(&mut conn, now).expect("seed");
        verdict::seed::simulate_users(&mut conn, SIMULATED_USERS, 23, now).expect("simulate");
        verdict::seed::daily_snapshots(&mut conn, now).expect("snapshots");
    }
    let seeded = started.elapsed();

    let asked = Instant::now();
    let sla = api(&server, "/api/v1/reports/decision-sla").await;
    let mut results = BTreeMap::new();
    for key in EXPERIMENTS {
        results.insert(
            key,
            api(&server, &format!("/api/v1/experiments/{key}/results")).await,
        );
    }
    let breakdown = api(
        &server,
        &format!(
            "/api/v1/experiments/{}/results?dimension={}",
            BREAKDOWN.0, BREAKDOWN.1
        ),
    )
    .await;

    let mut pages = vec![json!({"name": "experiments", "path": "/ui"})];
    for key in EXPERIMENTS {
        pages.push(
            json!({"name": format!("experiment-{key}"), "path": format!("/ui/experiments/{key}")}),
        );
    }
    pages.push(json!({
        "name": format!("breakdown-{}", BREAKDOWN.0),
        "path": format!("/ui/experiments/{}?dimension={}", BREAKDOWN.0, BREAKDOWN.1),
    }));
    pages.push(json!({"name": "okr", "path": "/ui/reports/okr"}));
    pages.push(json!({"name": "flags", "path": "/ui/flags"}));
    let publish = backend == Backend::Sqlite
        && std::env::var_os("UPDATE_SCREENSHOTS").is_some_and(|v| v == "1");
    let spec = json!({
        "url": server.url(),
        "tokens": {"pm": server.token(Role::Pm), "analyst": server.token(Role::Analyst)},
        "screenshotDir": SCREENSHOTS,
        "publish": publish.then(|| json!({"dir": DOCS_SCREENSHOTS, "shots": PUBLISHED})),
        "pages": pages,
        "decision": {"experiment": DECISION.0, "outcome": DECISION.1, "rationale": RATIONALE, "links": LINK},
        "after": [
            {"name": "decisions", "path": "/ui/decisions"},
            {"name": "decision", "path": "/ui/decisions/{id}"},
        ],
    });
    let (out, runner) =
        actix_web::rt::task::spawn_blocking(move || browser::run("console.mjs", &chromium, &spec))
            .await
            .expect("runner thread");
    let elapsed_days = asked.elapsed().as_secs_f64() / 86_400.0;

    let shown = out["pm"]["pages"].as_array().expect("pages");
    assert_eq!(
        shown.len(),
        1 + 8 + 2,
        "login, the pages, the log and a decision"
    );
    for p in shown {
        assert_eq!(p["status"], 200, "{}: {}", p["name"], p["url"]);
        assert_eq!(
            p["errors"],
            json!([]),
            "{}: no script errors or failed loads",
            p["name"]
        );
        if p["name"] != "login" {
            assert_eq!(
                p["viewer"],
                format!("test-{0} ({0})", Role::Pm),
                "{}: signed in",
                p["name"]
            );
        }
    }
    check_accessibility(shown);
    check_screenshots(shown);

    check_list(page(&out, "experiments"), &sla, &results);
    let sla_rows = sla["experiments"].as_array().expect("sla rows");
    for key in EXPERIMENTS {
        let shown = page(&out, &format!("experiment-{key}"));
        let row = sla_rows
            .iter()
            .find(|r| r["experiment"] == key)
            .expect("sla row");
        check_experiment(shown, &results[key], row, elapsed_days);
        assert_eq!(shown["decisionForms"], 1, "{key}: a PM gets the form");
    }
    let slices: Vec<&Value> = breakdown["breakdowns"][0]["slices"]
        .as_array()
        .expect("slices")
        .iter()
        .map(|s| &s["value"])
        .collect();
    assert!(!slices.is_empty(), "{breakdown}");
    assert_eq!(
        page(&out, &format!("breakdown-{}", BREAKDOWN.0))["slices"],
        json!(slices)
    );
    let flags: BTreeSet<&str> = page(&out, "flags")["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(EXPERIMENTS.iter().all(|k| flags.contains(k)), "{flags:?}");

    let logged = api(&server, "/api/v1/decisions").await;
    check_decision(&out, &logged);
    check_analyst(&out["analyst"]);

    if publish {
        let want: Vec<String> = PUBLISHED
            .iter()
            .map(|name| format!("{DOCS_SCREENSHOTS}/{name}.png"))
            .collect();
        assert_eq!(out["published"], json!(want));
        for file in &want {
            let size = std::fs::metadata(file).map_or(0, |m| m.len());
            assert!(size > 0, "{file} published");
            eprintln!("published {file} ({} KiB)", size / 1024);
        }
    } else {
        assert_eq!(out["published"], json!([]));
    }
    let per_page: Vec<String> = shown
        .iter()
        .map(|p| format!("{} {}", p["name"].as_str().unwrap_or("?"), p["ms"]))
        .collect();
    eprintln!(
        "console browser test on {backend:?}, per page: {}",
        per_page.join(", ")
    );
    eprintln!(
        "console browser test on {backend:?}: {:.1?} in all, seeding {seeded:.1?}, runner {runner:.1?} (Chromium {}: {})",
        started.elapsed(),
        out["browser"].as_str().unwrap_or("?"),
        out["ms"]
    );
    server.stop().await;
}

backend_tests!(console_in_chromium);
