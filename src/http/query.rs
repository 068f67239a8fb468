//! Query strings whose errors name the offending parameter, and the parameter
//! types several routes share: a point in time given as a date or an RFC 3339
//! timestamp, a page size and a page cursor.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::ApiError;

/// A query string. Unlike `web::Query`, a failure names the parameter: a
/// 400 problem with `field` set.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    /// The parsed parameters.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query))
    }
}

/// Parses a query string, naming the parameter that failed.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let pairs = form_urlencoded::parse(query.as_bytes());
    let de = serde_urlencoded::Deserializer::new(pairs);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // Missing and unknown parameters are reported at the top: the name is
        // in the message.
        let field = if path == "." {
            inner.split('`').nth(1).map(str::to_owned)
        } else {
            Some(path)
        };
        ApiError::BadRequest {
            message: match &field {
                Some(f) if !inner.contains(f.as_str()) => format!("query parameter `{f}`: {inner}"),
                _ => format!("invalid query string: {inner}"),
            },
            field,
        }
    })
}

/// A point in time in a query: a date (`2026-12-01`, midnight UTC) or an
/// RFC 3339 timestamp (`2026-12-01T09:00:00Z`), as PMs type either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment(pub DateTime<Utc>);

impl<'de> Deserialize<'de> for Moment {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        parse_moment(&raw).map(Moment).ok_or_else(|| {
            D::Error::custom(format!(
                "`{raw}` is neither a date (YYYY-MM-DD) nor an RFC 3339 timestamp (YYYY-MM-DDTHH:MM:SSZ)"
            ))
        })
    }
}

fn parse_moment(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

impl PartialSchema for Moment {
    fn schema() -> RefOr<Schema> {
        let string = |format| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(format)))
        };
        OneOfBuilder::new()
            .item(string(KnownFormat::Date))
            .item(string(KnownFormat::DateTime))
            .description(Some(
                "A date (midnight UTC) or an RFC 3339 timestamp with an offset",
            ))
            .into()
    }
}

impl ToSchema for Moment {}

/// Largest page of a paged list.
pub const MAX_PAGE: u32 = 500;

/// Page size when none is given.
pub const DEFAULT_PAGE: u32 = 100;

/// Deserializes an optional page size in `1..=MAX_PAGE`.
pub fn page_limit<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let limit = Option::<u32>::deserialize(deserializer)?;
    match limit {
        Some(n) if !(1..=MAX_PAGE).contains(&n) => Err(D::Error::custom(format!(
            "must be between 1 and {MAX_PAGE}, got {n}"
        ))),
        other => Ok(other),
    }
}

/// Deserializes an optional page cursor: a positive id.
pub fn page_cursor<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let cursor = Option::<i64>::deserialize(deserializer)?;
    match cursor {
        Some(c) if c < 1 => Err(D::Error::custom(format!(
            "must be a `next_cursor` from a previous page (a positive id), got {c}"
        ))),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Params {
        from: Moment,
        #[serde(default, deserialize_with = "page_limit")]
        limit: Option<u32>,
        #[serde(default, deserialize_with = "page_cursor")]
        cursor: Option<i64>,
    }

    fn at(raw: &str) -> Moment {
        Moment(raw.parse().expect("timestamp"))
    }

    #[test]
    fn parameters_parse_and_failures_name_them() {
        let ok = |from: &str, limit, cursor| {
            Ok::<_, (Option<&str>, &str)>(Params {
                from: at(from),
                limit,
                cursor,
            })
        };
        let cases = [
            ("from=2000-01-01", ok("2000-01-01T00:00:00Z", None, None)),
            (
                "from=2026-12-01T09:30:00%2B03:00&limit=500&cursor=7",
                ok("2026-12-01T06:30:00Z", Some(500), Some(7)),
            ),
            (
                "from=2026-12-01T09:30:00Z&limit=1",
                ok("2026-12-01T09:30:00Z", Some(1), None),
            ),
            ("from=2026-13-01", Err((Some("from"), "neither a date"))),
            ("from=2026-12-01T09:30:00", Err((Some("from"), "RFC 3339"))),
            (
                "from=2000-01-01&limit=0",
                Err((Some("limit"), "between 1 and 500")),
            ),
            (
                "from=2000-01-01&limit=x",
                Err((Some("limit"), "invalid digit")),
            ),
            (
                "from=2000-01-01&cursor=-5",
                Err((Some("cursor"), "positive id")),
            ),
            ("limit=5", Err((Some("from"), "missing field"))),
            (
                "from=2000-01-01&extra=1",
                Err((Some("extra"), "unknown field")),
            ),
        ];
        for (raw, want) in cases {
            match (parse::<Params>(raw), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{raw}"),
                (Err(ApiError::BadRequest { field, message }), Err((want_field, fragment))) => {
                    assert_eq!(field.as_deref(), want_field, "{raw}: {message}");
                    assert!(message.contains(fragment), "{raw}: {message}");
                }
                (got, want) => panic!("{raw}: got {got:?}, want {want:?}"),
            }
        }
    }
}
