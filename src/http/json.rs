//! JSON request bodies and query strings whose errors name the offending field.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::QueryPayloadError;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use super::ApiError;

/// A JSON request body. Unlike `web::Json`, a type error or unknown field is
/// reported with the path of the field, and every failure is problem+json.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = is_json(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType(
                    "request body must be JSON (Content-Type: application/json)".into(),
                ));
            }
            let bytes = body.await.map_err(payload_error)?;
            parse(&bytes).map(Json)
        })
    }
}

/// Deserializes JSON, naming the path of the field that failed.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::BadRequest {
            field: None,
            message: "request body is empty; expected a JSON document".into(),
        });
    }
    // Most bodies are valid, and tracking the field path costs as much as
    // parsing: only a body that fails is parsed again to name the field.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    // JSON Schema counts `1.0` as an integer; serde does not. Retry with
    // integral numbers written as integers before reporting a failure.
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes)
        && integral_floats_as_integers(&mut value)
        && let Ok(parsed) = serde_json::from_value(value)
    {
        return Ok(parsed);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if inner.is_syntax() || inner.is_eof() {
            format!("malformed JSON: {inner}")
        } else {
            inner.to_string()
        };
        ApiError::BadRequest {
            field: (path != "." && path != "?").then_some(path),
            message,
        }
    })?;
    de.end().map_err(|e| ApiError::BadRequest {
        field: None,
        message: format!("malformed JSON: {e}"),
    })?;
    Ok(value)
}

/// Rewrites every float with no fractional part (within ±2⁶³) as an integer;
/// whether anything changed. Fields typed as floats accept integers, so only
/// integer fields see a difference.
pub fn integral_floats_as_integers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < 9.2e18 {
                *value = Value::from(f as i64);
                true
            } else {
                false
            }
        }
        // Every element is rewritten (no short-circuit), so count changes.
        Value::Array(items) => {
            items
                .iter_mut()
                .filter_map(|v| integral_floats_as_integers(v).then_some(()))
                .count()
                > 0
        }
        Value::Object(map) => {
            map.values_mut()
                .filter_map(|v| integral_floats_as_integers(v).then_some(()))
                .count()
                > 0
        }
        _ => false,
    }
}

fn is_json(req: &HttpRequest) -> bool {
    match req.headers().get(actix_web::http::header::CONTENT_TYPE) {
        None => true,
        Some(value) => value
            .to_str()
            .map(|v| {
                let essence = v.split(';').next().unwrap_or("").trim();
                essence.eq_ignore_ascii_case("application/json")
                    || essence.to_ascii_lowercase().ends_with("+json")
            })
            .unwrap_or(false),
    }
}

fn payload_error(error: actix_web::Error) -> ApiError {
    if error.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("request body exceeds the configured size limit".into())
    } else {
        ApiError::BadRequest {
            field: None,
            message: format!("cannot read request body: {error}"),
        }
    }
}

/// Maps a query-string deserialization failure to a 400 problem.
pub fn query_error(error: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let message = match &error {
        QueryPayloadError::Deserialize(e) => format!("invalid query string: {e}"),
        other => format!("invalid query string: {other}"),
    };
    ApiError::BadRequest {
        field: None,
        message,
    }
    .into()
}

/// Maps a path-parameter deserialization failure to a 400 problem.
pub fn path_error(error: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest {
        field: None,
        message: format!("invalid path parameter: {error}"),
    }
    .into()
}

/// A raw request body within the configured size limit, for handlers that parse
/// it themselves (OFREP reports parse errors in its own format).
#[derive(Debug)]
pub struct RawBody(pub web::Bytes);

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move { body.await.map(RawBody).map_err(payload_error) })
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Body {
        name: String,
        #[serde(default)]
        tags: Vec<u32>,
    }

    /// The parsed body, or the expected problem's field and message fragment.
    type Expected = Result<Body, (Option<&'static str>, &'static str)>;

    #[test]
    fn valid_bodies_parse_and_failures_name_the_field() {
        let cases: [(&str, Expected); 8] = [
            (
                r#"{"name": "a", "tags": [1.0, 2]}"#,
                Ok(Body {
                    name: "a".into(),
                    tags: vec![1, 2],
                }),
            ),
            (
                r#"{"name": "a", "tags": [1.5]}"#,
                Err((Some("tags[0]"), "invalid type")),
            ),
            (
                r#"{"name": "a", "tags": [1, 2]}"#,
                Ok(Body {
                    name: "a".into(),
                    tags: vec![1, 2],
                }),
            ),
            (
                r#"{"name": "a", "tags": [1, "x"]}"#,
                Err((Some("tags[1]"), "invalid type")),
            ),
            (
                r#"{"name": "a", "extra": 1}"#,
                Err((Some("extra"), "unknown field")),
            ),
            (r#"{"tags": []}"#, Err((None, "missing field `name`"))),
            (r#"{"name": "a"} trailing"#, Err((None, "malformed JSON"))),
            (r#"{"name": "a""#, Err((None, "malformed JSON"))),
        ];
        for (raw, expected) in cases {
            match (parse::<Body>(raw.as_bytes()), expected) {
                (Ok(body), Ok(want)) => assert_eq!(body, want, "{raw}"),
                (Err(ApiError::BadRequest { field, message }), Err((want_field, want_msg))) => {
                    assert_eq!(field.as_deref(), want_field, "{raw}: {message}");
                    assert!(message.contains(want_msg), "{raw}: {message}");
                }
                (got, want) => panic!("{raw}: got {got:?}, want {want:?}"),
            }
        }
    }
}
