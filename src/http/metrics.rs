//! Prometheus request metrics by route template and status.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Request count and latency histogram, labelled by method, route template and status.
#[derive(Clone)]
pub struct HttpMetrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

const LABELS: &[&str] = &["method", "route", "status"];
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

impl HttpMetrics {
    /// Registers the request metrics in a fresh registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("verdict_http_requests_total", "HTTP requests served"),
            LABELS,
        )
        .expect("valid counter definition");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "verdict_http_request_duration_seconds",
                "HTTP request latency in seconds",
            )
            .buckets(BUCKETS.to_vec()),
            LABELS,
        )
        .expect("valid histogram definition");
        registry
            .register(Box::new(requests.clone()))
            .expect("metric registered once");
        registry
            .register(Box::new(latency.clone()))
            .expect("metric registered once");
        Self {
            registry,
            requests,
            latency,
        }
    }

    /// The registry, for other components to register their own metrics.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Records one served request.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The Prometheus text exposition of every registered metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self::new()
    }
}
