//! HTTP calls to the service: one function per endpoint, typed results.

use reqwest::header::{AUTHORIZATION, ETAG, HeaderValue, IF_NONE_MATCH};
use reqwest::{Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use verdict_core::{Context, Ruleset};

use crate::config::Config;
use crate::error::Error;
use crate::event::{EventRecord, ExposureRecord};
use crate::remote::EvaluateResponse;

pub(crate) const CONFIG_PATH: &str = "/api/v1/sdk/config";
pub(crate) const EVALUATE_PATH: &str = "/api/v1/evaluate";
pub(crate) const EVENTS_PATH: &str = "/api/v1/events";
pub(crate) const EXPOSURES_PATH: &str = "/api/v1/exposures";

/// Result of a conditional ruleset download.
#[derive(Debug)]
pub(crate) enum ConfigFetch {
    /// `304`: the cached ruleset is current.
    NotModified,
    /// `200`: a new ruleset and its `ETag`.
    Updated {
        ruleset: Box<Ruleset>,
        etag: Option<String>,
    },
}

/// `POST /api/v1/events` answer.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct EventsResponse {
    #[serde(default)]
    pub(crate) accepted: u64,
    #[serde(default)]
    pub(crate) duplicates: u64,
    #[serde(default)]
    pub(crate) rejected: Vec<Rejection>,
}

/// One event the service refused.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Rejection {
    #[serde(default)]
    pub(crate) index: Option<u64>,
    #[serde(default)]
    pub(crate) event_id: Option<String>,
    #[serde(default)]
    pub(crate) field: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
}

/// `POST /api/v1/exposures` answer.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ExposuresResponse {
    /// Exposures accepted (stored now or already known).
    #[serde(default)]
    pub(crate) accepted: u64,
    /// Units exposed for the first time in their experiment phase.
    #[serde(default)]
    pub(crate) first_exposures: Option<u64>,
}

/// An authenticated HTTP client for one service.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    base_url: String,
    auth: HeaderValue,
}

impl Transport {
    /// A client with the configured timeouts.
    pub(crate) fn new(config: &Config) -> Result<Self, Error> {
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "base_url must start with http:// or https://, got `{}`",
                config.base_url
            )));
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.token))
            .map_err(|_| Error::Config("token contains invalid header characters".into()))?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("verdict-sdk-rust/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            base_url: config.base_url.clone(),
            auth,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `GET /api/v1/sdk/config`, conditional on `etag`.
    pub(crate) async fn fetch_config(&self, etag: Option<&str>) -> Result<ConfigFetch, Error> {
        let mut req = self
            .http
            .get(self.url(CONFIG_PATH))
            .header(AUTHORIZATION, self.auth.clone());
        if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
            req = req.header(IF_NONE_MATCH, tag);
        }
        let resp = req.send().await.map_err(|e| transport(CONFIG_PATH, &e))?;
        if resp.status() == StatusCode::NOT_MODIFIED {
            return Ok(ConfigFetch::NotModified);
        }
        let etag = resp
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let ruleset: Ruleset = read_json(CONFIG_PATH, resp).await?;
        Ok(ConfigFetch::Updated {
            ruleset: Box::new(ruleset),
            etag,
        })
    }

    /// `POST /api/v1/evaluate` for `context`.
    pub(crate) async fn evaluate(&self, context: &Context) -> Result<EvaluateResponse, Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            context: &'a Context,
        }
        self.post(EVALUATE_PATH, &Body { context }).await
    }

    /// `POST /api/v1/events` with one batch.
    pub(crate) async fn post_events(
        &self,
        events: &[EventRecord],
    ) -> Result<EventsResponse, Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            events: &'a [EventRecord],
        }
        self.post(EVENTS_PATH, &Body { events }).await
    }

    /// `POST /api/v1/exposures` with one batch.
    pub(crate) async fn post_exposures(
        &self,
        exposures: &[ExposureRecord],
    ) -> Result<ExposuresResponse, Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            exposures: &'a [ExposureRecord],
        }
        self.post(EXPOSURES_PATH, &Body { exposures }).await
    }

    async fn post<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        path: &'static str,
        body: &B,
    ) -> Result<R, Error> {
        let resp = self
            .http
            .post(self.url(path))
            .header(AUTHORIZATION, self.auth.clone())
            .json(body)
            .send()
            .await
            .map_err(|e| transport(path, &e))?;
        read_json(path, resp).await
    }
}

fn transport(endpoint: &'static str, e: &reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "error"
    };
    Error::Transport {
        endpoint,
        message: format!("{kind}: {e}"),
    }
}

/// Reads a 2xx JSON body into `T`; other statuses become [`Error::Status`].
async fn read_json<T: DeserializeOwned>(
    endpoint: &'static str,
    resp: Response,
) -> Result<T, Error> {
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| transport(endpoint, &e))?;
    if !status.is_success() {
        return Err(Error::Status {
            endpoint,
            status: status.as_u16(),
            detail: problem_detail(&body),
        });
    }
    serde_json::from_slice(&body).map_err(|e| Error::Transport {
        endpoint,
        message: format!("malformed response body: {e}"),
    })
}

/// The `detail` (else `title`) of a problem+json body, else a body prefix.
fn problem_detail(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    field("detail")
        .or_else(|| field("title"))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            text.chars().take(200).collect()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_detail_prefers_detail_then_title_then_body() {
        assert_eq!(
            problem_detail(br#"{"title":"Bad Request","detail":"events[0].name: empty"}"#),
            "events[0].name: empty"
        );
        assert_eq!(problem_detail(br#"{"title":"Unavailable"}"#), "Unavailable");
        assert_eq!(problem_detail(b"gateway down"), "gateway down");
    }

    #[test]
    fn rejects_non_http_urls() {
        let cfg = Config::new("localhost:8080", "t");
        assert!(matches!(Transport::new(&cfg), Err(Error::Config(_))));
    }
}
