//! The service in-process, for `actix_web::test::init_service`.

use std::time::Duration;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use serde_json::Value;
use verdict::auth::{JwtKeys, Role};
use verdict::db::Db;
use verdict::state::{AppState, Settings};

use crate::db::{Backend, TestDb};

/// The secret test tokens are signed with.
pub const SECRET: &str = "integration-test-secret";

/// Every role, lowest first.
pub const ROLES: [Role; 4] = [Role::Sdk, Role::Analyst, Role::Pm, Role::Admin];

/// A migrated database and the application state over it.
pub struct TestApp {
    /// The database (kept alive for the test).
    pub db: TestDb,
    /// The state to build the app from.
    pub state: AppState,
    keys: JwtKeys,
}

impl TestApp {
    /// A fresh, migrated database on `backend` with default settings.
    pub fn new(backend: Backend) -> Self {
        Self::with_settings(backend, Settings::default())
    }

    /// Like [`TestApp::new`] with the given settings.
    pub fn with_settings(backend: Backend, settings: Settings) -> Self {
        let db = TestDb::new(backend);
        let pool = verdict::startup::open_database(&db.target(), 4).expect("open and migrate");
        let keys = || JwtKeys::new(Some(SECRET), None).expect("keys");
        let state = AppState::new(pool, keys(), settings).expect("app state");
        Self {
            db,
            state,
            keys: keys(),
        }
    }

    /// Another replica's state over the same database, with `settings`.
    pub fn replica(&self, settings: Settings) -> AppState {
        let pool = verdict::startup::open_database(&self.db.target(), 2).expect("second pool");
        let keys = JwtKeys::new(Some(SECRET), None).expect("keys");
        AppState::new(pool, keys, settings).expect("replica state")
    }

    /// The database pool.
    pub fn pool(&self) -> &Db {
        &self.state.db
    }

    /// A valid token for `role`.
    pub fn token(&self, role: Role) -> String {
        mint(&self.keys, role, None)
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

/// A token for `role` with subject `test-<role>`, valid for an hour.
pub(crate) fn mint(keys: &JwtKeys, role: Role, environment: Option<&str>) -> String {
    keys.mint(
        role,
        &format!("test-{role}"),
        Duration::from_secs(3600),
        environment,
    )
    .expect("mint")
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
