//! RFC 7807 problem details: the one error type at the HTTP boundary.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use verdict_core::FieldError;

use super::request_id;

/// Seconds a client is told to wait before retrying a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

/// The media type of every error response.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 7807 problem document (`application/problem+json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation",
    "title": "Request validation failed",
    "status": 422,
    "detail": "weights must sum to 100, got 90",
    "field": "weights",
    "errors": [{"field": "weights", "message": "weights must sum to 100, got 90"}]
}))]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, human-readable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// Explanation specific to this occurrence.
    pub detail: String,
    /// For validation failures: the (first) offending field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For validation failures: every offending field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// The request id, to find this request in the logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Every error an HTTP handler can return; rendered as problem+json.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials, insufficient role (403).
    #[error("{0}")]
    Forbidden(String),
    /// The addressed resource does not exist (404).
    #[error("{0}")]
    NotFound(String),
    /// The request is syntactically malformed: bad JSON, wrong type, unknown field,
    /// bad query parameter (400). `field` names the offending field when known.
    #[error("{message}")]
    BadRequest {
        /// The offending field, when known.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// Well-formed but semantically invalid input (422).
    #[error("{}", summarize(.0))]
    Validation(Vec<FieldError>),
    /// The path exists but does not answer this method (405, with `Allow`).
    #[error("{method} is not allowed here; this path answers {}", allowed.join(", "))]
    MethodNotAllowed {
        /// The request's method.
        method: String,
        /// The methods the path answers.
        allowed: Vec<&'static str>,
    },
    /// The request conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the configured limit (413).
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body is not JSON (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The caller sent more than its rate allows (429, with `Retry-After`).
    #[error("{message}")]
    TooManyRequests {
        /// What limit was hit.
        message: String,
        /// Whole seconds until the request would fit.
        retry_after_secs: u64,
    },
    /// A dependency (the database) is unavailable (503).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (500). The message is logged, never returned.
    #[error("internal error: {0}")]
    Internal(String),
}

fn summarize(errors: &[FieldError]) -> String {
    match errors {
        [] => "request validation failed".into(),
        [one] => format!("{}: {}", one.field, one.message),
        [first, rest @ ..] => format!(
            "{}: {} (and {} more)",
            first.field,
            first.message,
            rest.len()
        ),
    }
}

impl ApiError {
    /// A 400 for a malformed field.
    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A 422 for a single invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// A 500 wrapping any displayable error.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::Internal(error.to_string())
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Self::Unauthorized(_) => ("unauthorized", "Authentication required"),
            Self::Forbidden(_) => ("forbidden", "Insufficient role"),
            Self::NotFound(_) => ("not-found", "Resource not found"),
            Self::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            Self::BadRequest { .. } => ("bad-request", "Malformed request"),
            Self::Validation(_) => ("validation", "Request validation failed"),
            Self::Conflict(_) => ("conflict", "Conflict with current state"),
            Self::PayloadTooLarge(_) => ("payload-too-large", "Request body too large"),
            Self::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            Self::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            Self::Unavailable(_) => ("unavailable", "Service unavailable"),
            Self::Internal(_) => ("internal", "Internal server error"),
        }
    }

    /// The problem document for this error.
    pub fn to_problem(&self) -> Problem {
        let (slug, title) = self.slug_and_title();
        let request_id = request_id::current();
        let detail = match self {
            Self::Internal(message) => {
                tracing::error!(request_id = request_id.as_deref(), %message, "internal error");
                "an internal error occurred; quote the request id when reporting it".to_owned()
            }
            other => other.to_string(),
        };
        let (field, errors) = match self {
            Self::BadRequest { field, .. } => (field.clone(), None),
            Self::Validation(errors) => (
                errors.first().map(|e| e.field.clone()),
                Some(errors.clone()),
            ),
            _ => (None, None),
        };
        Problem {
            kind: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail,
            field,
            errors,
            request_id,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        match self {
            Self::Unauthorized(_) => {
                response.insert_header(("WWW-Authenticate", "Bearer"));
            }
            Self::Unavailable(_) => {
                response.insert_header(("Retry-After", RETRY_AFTER_SECS.to_string()));
            }
            Self::TooManyRequests {
                retry_after_secs, ..
            } => {
                response.insert_header(("Retry-After", retry_after_secs.to_string()));
            }
            Self::MethodNotAllowed { allowed, .. } => {
                response.insert_header(("Allow", allowed.join(", ")));
            }
            _ => {}
        }
        let body = serde_json::to_string(&self.to_problem()).unwrap_or_else(|_| {
            format!(
                r#"{{"title":"error","status":{}}}"#,
                self.status_code().as_u16()
            )
        });
        response.body(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_detail_is_opaque() {
        let problem = ApiError::internal("password=hunter2 leaked").to_problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("hunter2"));
    }

    #[test]
    fn validation_names_first_field_and_lists_all() {
        let problem = ApiError::Validation(vec![
            FieldError::new("key", "must be a slug"),
            FieldError::new("weights", "must sum to 100"),
        ])
        .to_problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.field.as_deref(), Some("key"));
        assert_eq!(problem.errors.as_ref().map(Vec::len), Some(2));
        assert_eq!(problem.detail, "key: must be a slug (and 1 more)");
    }
}
