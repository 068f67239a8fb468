//! The OpenAPI 3.1 document: generated from the registered handlers, then
//! completed with the security schemes and the problem+json responses every
//! operation shares.

use std::sync::LazyLock;

use utoipa::OpenApi as _;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{ResponseBuilder, Responses};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr};
use utoipa_actix_web::AppExt;

/// Static parts of the document; paths come from the handlers' registration.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Verdict",
        description = "Feature flags, experiments, statistical results and an append-only decision log.\n\n\
            Authenticate with `Authorization: Bearer <jwt>`. Roles are ordered `sdk` < `analyst` < `pm` < `admin`; \
            each operation's security scope names the least role it accepts. Errors are RFC 7807 `application/problem+json`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    components(schemas(crate::http::Problem, verdict_core::FieldError)),
    tags(
        (name = "operations", description = "Health, readiness, metrics, this document"),
        (name = "session", description = "The caller's identity"),
        (name = "events", description = "Event ingestion (batched, idempotent)"),
        (name = "metrics", description = "The metric catalogue"),
        (name = "experiments", description = "Experiments: definition, lifecycle, phases"),
        (name = "flags", description = "Feature flags and their per-environment targeting"),
        (name = "segments", description = "Reusable audiences referenced by flag rules"),
        (name = "layers", description = "Mutual exclusion and holdouts across flags"),
        (name = "evaluation", description = "Flag evaluation, the SDK ruleset and exposures"),
        (name = "ofrep", description = "OpenFeature Remote Evaluation Protocol v1"),
        (name = "audit", description = "Every configuration change (admin)"),
        (name = "decisions", description = "The append-only decision log"),
        (name = "reports", description = "Decision SLA and the experimentation OKRs"),
        (name = "statistics", description = "Stateless statistics: sample-size planning and analysis of per-arm aggregates"),
    )
)]
pub struct ApiDoc;

/// The OpenAPI document generated from the registered handlers.
pub fn generate() -> OpenApi {
    let (_, mut api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::api::configure)
        .split_for_parts();
    finish(&mut api);
    api
}

/// The finished document, generated and serialized once.
pub fn document() -> &'static Document {
    static DOCUMENT: LazyLock<Document> = LazyLock::new(|| Document::new(&generate()));
    &DOCUMENT
}

/// The finished document, serialized.
#[derive(Debug, Clone)]
pub struct Document {
    /// The document as JSON.
    pub json: String,
}

impl Document {
    /// Serializes a finished document.
    pub fn new(api: &OpenApi) -> Self {
        Self {
            json: api.to_pretty_json().unwrap_or_else(|_| "{}".into()),
        }
    }
}

/// Shared problem responses, by status code: (component name, description).
const PROBLEMS: &[(&str, &str, &str)] = &[
    (
        "400",
        "BadRequest",
        "Malformed request: bad JSON, wrong type, unknown field or bad parameter",
    ),
    ("401", "Unauthorized", "Missing, malformed or expired token"),
    (
        "403",
        "Forbidden",
        "The token's role is below the operation's minimum role",
    ),
    (
        "413",
        "PayloadTooLarge",
        "Request body larger than the configured limit",
    ),
    ("415", "UnsupportedMediaType", "Request body is not JSON"),
    (
        "422",
        "ValidationFailed",
        "Well-formed request with invalid values; `field` names the first offender",
    ),
    (
        "500",
        "InternalError",
        "Unexpected error; the detail is opaque, quote `request_id`",
    ),
];

/// Adds security schemes and shared problem+json responses: 401/403 where an
/// operation is secured, 400/413/415/422 where it takes a body, 400 where it takes
/// parameters, 500 everywhere.
pub fn finish(api: &mut OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("JWT with claims `sub`, `role` and `exp`"))
                .build(),
        ),
    );
    components.add_security_scheme(
        "api_key",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-API-Key",
            "The same JWT, for OpenFeature providers that send an API key header",
        ))),
    );
    for (_, name, description) in PROBLEMS {
        components.responses.insert(
            (*name).to_owned(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(*description)
                    .content(
                        crate::http::PROBLEM_JSON,
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            ),
        );
    }
    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            add_problem_responses(operation);
        }
    }
}

fn add_problem_responses(operation: &mut Operation) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = operation.request_body.is_some();
    let has_params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    for (status, name, _) in PROBLEMS {
        let applies = match *status {
            "401" | "403" => secured,
            "413" | "415" | "422" => has_body,
            "400" => has_body || has_params,
            _ => true,
        };
        if applies {
            insert_ref(&mut operation.responses, status, name);
        }
    }
}

fn insert_ref(responses: &mut Responses, status: &str, name: &str) {
    responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))));
}
