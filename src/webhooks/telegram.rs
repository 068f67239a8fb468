//! The outbox's Telegram channel: the bot it sends as, the `sendMessage` body
//! it queues, and what the Bot API's answers mean for retries.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

/// A bot token. It is a credential (it is also in every Bot API URL), so its
/// `Debug` is redacted and nothing here formats it into a message or a log.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

impl BotToken {
    /// A token, if `raw` is not blank.
    pub fn new(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("the bot token is empty".into());
        }
        Ok(Self(raw.to_owned()))
    }
}

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotToken(<redacted>)")
    }
}

/// The bot that sends Telegram deliveries, and how they are retried.
#[derive(Debug, Clone)]
pub struct TelegramBot {
    /// Bot API base URL: `https://api.telegram.org`, or a local Bot API server.
    pub api_url: String,
    /// The bot's token.
    pub token: BotToken,
    /// Attempts before a delivery is marked failed.
    pub max_attempts: i32,
    /// Backoff before the second attempt; doubles each time (capped at one
    /// hour). A 429's `retry_after` replaces it.
    pub base_backoff: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl TelegramBot {
    /// The `sendMessage` URL. It holds the token: never log it.
    pub(super) fn send_message_url(&self) -> String {
        format!(
            "{}/bot{}/sendMessage",
            self.api_url.trim_end_matches('/'),
            self.token.0
        )
    }
}

/// The `sendMessage` body of an HTML message to `chat` (a numeric id or an
/// `@channel` name), without link previews: the digest links to several pages.
pub(super) fn send_message_body(chat: &str, text: &str) -> Value {
    let chat_id = chat
        .parse::<i64>()
        .map_or_else(|_| Value::from(chat), Value::from);
    json!({
        "chat_id": chat_id,
        "text": text,
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
    })
}

/// Why Telegram did not take a message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Refusal {
    /// For the delivery log: the status and Telegram's `description`.
    pub error: String,
    /// Flood control (429): the next attempt must wait at least this long.
    pub retry_after: Option<Duration>,
}

#[derive(Deserialize)]
struct ErrorBody {
    description: Option<String>,
    parameters: Option<ErrorParameters>,
}

#[derive(Deserialize)]
struct ErrorParameters {
    retry_after: Option<u64>,
}

/// Reads a Bot API answer: a 2xx took the message; otherwise the error with
/// its `description`, and on 429 the `parameters.retry_after` seconds.
pub(super) fn read_answer(status: u16, body: &[u8]) -> Result<(), Refusal> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let description = parsed.as_ref().and_then(|b| b.description.as_deref());
    let retry_after = parsed
        .as_ref()
        .and_then(|b| b.parameters.as_ref())
        .and_then(|p| p.retry_after)
        .filter(|_| status == 429)
        .map(Duration::from_secs);
    Err(Refusal {
        error: match description {
            Some(d) => format!("Telegram answered {status}: {d}"),
            None => format!("Telegram answered {status}"),
        },
        retry_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Delivered, or the logged error and `retry_after` seconds.
    type Expected = Result<(), (&'static str, Option<u64>)>;

    #[test]
    fn answers_map_to_delivered_retry_after_or_error() {
        let flood = br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
        let cases: [(u16, &[u8], Expected); 6] = [
            (200, br#"{"ok":true,"result":{}}"#, Ok(())),
            (
                429,
                flood,
                Err((
                    "Telegram answered 429: Too Many Requests: retry after 7",
                    Some(7),
                )),
            ),
            (429, b"", Err(("Telegram answered 429", None))),
            (
                400,
                br#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#,
                Err(("Telegram answered 400: Bad Request: chat not found", None)),
            ),
            (
                400,
                br#"{"ok":false,"description":"odd","parameters":{"retry_after":3}}"#,
                Err(("Telegram answered 400: odd", None)),
            ),
            (
                502,
                b"<html>Bad Gateway</html>",
                Err(("Telegram answered 502", None)),
            ),
        ];
        for (status, body, expected) in cases {
            let expected = expected.map_err(|(error, after)| Refusal {
                error: error.into(),
                retry_after: after.map(Duration::from_secs),
            });
            assert_eq!(read_answer(status, body), expected, "{status}");
        }
    }

    #[test]
    fn token_is_redacted_and_in_the_url_only() {
        let bot = TelegramBot {
            api_url: "http://127.0.0.1:8081/".into(),
            token: BotToken::new(" 123:secret ").expect("token"),
            max_attempts: 3,
            base_backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
        };
        assert!(!format!("{bot:?}").contains("123:secret"), "{bot:?}");
        assert_eq!(
            bot.send_message_url(),
            "http://127.0.0.1:8081/bot123:secret/sendMessage"
        );
        assert!(BotToken::new("  ").is_err());
    }

    #[test]
    fn numeric_chats_are_sent_as_numbers() {
        let cases = [
            ("-1001234567890", json!(-1_001_234_567_890_i64)),
            ("42", json!(42)),
            ("@verdict_alerts", json!("@verdict_alerts")),
        ];
        for (chat, expected) in cases {
            let body = send_message_body(chat, "hi");
            assert_eq!(body["chat_id"], expected, "{chat}");
            assert_eq!(
                (
                    &body["text"],
                    &body["parse_mode"],
                    &body["disable_web_page_preview"]
                ),
                (&json!("hi"), &json!("HTML"), &json!(true))
            );
        }
    }
}
