//! Data sources over REST (admin): warehouses metrics may be computed on. The
//! connection URL is written, never read back: responses and the audit log
//! show it with the password hidden.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Admin, Authorized};
use crate::domain_error::DomainError;
use crate::http::{ApiError, Json};
use crate::state::AppState;
use crate::warehouse::session::{connect, describe};
use crate::warehouse::{DataSource, Limits, Mapping, SourceUrl, StoredSource, store};

/// A data source as written by an admin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "key": "analytics",
    "url": "postgres://verdict_reader:secret@analytics-db:5432/analytics",
    "mapping": {"relation": "analytics.events_clean", "unit_column": "user_id",
        "name_column": "name", "timestamp_column": "ts", "properties": {"json": "props"}},
    "limits": {"statement_timeout_ms": 30000, "max_units": 5000000, "max_concurrent_queries": 2}
}))]
pub struct DataSourceIn {
    /// Slug; required on create, must match the path (or be omitted) on replace.
    #[serde(default)]
    #[schema(pattern = "^[a-z0-9][a-z0-9_-]{0,63}$")]
    pub key: Option<String>,
    /// `postgres://USER:PASSWORD@HOST:PORT/DATABASE` of a read-only role;
    /// required on create, kept when omitted on replace.
    #[serde(default)]
    #[schema(pattern = "^postgres(ql)?://")]
    pub url: Option<String>,
    /// The events relation and its columns.
    pub mapping: Mapping,
    /// Statement timeout, unit limit and concurrent queries.
    #[serde(default)]
    pub limits: Option<Limits>,
}

/// A data source as served: the URL with its password hidden.
#[derive(Debug, Serialize, ToSchema)]
pub struct DataSourceOut {
    /// Slug.
    pub key: String,
    /// The connection URL, password replaced by `***`.
    pub url: String,
    /// The events relation and its columns.
    pub mapping: Mapping,
    /// Statement timeout, unit limit and concurrent queries.
    pub limits: Limits,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Who changed it last.
    pub updated_by: String,
}

impl From<StoredSource> for DataSourceOut {
    fn from(s: StoredSource) -> Self {
        Self {
            url: s.source.url.redacted(),
            key: s.source.key,
            mapping: s.source.mapping,
            limits: s.source.limits,
            created_at: s.created_at.and_utc(),
            updated_at: s.updated_at.and_utc(),
            updated_by: s.updated_by,
        }
    }
}

/// What a connection test found.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionTest {
    /// Connected, the relation exists and has every mapped column.
    pub ok: bool,
    /// The relation's columns and types.
    pub columns: Vec<ColumnInfo>,
    /// The planner's row estimate (absent for a view).
    #[schema(required = true)]
    pub row_estimate: Option<i64>,
    /// Mapped columns the relation lacks.
    pub missing_columns: Vec<String>,
    /// Why the test failed.
    #[schema(required = true)]
    pub error: Option<String>,
}

/// One column of the relation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnInfo {
    /// Name.
    pub name: String,
    /// Type as the source names it.
    #[serde(rename = "type")]
    pub kind: String,
}

