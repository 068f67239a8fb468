//! A data source: a PostgreSQL-protocol warehouse whose events relation is
//! mapped onto Verdict's event model, with the limits its analyses run under.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use verdict_core::FieldError;

/// How properties are read from the events relation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Properties {
    /// One JSON or JSONB column holds them.
    Json(String),
    /// Named columns, each a property of the same name.
    Columns(Vec<String>),
}

/// A fixed condition on the relation (e.g. one product's rows of a shared table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ColumnFilter {
    /// Column name.
    #[schema(min_length = 1)]
    pub column: String,
    /// The value it must equal (string, number or boolean).
    pub equals: serde_json::Value,
}

/// Which relation holds the events and which of its columns are what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "relation": "analytics.events_clean", "unit_column": "user_id", "name_column": "name",
    "timestamp_column": "ts", "properties": {"json": "props"}
}))]
pub struct Mapping {
    /// Table or view, optionally schema-qualified (`analytics.events_clean`, a dbt model).
    #[schema(min_length = 1)]
    pub relation: String,
    /// The unit id (compared as text with Verdict's exposure unit ids).
    #[schema(min_length = 1)]
    pub unit_column: String,
    /// The event name.
    #[schema(min_length = 1)]
    pub name_column: String,
    /// When it happened: `timestamp` (read as UTC) or `timestamptz`.
    #[schema(min_length = 1)]
    pub timestamp_column: String,
    /// The event's numeric value (sum and mean metrics), if any.
    #[serde(default)]
    pub value_column: Option<String>,
    /// Where event properties (metric filters) come from, if anywhere.
    #[serde(default)]
    pub properties: Option<Properties>,
    /// Conditions every row must meet.
    #[serde(default)]
    pub filters: Vec<ColumnFilter>,
}

/// What one analysis may cost the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Statement timeout on the source, in milliseconds (default 30 000).
    #[serde(default = "default_timeout")]
    #[schema(minimum = 1, maximum = 600000, default = 30000)]
    pub statement_timeout_ms: u32,
    /// Most exposed units copied to the source for one analysis (default 5 000 000).
    #[serde(default = "default_max_units")]
    #[schema(minimum = 1, default = 5000000)]
    pub max_units: u64,
    /// Metric statements one analysis runs at once on the source (default 2),
    /// each on its own session with its own copy of the exposures: statements
    /// over temporary tables never get parallel workers, so concurrency across
    /// metrics is how an analysis uses more than one of the source's cores.
    #[serde(default = "default_concurrency")]
    #[schema(minimum = 1, maximum = 16, default = 2)]
    pub max_concurrent_queries: u32,
}

fn default_timeout() -> u32 {
    30_000
}

fn default_max_units() -> u64 {
    5_000_000
}

fn default_concurrency() -> u32 {
    2
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            statement_timeout_ms: default_timeout(),
            max_units: default_max_units(),
            max_concurrent_queries: default_concurrency(),
        }
    }
}

/// A connection URL; its password is a secret (`Debug` and [`SourceUrl::redacted`]
/// hide it).
#[derive(Clone, PartialEq, Eq)]
pub struct SourceUrl(String);

impl std::fmt::Debug for SourceUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl SourceUrl {
    /// Wraps `url` (`postgres://` or `postgresql://`).
    pub fn new(url: String) -> Self {
        Self(url)
    }

