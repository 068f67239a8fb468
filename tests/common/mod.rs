//! Test harness: a real, migrated database per test (SQLite temp file, or a fresh
//! PostgreSQL database) and the real application over it.

#![allow(dead_code)]

use std::time::Duration;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use serde_json::Value;
use verdict::app::AppState;
use verdict::auth::{JwtKeys, Role};
use verdict::db::{Db, DbTarget};

/// The secret test tokens are signed with.
pub const SECRET: &str = "integration-test-secret";

/// Backends the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in a temporary file.
    Sqlite,
    /// A fresh PostgreSQL database.
    Postgres,
}

/// Generates one test per backend for each listed `async fn name(backend: Backend)`,
/// as `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[actix_web::test]
            async fn $name() {
                super::$name($crate::common::Backend::Sqlite).await
            })*
        }
        mod postgres {
            $(#[actix_web::test]
            async fn $name() {
                super::$name($crate::common::Backend::Postgres).await
            })*
        }
    };
}

/// Calls `$method $uri` as `$role` with an optional JSON body through
/// [`send`]; evaluates to `(status, json body)`.
#[macro_export]
macro_rules! call {
    ($app:expr, $ctx:expr, $role:expr, $method:ident, $uri:expr) => {
        $crate::call!($app, $ctx, $role, $method, $uri, serde_json::Value::Null)
    };
    ($app:expr, $ctx:expr, $role:expr, $method:ident, $uri:expr, $body:expr) => {
        $crate::common::send(
            &$app,
            $ctx.request(&stringify!($method).to_uppercase(), &$uri, $role, $body),
        )
        .await
    };
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

fn pg_admin_url() -> String {
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
                let admin_url = pg_admin_url();
                let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL tests need a server at {admin_url} (set VERDICT_TEST_PG_URL): {e}"
                    )
                });
                let name = format!("verdict_test_{}", uuid::Uuid::new_v4().simple());
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
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

/// A migrated database and the application state over it.
pub struct TestApp {
    /// The database (kept alive for the test).
    pub db: TestDb,
    /// The state to build the app from.
    pub state: AppState,
    keys: JwtKeys,
}

impl TestApp {
    /// A fresh, migrated database on `backend` with default limits.
    pub fn new(backend: Backend) -> Self {
        Self::with_body_limit(backend, 64 * 1024)
    }

    /// Like [`TestApp::new`] with a given body size limit.
    pub fn with_body_limit(backend: Backend, max_body_bytes: usize) -> Self {
        let db = TestDb::new(backend);
        let pool = verdict::startup::open_database(&db.target(), 4).expect("open and migrate");
        let state = AppState::new(
            pool,
            JwtKeys::new(Some(SECRET), None).expect("keys"),
            max_body_bytes,
        )
        .expect("app state");
        Self {
            db,
            state,
            keys: JwtKeys::new(Some(SECRET), None).expect("keys"),
        }
    }

    /// The database pool.
    pub fn pool(&self) -> &Db {
        &self.state.db
    }

    /// A valid token for `role`.
    pub fn token(&self, role: Role) -> String {
        self.keys
            .mint(
                role,
                &format!("test-{role}"),
                Duration::from_secs(3600),
                None,
            )
            .expect("mint")
    }

    /// `Authorization` header value for `role`.
    pub fn bearer(&self, role: Role) -> (&'static str, String) {
        ("Authorization", format!("Bearer {}", self.token(role)))
    }

    /// A JSON request as `role` (no body when `body` is `Value::Null`).
    pub fn request(&self, method: &str, uri: &str, role: Role, body: Value) -> TestRequest {
        let req = TestRequest::default()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(uri)
            .insert_header(self.bearer(role));
        if body.is_null() {
            req
        } else {
            req.set_json(body)
        }
    }
}

/// Sends `req` and returns the status and the JSON body (`Value::Null` when empty).
pub async fn send<S, B>(app: &S, req: TestRequest) -> (StatusCode, Value)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let res = test::call_service(app, req.to_request()).await;
    let status = res.status();
    let bytes = test::read_body(res).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, body)
}

/// Every role, lowest first.
pub const ROLES: [Role; 4] = [Role::Sdk, Role::Analyst, Role::Pm, Role::Admin];