/// Lists the data sources.
#[utoipa::path(
    tag = "data-sources",
    security(("bearer" = ["admin"])),
    responses((status = 200, description = "Every data source, by key", body = Vec<DataSourceOut>))
)]
#[get("/api/v1/data-sources")]
pub async fn list_data_sources(
    _auth: Authorized<Admin>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<DataSourceOut>>, ApiError> {
    let sources = state.db.run(store::list).await?;
    Ok(web::Json(
        sources.into_iter().map(DataSourceOut::from).collect(),
    ))
}

/// Reads one data source.
#[utoipa::path(
    tag = "data-sources",
    security(("bearer" = ["admin"])),
    params(("key" = String, Path, description = "Data source key")),
    responses(
        (status = 200, description = "The data source", body = DataSourceOut),
        (status = 404, description = "No such data source", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/data-sources/{key}")]
pub async fn get_data_source(
    _auth: Authorized<Admin>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<web::Json<DataSourceOut>, ApiError> {
    let key = key.into_inner();
    let source = state.db.run(move |conn| store::get(conn, &key)).await?;
    Ok(web::Json(source.into()))
}

/// Adds a data source (audited, password hidden).
#[utoipa::path(
    tag = "data-sources",
    security(("bearer" = ["admin"])),
    request_body = DataSourceIn,
    responses(
        (status = 201, description = "Created", body = DataSourceOut),
        (status = 409, description = "The key is taken", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/data-sources")]
pub async fn create_data_source(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    body: Json<DataSourceIn>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let key = body
        .key
        .ok_or_else(|| ApiError::invalid("key", "a new data source needs a key"))?;
    let url = body
        .url
        .ok_or_else(|| ApiError::invalid("url", "a new data source needs a url"))?;
    let source = DataSource {
        key,
        url: SourceUrl::new(url),
        mapping: body.mapping,
        limits: body.limits.unwrap_or_default(),
    };
    let actor = auth.caller.subject;
    let created = state
        .db
        .run(move |conn| store::create(conn, &actor, source))
        .await?;
    Ok(HttpResponse::Created().json(DataSourceOut::from(created)))
}

/// Replaces a data source; an omitted `url` keeps the stored one.
#[utoipa::path(
    tag = "data-sources",
    security(("bearer" = ["admin"])),
    params(("key" = String, Path, description = "Data source key")),
    request_body = DataSourceIn,
    responses(
        (status = 200, description = "Replaced", body = DataSourceOut),
        (status = 404, description = "No such data source", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/data-sources/{key}")]
pub async fn replace_data_source(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    key: web::Path<String>,
    body: Json<DataSourceIn>,
) -> Result<web::Json<DataSourceOut>, ApiError> {
    let key = key.into_inner();
    let body = body.0;
    if body.key.as_ref().is_some_and(|k| *k != key) {
        return Err(ApiError::invalid(
            "key",
            "the key cannot change; it must match the path or be omitted",
        ));
    }
    let actor = auth.caller.subject;
    let replaced = state
        .db
        .run(move |conn| {
            let url = match body.url {
                Some(url) => SourceUrl::new(url),
                None => store::get(conn, &key)?.source.url,
            };
            let source = DataSource {
                key,
                url,
                mapping: body.mapping,
                limits: body.limits.unwrap_or_default(),
            };
            store::replace(conn, &actor, source)
        })
        .await?;
    Ok(web::Json(replaced.into()))
}

/// Deletes a data source no metric is computed on.
#[utoipa::path(
    tag = "data-sources",
    security(("bearer" = ["admin"])),
    params(("key" = String, Path, description = "Data source key")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such data source", body = crate::http::Problem, content_type = "application/problem+json"),
        (status = 409, description = "A metric is computed on it", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/v1/data-sources/{key}")]
pub async fn delete_data_source(
    auth: Authorized<Admin>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner();
    let actor = auth.caller.subject;
    state
        .db
        .run(move |conn| store::delete(conn, &actor, &key))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Connects to the source with its limits and reports the mapped relation:
/// its columns and types, row estimate and any mapped column it lacks, or why
/// it could not be reached.
#[utoipa::path(
    tag = "data-sources",
    security(("bearer" = ["admin"])),
    params(("key" = String, Path, description = "Data source key")),
    responses(
        (status = 200, description = "What the test found (`ok` false with `error` when it failed)", body = ConnectionTest),
        (status = 404, description = "No such data source", body = crate::http::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/v1/data-sources/{key}/test")]
pub async fn test_data_source(
    _auth: Authorized<Admin>,
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<web::Json<ConnectionTest>, ApiError> {
    let key = key.into_inner();
    let source = state
        .db
        .run(move |conn| store::get(conn, &key))
        .await?
        .source;
    let found = web::block(move || connect(&source).and_then(|mut pg| describe(&mut pg, &source)))
        .await
        .map_err(|_| ApiError::from(DomainError::Db(crate::db::DbError::Cancelled)))?;
    Ok(web::Json(match found {
        Ok(d) => ConnectionTest {
            ok: d.missing.is_empty(),
            error: (!d.missing.is_empty())
                .then(|| format!("the relation lacks column(s) {}", d.missing.join(", "))),
            columns: d
                .columns
                .into_iter()
                .map(|(name, kind)| ColumnInfo { name, kind })
                .collect(),
            row_estimate: d.row_estimate,
            missing_columns: d.missing,
        },
        Err(e) => ConnectionTest {
            ok: false,
            columns: Vec::new(),
            row_estimate: None,
            missing_columns: Vec::new(),
            error: Some(e.to_string()),
        },
    }))
}
