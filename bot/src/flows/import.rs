//! `/import`: shows the `import_hint` variant, then parses the pasted
//! portfolio and records `portfolio_import` with its outcome.

use serde_json::json;

use super::{HandlerResult, Turn};
use crate::portfolio;
use crate::session::Step;

/// Asks for the portfolio, with the hint from `import_hint`.
pub(super) async fn start(turn: &mut Turn) -> HandlerResult {
    let hint = turn.exp.import_hint(&turn.viewer);
    turn.save(Step::AwaitImport).await;
    turn.say(format!(
        "📥 Import your portfolio\n\n{hint}\n\nSend /cancel to stop."
    ))
    .await
}

/// The user's reply while an import is pending.
pub(super) async fn receive(turn: &mut Turn, text: Option<&str>) -> HandlerResult {
    let Some(text) = text else {
        turn.track(
            "portfolio_import",
            None,
            json!({"success": false, "error": "not_text"}),
        );
        return turn
            .say("Please paste the positions as text, one per line, or /cancel.")
            .await;
    };
    match portfolio::parse(text) {
        Ok(positions) => {
            let n = positions.len();
            turn.save(Step::Idle).await;
            turn.track(
                "portfolio_import",
                Some(n as f64),
                json!({"success": true, "positions": n}),
            );
            let symbols: Vec<&str> = positions
                .iter()
                .take(10)
                .map(|p| p.symbol.as_str())
                .collect();
            let more = if n > symbols.len() { ", …" } else { "" };
            turn.say(format!(
                "✅ Imported {n} position{}: {}{more}",
                if n == 1 { "" } else { "s" },
                symbols.join(", ")
            ))
            .await
        }
        Err(e) => {
            turn.track(
                "portfolio_import",
                None,
                json!({"success": false, "error": e.code()}),
            );
            turn.say(format!(
                "⚠️ Couldn't import: {e}. Fix it and send again, or /cancel."
            ))
            .await
        }
    }
}
