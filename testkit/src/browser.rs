//! Headless Chromium for the browser tests: the Node.js runners in
//! `tests/browser` (playwright-core, never downloading a browser of its own)
//! are started from here, one at a time, so every browser test finds its
//! prerequisites and reports a missing one the same way.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The runners' folder, with its `package.json`.
pub const BROWSER_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/browser");

/// Chromium to launch, once Node.js and `tests/browser/node_modules` are
/// there; `None` (after a loud message naming `test`) when something is
/// missing outside CI, so the suite still runs on a fresh machine. With `CI`
/// set a missing prerequisite fails the test.
pub fn prerequisites(test: &str) -> Option<PathBuf> {
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/bin/chromium".into());
    let missing = if !chromium.is_file() {
        Some(format!("Chromium not found at {}", chromium.display()))
    } else if Command::new("node").arg("--version").output().is_err() {
        Some("Node.js (`node`) not found".to_owned())
    } else {
        None
    };
    if let Some(why) = missing {
        assert!(
            std::env::var_os("CI").is_none(),
            "{why}: the browser test must run in CI (CI is set)"
        );
        // Straight to stderr, not `eprintln!`: the test harness captures that
        // for passing tests, and a skip must be seen.
        let bar = "!".repeat(78);
        let _ = writeln!(
            std::io::stderr(),
            "\n{bar}\nSKIPPED {test}: {why}.\nInstall chromium and Node.js (or set CHROMIUM=/path/to/chromium) to run it;\nwith CI set this is a failure.\n{bar}\n"
        );
        return None;
    }
    install_node_modules();
    Some(chromium)
}

/// `npm ci` once per test process (both backends' tests ask), never
/// downloading Playwright's own browsers.
fn install_node_modules() {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one = INSTALL.lock().unwrap_or_else(PoisonError::into_inner);
    if Path::new(BROWSER_DIR).join("node_modules").is_dir() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(BROWSER_DIR)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .status()
        .expect("npm runs");
    assert!(status.success(), "npm ci in tests/browser failed");
}

/// Runs the runner `script` (in [`BROWSER_DIR`]) with `spec` in
/// `BROWSER_SPEC`; its JSON report on stdout and how long it ran. One browser
/// at a time: two backends' Chromiums side by side on a small machine only
/// make both slow.
pub fn run(script: &str, chromium: &Path, spec: &Value) -> (Value, Duration) {
    static ONE_BROWSER: Mutex<()> = Mutex::new(());
    let _one = ONE_BROWSER.lock().unwrap_or_else(PoisonError::into_inner);
    let started = Instant::now();
    let out = Command::new("node")
        .arg(script)
        .current_dir(BROWSER_DIR)
        .env("BROWSER_SPEC", spec.to_string())
        .env("CHROMIUM", chromium)
        .output()
        .expect("node runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script} failed: {stderr}");
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script} printed no JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (report, started.elapsed())
}
