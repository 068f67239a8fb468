//! Reads a few flags and tracks an event against a running Verdict service.
//!
//! ```sh
//! TOKEN=$(cargo run -q -- token --role sdk --subject demo --environment production)
//! VERDICT_URL=http://127.0.0.1:8080 VERDICT_TOKEN=$TOKEN \
//!     cargo run -p verdict-sdk --example quickstart
//! ```

use std::time::Duration;

use verdict_sdk::{Client, ContextBuilder, Event};

#[tokio::main]
async fn main() -> Result<(), verdict_sdk::Error> {
    let url = std::env::var("VERDICT_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let token = std::env::var("VERDICT_TOKEN").unwrap_or_default();
    let client = Client::builder(url, token)
        .refresh_interval(Duration::from_secs(30))
        .build()?;
    if !client.wait_ready(Duration::from_secs(3)).await {
        eprintln!("no ruleset yet: serving defaults");
    }

    let ctx = ContextBuilder::new()
        .unit_id("42")
        .attribute("tier", "vip")
        .attribute("language", "ru")
        .build();
    let copy = client.string_value("cta_copy", &ctx, "Try Pro free");
    let details = client.variant("cta_copy", &ctx);
    println!(
        "cta_copy = {copy:?} (variant {:?}, reason {})",
        details.variant,
        details.reason.as_ofrep_str()
    );
    let dark = client.bool_value("dark_mode", &ctx, false);
    println!("dark_mode = {dark}");

    let id = client.track(Event::new("cta_click", "42").value(1.0));
    println!("tracked event {id}");
    if let Err(e) = client.close().await {
        eprintln!("close: {e}");
    }
    println!("{:?}", client.metrics());
    Ok(())
}
