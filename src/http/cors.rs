//! CORS for the client-facing routes only (evaluation, OFREP, events), which
//! a Telegram Mini App calls from its own web origin. Management routes never
//! grant a cross-origin call: a browser on another origin cannot reach them.
//!
//! Written here rather than with `actix-cors`: that middleware wraps a whole
//! app or scope, while these routes sit beside management routes on the root.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

/// Seconds a browser may cache a preflight answer.
pub const MAX_AGE_SECS: u32 = 600;

/// Request headers a client route accepts cross-origin.
pub const ALLOWED_HEADERS: &str = "Authorization, Content-Type, If-None-Match";

/// Response headers a cross-origin page may read.
pub const EXPOSED_HEADERS: &str = "ETag, Retry-After, X-Request-Id";

/// The allowed origins (exact, without a trailing slash; `*` allows any).
#[derive(Debug, Clone, Default)]
pub struct CorsOrigins(pub Vec<String>);

impl CorsOrigins {
    fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|o| o == "*" || o == origin)
    }
}

/// Whether `path` is a client-facing route (the routes a Mini App calls).
pub fn is_client_route(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/evaluate" | "/api/v1/events" | "/ofrep/v1/evaluate/flags"
    ) || path
        .strip_prefix("/ofrep/v1/evaluate/flags/")
        .is_some_and(|key| !key.is_empty() && !key.contains('/'))
}

fn allowed_origin(req: &ServiceRequest) -> Option<HeaderValue> {
    if !is_client_route(req.path()) {
        return None;
    }
    let origins = req.app_data::<web::Data<CorsOrigins>>()?;
    let origin = req.headers().get(header::ORIGIN)?;
    origin
        .to_str()
        .ok()
        .filter(|o| origins.allows(o))
        .map(|_| origin.clone())
}

fn grant(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// Answers a client route's preflight from an allowed origin, and marks its
/// responses to such an origin readable; leaves everything else untouched
/// (no CORS header, so the browser refuses it).
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let origin = allowed_origin(&req);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if let (Some(origin), true) = (&origin, preflight) {
        let asks_post = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .is_some_and(|m| m.as_bytes() == b"POST");
        let mut response = HttpResponse::build(if asks_post {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::METHOD_NOT_ALLOWED
        });
        if asks_post {
            response
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "POST"))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_SECS.to_string()));
        }
        let mut response = response.finish();
        grant(response.headers_mut(), origin.clone());
        return Ok(req.into_response(response).map_into_right_body());
    }
    let mut response = next.call(req).await?;
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        grant(headers, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
    Ok(response.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_routes_are_exactly_the_four() {
        for (path, client) in [
            ("/api/v1/evaluate", true),
            ("/api/v1/events", true),
            ("/ofrep/v1/evaluate/flags", true),
            ("/ofrep/v1/evaluate/flags/cta_copy", true),
            ("/ofrep/v1/evaluate/flags/", false),
            ("/ofrep/v1/evaluate/flags/a/b", false),
            ("/api/v1/evaluate/cta_copy", false),
            ("/api/v1/flags", false),
            ("/api/v1/decisions", false),
            ("/api/v1/events/", false),
        ] {
            assert_eq!(is_client_route(path), client, "{path}");
        }
    }
}
