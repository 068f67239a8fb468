//! A real, migrated database per test: a SQLite file in a temporary directory,
//! or a fresh PostgreSQL database dropped afterwards.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use verdict::db::DbTarget;

/// Backends the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in a temporary file.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// A database that lives as long as the test.
pub struct TestDb {
    /// Its URL.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    TempDir(#[allow(dead_code)] tempfile::TempDir),
    PgDatabase { admin_url: String, name: String },
}

/// The PostgreSQL server's maintenance database (`VERDICT_TEST_PG_URL`).
pub fn pg_admin_url() -> String {
    std::env::var("VERDICT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl TestDb {
    /// A new, empty database on `backend`. PostgreSQL must be reachable: the
    /// suite fails rather than skips without it.
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("verdict.db").display());
                Self {
                    url,
                    cleanup: Cleanup::TempDir(dir),
                }
            }
            Backend::Postgres => {
                let (admin_url, name) = create_pg_database("verdict_test");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(base, _)| base)
                    .expect("URL with a database name");
                Self {
                    url: format!("{base}/{name}"),
                    cleanup: Cleanup::PgDatabase { admin_url, name },
                }
            }
        }
    }

    /// The parsed target.
    pub fn target(&self) -> DbTarget {
        self.url.parse().expect("valid test URL")
    }

    /// The PostgreSQL database's name (`None` on SQLite).
    pub fn pg_name(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::PgDatabase { name, .. } => Some(name),
            Cleanup::TempDir(_) => None,
        }
    }
}

/// Creates an empty PostgreSQL database named `<prefix>_<random>`; returns
/// the maintenance URL and the name.
pub fn create_pg_database(prefix: &str) -> (String, String) {
    let admin_url = pg_admin_url();
    let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
        panic!("PostgreSQL tests need a server at {admin_url} (set VERDICT_TEST_PG_URL): {e}")
    });
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    (admin_url, name)
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::PgDatabase { admin_url, name } = &self.cleanup
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}
