//! The binary's command line.

use std::process::Command;

#[test]
fn help_lists_the_configuration() {
    let out = Command::new(env!("CARGO_BIN_EXE_verdict-bot"))
        .arg("--help")
        .env_remove("BOT_TOKEN")
        .output()
        .expect("run verdict-bot --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "BOT_TOKEN",
        "VERDICT_URL",
        "VERDICT_TOKEN",
        "TELEGRAM_API_URL",
        "REDIS_URL",
        "BOT_DB",
        "BOT_MINIAPP_URL",
        "--bot-token",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}:\n{help}");
    }
}

#[test]
fn missing_token_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_verdict-bot"))
        .env_remove("BOT_TOKEN")
        .output()
        .expect("run verdict-bot");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bot-token"));
}

#[test]
fn a_mini_app_url_without_https_is_refused_at_startup() {
    let out = Command::new(env!("CARGO_BIN_EXE_verdict-bot"))
        .env("BOT_TOKEN", "123456:TEST")
        .env("BOT_MINIAPP_URL", "http://tma.example.com/")
        .output()
        .expect("run verdict-bot");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--miniapp-url") && err.contains("must start with https://"),
        "{err}"
    );
}
