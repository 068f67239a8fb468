//! How domain errors become HTTP problems.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::DbError;
use crate::definitions::DefinitionError;
use crate::evaluation::EvaluationError;
use crate::flags::FlagWriteError;
use crate::http::ApiError;

impl From<DbError> for ApiError {
    fn from(error: DbError) -> Self {
        match error {
            DbError::Pool(e) => ApiError::Unavailable(format!("database unavailable: {e}")),
            DbError::Cancelled => ApiError::Unavailable("server is shutting down".into()),
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
