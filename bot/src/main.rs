//! Telegram bot whose copy and paywall come from Verdict experiments.

fn main() {}
