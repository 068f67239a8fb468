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
    components(schemas(crate::http::Problem, verdict_core::FieldError, crate::http::Moment)),
    tags(
        (name = "operations", description = "Health, readiness, metrics, this document"),
        (name = "session", description = "The caller's identity"),
        (name = "events", description = "Event ingestion (batched, idempotent)"),
        (name = "metrics", description = "The metric catalogue"),
        (name = "data-sources", description = "Warehouses metrics are computed on, in place (admin)"),
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
        let mut value = serde_json::to_value(api).unwrap_or_default();
        widen_unsigned(&mut value);
        Self {
            json: serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".into()),
        }
    }
}

/// utoipa documents a `u32` as `int32` from 0 (or from a stated minimum),
/// which clients read as at most 2³¹ − 1, while serde accepts up to 2³² − 1:
/// state the real range.
fn widen_unsigned(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            let unsigned = map.get("format").and_then(|f| f.as_str()) == Some("int32")
                && map
                    .get("minimum")
                    .and_then(serde_json::Value::as_f64)
                    .is_some_and(|m| m >= 0.0)
                && !map.contains_key("maximum");
            if unsigned {
                map.remove("format");
                map.insert("maximum".into(), u32::MAX.into());
            }
            map.values_mut().for_each(widen_unsigned);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(widen_unsigned),
        _ => {}
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
    (
        "404",
        "NotFound",
        "The addressed entity (or the token's environment) does not exist",
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
    (
        "503",
        "Unavailable",
        "The database is unreachable; nothing was stored. Retry after `Retry-After` seconds",
    ),
];

/// Adds security schemes and shared problem+json responses: 401/403/503 where
/// an operation is secured (every secured operation reads the database or a
/// ruleset of the token's environment), 404 where it addresses an entity or
/// an environment, 413/415 where it takes a body, 400/422 where it takes a
/// body or parameters, 500 everywhere; flattens responses that extend a
/// request type; and links each created entity to the operations on it.
pub fn finish(api: &mut OpenApi) {
    flatten_extensions(api);
    close_variants(api);
    refine(api);
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
    components.add_security_scheme(
        "tma",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "`tma <initData>`: a Telegram Mini App's launch data, signed by Telegram for one of \
             the deployment's bots (`VERDICT_TELEGRAM_BOT_TOKEN` or `VERDICT_TELEGRAM_BOT_ID`). \
             Its verified user is the unit evaluated and the unit of every event sent.",
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
    for (path, item) in api.paths.paths.iter_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            add_problem_responses(path, operation);
        }
    }
    add_links(api);
}

