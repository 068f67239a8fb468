//! Middleware giving every request an id, a tracing span and a metrics sample.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use tracing::Instrument;

use super::{HttpMetrics, request_id};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Assigns the request id (the caller's `X-Request-Id` if sane, else a new UUID),
/// serves the request inside a span carrying it, echoes it in the response, and
/// records count and latency by route template.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let metrics = req.app_data::<web::Data<HttpMetrics>>().cloned();
    let method = req.method().to_string();
    let span = tracing::info_span!("request", request_id = %id, %method, path = %req.path());
    let mut response = request_id::scope(id.clone(), next.call(req).instrument(span)).await?;
    let status = response.status().as_u16();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    if let Some(metrics) = metrics {
        metrics.observe(&method, &route, status, started.elapsed().as_secs_f64());
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    tracing::debug!(request_id = %id, %method, %route, status, "served");
    Ok(response)
}
