//! The one test harness of the workspace. The service's, the SDK's and the
//! bot's integration tests all get their databases (a SQLite file or a fresh
//! PostgreSQL database), the service (in-process for `actix_web::test`, or
//! serving HTTP on a port) and tokens from here, so they run the service the
//! same way. `reference` is the in-memory metric semantics the SQL is checked
//! against.

mod app;
pub mod browser;
mod db;
pub mod reference;
mod server;

pub use app::{ROLES, SECRET, TestApp, send};
pub use db::{Backend, TestDb};
pub use server::TestServer;

/// The fields of a results comparison the console shows, each with its exact
/// value in `data-value`: what a console test compares with the API's.
pub const COMPARISON_FIELDS: [&str; 5] = [
    "estimate",
    "ci_lower",
    "ci_upper",
    "p_value",
    "p_value_adjusted",
];

/// A documented path template (`/api/v1/flags/{key}`) with every parameter
/// filled in with `sample`, to call it.
pub fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "sample" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// Generates one test per backend for each listed `async fn name(backend: Backend)`,
/// as `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[actix_web::test]
            async fn $name() {
                super::$name($crate::Backend::Sqlite).await
            })*
        }
        mod postgres {
            $(#[actix_web::test]
            async fn $name() {
                super::$name($crate::Backend::Postgres).await
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
        $crate::send(
            &$app,
            $ctx.request(&stringify!($method).to_uppercase(), &$uri, $role, $body),
        )
        .await
    };
}
