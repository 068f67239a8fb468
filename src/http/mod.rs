//! HTTP plumbing shared by every route: problem+json errors, JSON bodies,
//! request ids, request metrics.

pub mod cors;
mod json;
mod metrics;
mod observe;
mod problem;
pub mod query;
pub mod request_id;
mod routes;

pub use json::{
    Json, RawBody, integral_floats_as_integers, parse as parse_json, path_error, query_error,
};
pub use metrics::HttpMetrics;
pub use observe::observe;
pub use problem::{ApiError, PROBLEM_JSON, Problem};
pub use query::{Moment, Query};
pub use routes::Routes;