    /// The URL to connect with.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with its password replaced by `***`, safe to show and log.
    pub fn redacted(&self) -> String {
        let url = &self.0;
        let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
            return "***".into();
        };
        let authority_end = url[scheme_end..]
            .find(['/', '?'])
            .map_or(url.len(), |i| scheme_end + i);
        let authority = &url[scheme_end..authority_end];
        let mut out = url[..scheme_end].to_owned();
        match authority.rfind('@') {
            Some(at) => {
                let user = &authority[..at];
                match user.split_once(':') {
                    Some((name, _)) => out.push_str(&format!("{name}:***")),
                    None => out.push_str(user),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        let rest = &url[authority_end..];
        // A password may also come as a query parameter.
        match rest.find("password=") {
            Some(i) => {
                out.push_str(&rest[..i + 9]);
                out.push_str("***");
                if let Some(amp) = rest[i..].find('&') {
                    out.push_str(&rest[i + amp..]);
                }
            }
            None => out.push_str(rest),
        }
        out
    }
}

/// A configured data source.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSource {
    /// Slug metrics refer to it by.
    pub key: String,
    /// Where it is (use a read-only role).
    pub url: SourceUrl,
    /// Its events relation.
    pub mapping: Mapping,
    /// What an analysis may cost it.
    pub limits: Limits,
}

fn identifier(field: &str, name: &str, errors: &mut Vec<FieldError>) {
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.contains(['"', '\0'])
        && !name.starts_with(char::is_whitespace)
        && !name.ends_with(char::is_whitespace);
    if !ok {
        errors.push(FieldError::new(
            field,
            "a column or relation name: 1–63 characters, no double quotes",
        ));
    }
}

/// Checks a data source definition; every problem with its field.
pub fn validate(source: &DataSource) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if !verdict_core::is_slug(&source.key) {
        errors.push(FieldError::new(
            "key",
            "a slug: [a-z0-9_-], 1–64 characters",
        ));
    }
    let url = source.url.expose();
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        errors.push(FieldError::new(
            "url",
            "a PostgreSQL URL: postgres://USER:PASSWORD@HOST:PORT/DATABASE",
        ));
    }
    let m = &source.mapping;
    let parts: Vec<&str> = m.relation.split('.').collect();
    if parts.len() > 2 {
        errors.push(FieldError::new(
            "mapping.relation",
            "`relation` or `schema.relation`",
        ));
    }
    for part in parts {
        identifier("mapping.relation", part, &mut errors);
    }
    identifier("mapping.unit_column", &m.unit_column, &mut errors);
    identifier("mapping.name_column", &m.name_column, &mut errors);
    identifier("mapping.timestamp_column", &m.timestamp_column, &mut errors);
    if let Some(v) = &m.value_column {
        identifier("mapping.value_column", v, &mut errors);
    }
    match &m.properties {
        Some(Properties::Json(c)) => identifier("mapping.properties.json", c, &mut errors),
        Some(Properties::Columns(cs)) => {
            for (i, c) in cs.iter().enumerate() {
                identifier(&format!("mapping.properties.columns[{i}]"), c, &mut errors);
            }
        }
        None => {}
    }
    for (i, f) in m.filters.iter().enumerate() {
        identifier(
            &format!("mapping.filters[{i}].column"),
            &f.column,
            &mut errors,
        );
        if !(f.equals.is_string() || f.equals.is_number() || f.equals.is_boolean()) {
            errors.push(FieldError::new(
                format!("mapping.filters[{i}].equals"),
                "a string, number or boolean",
            ));
        }
    }
    if source.limits.statement_timeout_ms == 0 || source.limits.statement_timeout_ms > 600_000 {
        errors.push(FieldError::new(
            "limits.statement_timeout_ms",
            "between 1 and 600000",
        ));
    }
    if source.limits.max_units == 0 {
        errors.push(FieldError::new("limits.max_units", "at least 1"));
    }
    if !(1..=16).contains(&source.limits.max_concurrent_queries) {
        errors.push(FieldError::new(
            "limits.max_concurrent_queries",
            "between 1 and 16",
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let cases = [
            (
                "postgres://reader:s3cret@db:5432/analytics",
                "postgres://reader:***@db:5432/analytics",
            ),
            (
                "postgres://reader@db/analytics",
                "postgres://reader@db/analytics",
            ),
            (
                "postgresql://db/analytics?user=r&password=s3cret&sslmode=require",
                "postgresql://db/analytics?user=r&password=***&sslmode=require",
            ),
            ("postgres://a:b:c@h/d", "postgres://a:***@h/d"),
            ("not a url s3cret", "***"),
        ];
        for (url, want) in cases {
            let u = SourceUrl::new(url.into());
            assert_eq!(u.redacted(), want);
            assert!(!format!("{u:?}").contains("s3cret"));
        }
    }

    #[test]
    fn validation_names_the_field() {
        let ok = DataSource {
            key: "dwh".into(),
            url: SourceUrl::new("postgres://r:p@h/db".into()),
            mapping: Mapping {
                relation: "analytics.events".into(),
                unit_column: "user_id".into(),
                name_column: "name".into(),
                timestamp_column: "ts".into(),
                value_column: None,
                properties: Some(Properties::Json("props".into())),
                filters: vec![],
            },
            limits: Limits::default(),
        };
        assert_eq!(validate(&ok), Ok(()));
        let field = |f: fn(&mut DataSource)| {
            let mut s = ok.clone();
            f(&mut s);
            validate(&s)
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            field(|s| s.url = SourceUrl::new("mysql://x".into())),
            ["url"]
        );
        assert_eq!(
            field(|s| s.mapping.relation = "a.b.c".into()),
            ["mapping.relation"]
        );
        assert_eq!(
            field(|s| s.mapping.unit_column = "x\"; drop".into()),
            ["mapping.unit_column"]
        );
        assert_eq!(
            field(|s| s.mapping.filters = vec![ColumnFilter {
                column: "app".into(),
                equals: serde_json::json!([1])
            }]),
            ["mapping.filters[0].equals"]
        );
        assert_eq!(
            field(|s| s.limits.statement_timeout_ms = 0),
            ["limits.statement_timeout_ms"]
        );
        for concurrency in [0, 17] {
            let mut s = ok.clone();
            s.limits.max_concurrent_queries = concurrency;
            let fields: Vec<String> = validate(&s)
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect();
            assert_eq!(fields, ["limits.max_concurrent_queries"]);
        }
        assert_eq!(field(|s| s.key = "Bad Key".into()), ["key"]);
    }
}
