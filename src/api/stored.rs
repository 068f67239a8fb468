//! Request plumbing shared by the definition endpoints (flags, segments, layers).

use crate::db::DbConnection;
use crate::definitions::{self, Definition, Stored, Write};
use crate::flags::FlagWriteError;
use crate::http::ApiError;
use crate::state::AppState;

/// A function that validates and applies a write of `T`.
pub type Saver<T> =
    fn(&mut DbConnection, &str, &str, Write<T>) -> Result<Option<Stored<T>>, FlagWriteError>;

/// Every definition of kind `T`.
pub async fn list<T: Definition + Send + 'static>(
    state: &AppState,
) -> Result<Vec<Stored<T>>, ApiError> {
    let rows = state.db.run(|conn| definitions::list::<T>(conn)).await?;
    Ok(rows.into_iter().map(|(_, stored)| stored).collect())
}

/// One definition, or 404.
pub async fn get<T: Definition + Send + 'static>(
    state: &AppState,
    key: String,
) -> Result<Stored<T>, ApiError> {
    let missing = format!("{} `{key}` does not exist", T::KIND.as_str());
    state
        .db
        .run(move |conn| definitions::get::<T>(conn, &key))
        .await?
        .ok_or(ApiError::NotFound(missing))
}

/// Applies `change` with `saver`, then refreshes this replica's snapshot.
pub async fn save<T: Definition + Send + 'static>(
    state: &AppState,
    actor: String,
    key: String,
    change: Write<T>,
    saver: Saver<T>,
) -> Result<Option<Stored<T>>, ApiError> {
    let stored = state
        .db
        .run(move |conn| saver(conn, &actor, &key, change))
        .await?;
    state.refresh_snapshot().await;
    Ok(stored)
}
