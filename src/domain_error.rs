//! The error of configuration stores (metric catalogue, experiments), mapped to
//! problem+json at the HTTP boundary.

use crate::db::DbError;
use verdict_core::FieldError;

use crate::http::ApiError;

/// Why a store operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The addressed entity does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The operation conflicts with the entity's current state.
    #[error("{0}")]
    Conflict(String),
    /// The input is invalid; every offending field is listed.
    #[error("invalid input ({} errors)", .0.len())]
    Invalid(Vec<FieldError>),
    /// Storage failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl DomainError {
    /// An invalid-input error for one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<diesel::result::Error> for DomainError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound(m) => ApiError::NotFound(m),
            DomainError::Conflict(m) => ApiError::Conflict(m),
            DomainError::Invalid(errors) => ApiError::Validation(errors),
            DomainError::Db(e) => e.into(),
        }
    }
}