fn add_problem_responses(path: &str, operation: &mut Operation) {
    use utoipa::openapi::path::ParameterIn;
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_body = operation.request_body.is_some();
    let params = operation.parameters.as_deref().unwrap_or_default();
    let has_params = !params.is_empty();
    let addresses = params
        .iter()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path))
        || path.contains("/evaluate")
        || path.ends_with("/sdk/config");
    for (status, name, _) in PROBLEMS {
        let applies = match *status {
            "401" | "403" | "503" => secured,
            "404" => addresses,
            "413" | "415" => has_body,
            "400" | "422" => has_body || has_params,
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

/// A stored definition is served as the definition plus its bookkeeping
/// (`#[serde(flatten)]`), which utoipa documents as `allOf` of the two. The
/// definition's request schema forbids other properties, so no response
/// could validate against that `allOf`: each such schema is replaced by one
/// object with the properties and requirements of all its parts.
fn flatten_extensions(api: &mut OpenApi) {
    use utoipa::openapi::schema::{AdditionalProperties, Object, Schema};
    let Some(components) = api.components.as_mut() else {
        return;
    };
    let resolve = |schemas: &std::collections::BTreeMap<String, RefOr<Schema>>,
                   part: &RefOr<Schema>| {
        match part {
            RefOr::T(Schema::Object(o)) => Some(o.clone()),
            RefOr::Ref(r) => {
                let name = r.ref_location.rsplit('/').next()?;
                match schemas.get(name)? {
                    RefOr::T(Schema::Object(o)) => Some(o.clone()),
                    _ => None,
                }
            }
            _ => None,
        }
    };
    let flattened: Vec<(String, Object)> = components
        .schemas
        .iter()
        .filter_map(|(name, schema)| {
            let RefOr::T(Schema::AllOf(all)) = schema else {
                return None;
            };
            let mut merged = Object::new();
            merged.description = all.description.clone();
            for part in &all.items {
                let part = resolve(&components.schemas, part)?;
                merged.properties.extend(part.properties);
                merged.required.extend(part.required);
            }
            merged.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            Some((name.clone(), merged))
        })
        .collect();
    for (name, object) in flattened {
        components
            .schemas
            .insert(name, RefOr::T(Schema::Object(object)));
    }
}

/// Enums with struct variants (`MetricDefinition`, internally tagged and
/// `deny_unknown_fields`; `Serve`, externally tagged) refuse any other
/// property, but utoipa leaves their variants open: close every inline object
/// variant of a component `oneOf`, so the document says what serde does.
fn close_variants(api: &mut OpenApi) {
    use utoipa::openapi::schema::{AdditionalProperties, Schema};
    let Some(components) = api.components.as_mut() else {
        return;
    };
    for schema in components.schemas.values_mut() {
        let RefOr::T(Schema::OneOf(one_of)) = schema else {
            continue;
        };
        for item in &mut one_of.items {
            if let RefOr::T(Schema::Object(object)) = item
                && !object.properties.is_empty()
            {
                object.additional_properties =
                    Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
}

/// What derive attributes cannot say: a flag's environments are named
/// `production` or `staging`; an OFREP body is optional (the protocol's
/// providers may send none).
fn refine(api: &mut OpenApi) {
    use utoipa::openapi::Required;
    use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, Type};
    if let Some(components) = api.components.as_mut() {
        // Events are checked one by one: any element is taken into the batch
        // and, unless it is a valid event, listed in `rejected`.
        if let Some(RefOr::T(Schema::Object(batch))) = components.schemas.get_mut("EventBatch")
            && let Some(RefOr::T(Schema::Array(events))) = batch.properties.get_mut("events")
        {
            let element = AnyOfBuilder::new()
                .item(Ref::from_schema_name("EventIn"))
                .item(utoipa::openapi::schema::empty())
                .description(Some(
                    "An event (`EventIn`). Any other value is listed in `rejected` while the \
                     rest of the batch is stored.",
                ));
            *events = ArrayBuilder::new()
                .items(element)
                .description(events.description.clone())
                .build();
        }
        for name in ["FlagRequest", "FlagResponse"] {
            let Some(RefOr::T(Schema::Object(flag))) = components.schemas.get_mut(name) else {
                continue;
            };
            let Some(RefOr::T(Schema::Object(environments))) =
                flag.properties.get_mut("environments")
            else {
                continue;
            };
            let names = ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(crate::flags::ENVIRONMENTS))
                .build();
            environments.property_names = Some(Box::new(Schema::Object(names)));
        }
    }
    for path in ["/ofrep/v1/evaluate/flags", "/ofrep/v1/evaluate/flags/{key}"] {
        if let Some(RefOr::T(body)) = api
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.request_body.as_mut())
        {
            body.required = Some(Required::False);
        }
    }
}

/// OpenAPI links from each creating operation to the operations on what it
/// created: clients (and schemathesis' stateful phase) follow them with the
/// created key or id.
fn add_links(api: &mut OpenApi) {
    use utoipa::openapi::link::LinkBuilder;
    // (creating path, its 2xx status, body field, parameter name, path prefix
    // of the operations on the entity)
    const CREATES: [(&str, &str, &str, &str, &str); 6] = [
        (
            "/api/v1/experiments",
            "201",
            "key",
            "key",
            "/api/v1/experiments/{key}",
        ),
        ("/api/v1/flags", "201", "key", "key", "/api/v1/flags/{key}"),
        (
            "/api/v1/metrics",
            "201",
            "key",
            "key",
            "/api/v1/metrics/{key}",
        ),
        (
            "/api/v1/segments",
            "201",
            "key",
            "key",
            "/api/v1/segments/{key}",
        ),
        (
            "/api/v1/layers",
            "201",
            "key",
            "key",
            "/api/v1/layers/{key}",
        ),
        (
            "/api/v1/experiments/{key}/decisions",
            "201",
            "id",
            "id",
            "/api/v1/decisions/{id}",
        ),
    ];
    for (creator, status, field, param, prefix) in CREATES {
        let targets: Vec<String> = api
            .paths
            .paths
            .iter()
            .filter(|(path, _)| path.starts_with(prefix))
            .flat_map(|(_, item)| {
                [&item.get, &item.put, &item.post, &item.delete, &item.patch]
                    .into_iter()
                    .flatten()
                    .filter_map(|op| op.operation_id.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        let Some(RefOr::T(response)) = api
            .paths
            .paths
            .get_mut(creator)
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.responses.responses.get_mut(status))
        else {
            continue;
        };
        for target in targets {
            let link = LinkBuilder::new()
                .operation_id(&target)
                .parameter(param, format!("$response.body#/{field}"))
                .description(format!("The created entity's `{field}`"))
                .build();
            response.links.insert(target, RefOr::T(link));
        }
    }
}
