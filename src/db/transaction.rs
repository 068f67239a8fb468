//! Write transactions that take SQLite's write lock up front.
//!
//! A deferred SQLite transaction that reads and then writes fails at once
//! with "database is locked" (SQLITE_BUSY_SNAPSHOT, which the busy timeout
//! does not wait out) when another connection committed after its first
//! read. `BEGIN IMMEDIATE` waits for the lock instead, so concurrent writers
//! queue rather than fail. PostgreSQL needs nothing: it is a plain
//! transaction there.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::result::Error;

use super::DbConnection;

/// Runs `f` in a transaction that may write: immediate on SQLite (a savepoint
/// when already inside a transaction), plain on PostgreSQL.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<Error>,
{
    let outermost_sqlite = match conn {
        DbConnection::Sqlite(lite) => {
            let depth = AnsiTransactionManager::transaction_manager_status_mut(lite)
                .transaction_depth()
                .map_err(E::from)?;
            if depth.is_none() {
                AnsiTransactionManager::begin_transaction_sql(lite, "BEGIN IMMEDIATE")?;
            }
            depth.is_none()
        }
        DbConnection::Postgresql(_) => false,
    };
    if !outermost_sqlite {
        return conn.transaction(f);
    }
    let outcome = f(conn);
    match conn {
        DbConnection::Sqlite(lite) => match outcome {
            Ok(value) => {
                AnsiTransactionManager::commit_transaction(lite)?;
                Ok(value)
            }
            Err(e) => {
                AnsiTransactionManager::rollback_transaction(lite)?;
                Err(e)
            }
        },
        // A connection's backend never changes: this was SQLite above.
        DbConnection::Postgresql(_) => outcome,
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::sql_types::BigInt;

    use super::*;
    use crate::db::{DbTarget, connection};

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn count(conn: &mut DbConnection) -> QueryResult<i64> {
        diesel::sql_query("SELECT COUNT(*) AS n FROM t")
            .get_result::<Count>(conn)
            .map(|c| c.n)
    }

    /// The race behind a 503 that schemathesis found: a deferred transaction
    /// reads, another connection commits a write, the first then writes and
    /// fails at once. A write transaction holds the lock from its start, so
    /// the other writer is the one that waits.
    #[test]
    fn a_writer_that_read_first_is_not_overtaken() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = DbTarget::Sqlite(dir.path().join("t.db"));
        let mut first = connection::open(&target).expect("open");
        let mut second = connection::open(&target).expect("open");
        first
            .batch_execute("CREATE TABLE t (x INTEGER)")
            .expect("table");
        second
            .batch_execute("PRAGMA busy_timeout = 50")
            .expect("pragma");
        let insert = |conn: &mut DbConnection| conn.batch_execute("INSERT INTO t VALUES (1)");

        let deferred: QueryResult<()> = first.transaction(|first| {
            count(first)?;
            insert(&mut second).expect("the other writer commits");
            insert(first)
        });
        let error = deferred.expect_err("a deferred reader-then-writer loses the race");
        assert!(error.to_string().contains("locked"), "{error}");

        let immediate: QueryResult<i64> = write_transaction(&mut first, |first| {
            count(first)?;
            assert!(
                insert(&mut second).is_err(),
                "the other writer waits for the lock"
            );
            insert(first)?;
            count(first)
        });
        assert_eq!(immediate.expect("the write transaction commits"), 2);
        assert_eq!(count(&mut second).expect("count"), 2);
    }
}
