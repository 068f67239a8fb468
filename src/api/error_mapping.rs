//! How domain errors become HTTP problems.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::DbError;
use crate::definitions::DefinitionError;
use crate::evaluation::EvaluationError;
use crate::flags::FlagWriteError;
use crate::http::ApiError;

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        if error.is_unavailable() {
            // The cause names hosts and ports: logged, never returned.
            tracing::warn!(
                request_id = crate::http::request_id::current().as_deref(),
                error = %error,
                "database unavailable"
            );
            return ApiError::Unavailable(match error {
                DbError::Cancelled => {
                    "the server is shutting down; retry on another replica".into()
                }
                _ => "the database is unavailable; nothing was stored, retry shortly".into(),
            });
        }
        match error {
            DbError::Query(DieselError::NotFound) => ApiError::NotFound("not found".into()),
            DbError::Query(DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation,
                info,
            )) => ApiError::Conflict(format!("already exists: {}", info.message())),
            other => ApiError::internal(other),
        }
    }
}

impl From<DefinitionError> for ApiError {
    fn from(error: DefinitionError) -> Self {
        match error {
            DefinitionError::NotFound { .. } => ApiError::NotFound(error.to_string()),
            DefinitionError::AlreadyExists { .. } | DefinitionError::VersionMismatch { .. } => {
                ApiError::Conflict(error.to_string())
            }
            DefinitionError::Db(e) => e.into(),
            other => ApiError::internal(other),
        }
    }
}

impl From<FlagWriteError> for ApiError {
    fn from(error: FlagWriteError) -> Self {
        match error {
            FlagWriteError::Invalid(errors) => ApiError::Validation(errors),
            FlagWriteError::Conflict(message) => ApiError::Conflict(message),
            FlagWriteError::Definition(e) => e.into(),
        }
    }
}

impl From<EvaluationError> for ApiError {
    fn from(error: EvaluationError) -> Self {
        ApiError::NotFound(error.to_string())
    }
}
