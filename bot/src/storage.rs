//! Persistent dialogue storage: SQLite through diesel (the workspace's
//! SQLite stack; teloxide's own `SqliteStorage` links a second, conflicting
//! libsqlite3), or teloxide's `RedisStorage` when a Redis URL is configured.
//! Dialogue state is stored as JSON.

use std::marker::PhantomData;
use std::path::Path;
use std::sync::{Arc, Mutex};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use teloxide::dispatching::dialogue::serializer::Json;
use teloxide::dispatching::dialogue::{ErasedStorage, RedisStorage, Storage};
use teloxide::types::ChatId;

use crate::config::Config;

diesel::table! {
    /// One row per chat: its serialized dialogue state.
    bot_dialogues (chat_id) {
        chat_id -> BigInt,
        state -> Text,
        updated_at -> BigInt,
    }
}

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Opening the SQLite file failed.
    #[error("opening dialogue database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// A query failed.
    #[error("dialogue database: {0}")]
    Query(#[from] diesel::result::Error),
    /// The database path is not valid UTF-8.
    #[error("dialogue database path is not UTF-8")]
    Path,
    /// Serializing a dialogue failed.
    #[error("serializing dialogue: {0}")]
    Serialize(#[from] serde_json::Error),
    /// The blocking task running a query panicked or was cancelled.
    #[error("dialogue database task: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Setting up Redis failed.
    #[error("redis: {0}")]
    Redis(String),
}

/// Dialogue states of type `D` in a SQLite table, one connection behind a
/// mutex; queries run on the blocking pool.
pub struct SqliteDialogues<D> {
    conn: Arc<Mutex<SqliteConnection>>,
    _state: PhantomData<fn() -> D>,
}

impl<D> SqliteDialogues<D> {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Arc<Self>, StorageError> {
        let url = path.to_str().ok_or(StorageError::Path)?;
        let mut conn = SqliteConnection::establish(url)?;
        conn.batch_execute(
            "PRAGMA journal_mode = WAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS bot_dialogues (
                 chat_id BIGINT PRIMARY KEY NOT NULL,
                 state TEXT NOT NULL,
                 updated_at BIGINT NOT NULL
             );",
        )?;
        Ok(Arc::new(Self {
            conn: Arc::new(Mutex::new(conn)),
            _state: PhantomData,
        }))
    }

    /// Runs `f` on the connection on the blocking pool.
    async fn with_conn<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConnection) -> Result<T, StorageError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await?
    }
}

impl<D> Storage<D> for SqliteDialogues<D>
where
    D: Serialize + DeserializeOwned + Send + 'static,
{
    type Error = StorageError;

    fn remove_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(async move {
            self.with_conn(move |c| {
                use bot_dialogues::dsl;
                diesel::delete(dsl::bot_dialogues.filter(dsl::chat_id.eq(chat_id.0))).execute(c)?;
                Ok(())
            })
            .await
        })
    }

    fn update_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
        dialogue: D,
    ) -> BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(async move {
            let json = serde_json::to_string(&dialogue)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            self.with_conn(move |c| {
                use bot_dialogues::dsl;
                diesel::replace_into(dsl::bot_dialogues)
                    .values((
                        dsl::chat_id.eq(chat_id.0),
                        dsl::state.eq(json),
                        dsl::updated_at.eq(now),
                    ))
                    .execute(c)?;
                Ok(())
            })
            .await
        })
    }

    fn get_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<'static, Result<Option<D>, Self::Error>> {
        Box::pin(async move {
            let json = self
                .with_conn(move |c| {
                    use bot_dialogues::dsl;
                    Ok(dsl::bot_dialogues
                        .filter(dsl::chat_id.eq(chat_id.0))
                        .select(dsl::state)
                        .first::<String>(c)
                        .optional()?)
                })
                .await?;
            // A record that no longer parses (older format) restarts the dialogue.
            Ok(json.and_then(|j| match serde_json::from_str(&j) {
                Ok(d) => Some(d),
                Err(e) => {
                    tracing::warn!(chat = chat_id.0, error = %e, "dropping unreadable dialogue state");
                    None
                }
            }))
        })
    }
}

/// Opens the configured storage: Redis when `REDIS_URL` is set, otherwise
/// the SQLite file.
pub async fn open<D>(config: &Config) -> Result<Arc<ErasedStorage<D>>, StorageError>
where
    D: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    match &config.redis_url {
        Some(url) => {
            let redis = RedisStorage::open(url, Json)
                .await
                .map_err(|e| StorageError::Redis(e.to_string()))?;
            tracing::info!("dialogue state in Redis");
            Ok(redis.erase())
        }
        None => {
            let sqlite = SqliteDialogues::open(&config.db)?;
            tracing::info!(path = %config.db.display(), "dialogue state in SQLite");
            Ok(sqlite.erase())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Session, Step};

    #[tokio::test]
    async fn sqlite_round_trip_survives_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("d.sqlite");
        let chat = ChatId(42);
        let state = Session {
            step: Step::AwaitImport,
            ..Session::default()
        };
        {
            let s = SqliteDialogues::<Session>::open(&path).expect("open");
            assert_eq!(s.clone().get_dialogue(chat).await.expect("get"), None);
            s.clone()
                .update_dialogue(chat, state.clone())
                .await
                .expect("update");
        }
        let s = SqliteDialogues::<Session>::open(&path).expect("reopen");
        assert_eq!(
            s.clone().get_dialogue(chat).await.expect("get"),
            Some(state)
        );
        s.clone().remove_dialogue(chat).await.expect("remove");
        assert_eq!(s.get_dialogue(chat).await.expect("get"), None);
    }

    #[tokio::test]
    async fn unreadable_state_restarts_the_dialogue() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("d.sqlite");
        let raw = SqliteDialogues::<serde_json::Value>::open(&path).expect("open");
        raw.update_dialogue(ChatId(1), serde_json::json!({"step": {"step": "gone"}}))
            .await
            .expect("update");
        let s = SqliteDialogues::<Session>::open(&path).expect("reopen");
        assert_eq!(s.get_dialogue(ChatId(1)).await.expect("get"), None);
    }
}
