//! Foundation: migrations, the auth matrix over every documented route,
//! problem+json for bad input, health/ready/metrics, OpenAPI drift.

mod common;

use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use common::{Backend, ROLES, TestApp, TestDb, concrete};
use diesel::{QueryDsl, RunQueryDsl};
use verdict::auth::Role;
use verdict::db::{DbConnection, migrate, schema};
use verdict_testkit::backend_tests;

/// Routes that need no token.
const PUBLIC: &[&str] = &["/healthz", "/readyz", "/metrics", "/openapi.json"];

async fn migrations_on_empty_database(backend: Backend) {
    let db = TestDb::new(backend);
    let pool = verdict::db::Db::connect(&db.target(), 1).expect("connect");
    let mut conn = pool.conn().expect("conn");
    let first = migrate(&mut conn).expect("migrate");
    assert!(!first.is_empty(), "an empty database gets every migration");
    let second = migrate(&mut conn).expect("migrate again");
    assert!(second.is_empty(), "re-running applies nothing: {second:?}");
    let rows: i64 = schema::audit_log::table
        .count()
        .get_result(&mut *conn as &mut DbConnection)
        .expect("audit_log exists");
    assert_eq!(rows, 0);
}

async fn health_ready_and_metrics(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    for path in ["/healthz", "/readyz"] {
        let res = test::call_service(&app, TestRequest::get().uri(path).to_request()).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let body: serde_json::Value = test::read_body_json(res).await;
        assert_eq!(body["status"], "ok");
    }
    let res = test::call_service(&app, TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = String::from_utf8(test::read_body(res).await.to_vec()).expect("utf-8");
    assert!(
        text.contains(
            r#"verdict_http_requests_total{method="GET",route="/readyz",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("verdict_http_request_duration_seconds_bucket"));
}

/// Every documented operation either is public or declares its least role in its
/// security scope; the service answers 401 without a valid token, 403 below that
/// role, and lets that role through.
async fn auth_matrix(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let doc: serde_json::Value =
        serde_json::from_str(&verdict::openapi::document().json).expect("doc");
    let expired = expired_token();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Some(security) = op.get("security") else {
                assert!(
                    PUBLIC.contains(&path.as_str()),
                    "{method} {path} has no security"
                );
                continue;
            };
            let min: Role = serde_json::from_value(security[0]["bearer"][0].clone())
                .unwrap_or_else(|_| panic!("{method} {path}: security scope names a role"));
            let uri = concrete(path);
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let call = |auth: Option<String>| {
                let mut req = TestRequest::default()
                    .method(method.clone())
                    .uri(&uri)
                    .insert_header(("Content-Type", "application/json"))
                    .set_payload("{}");
                if let Some(value) = auth {
                    req = req.insert_header(("Authorization", value));
                }
                req.to_request()
            };
            let unauthenticated = [
                None,
                Some("Bearer not-a-jwt".to_owned()),
                Some(format!("Bearer {expired}")),
                Some(format!("Basic {}", ctx.token(Role::Admin))),
            ];
            for auth in unauthenticated {
                let res = test::call_service(&app, call(auth.clone())).await;
                assert_eq!(
                    res.status(),
                    StatusCode::UNAUTHORIZED,
                    "{method} {uri} {auth:?}"
                );
                assert_problem(res, 401).await;
            }
            for role in ROLES {
                let res =
                    test::call_service(&app, call(Some(format!("Bearer {}", ctx.token(role)))))
                        .await;
                let status = res.status();
                if role < min {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{method} {uri} as {role}");
                    assert_problem(res, 403).await;
                } else {
                    assert!(
                        status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                        "{method} {uri} as {role} (min {min}) got {status}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no secured operations found");
}

async fn problem_json_for_unknown_routes(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let res = test::call_service(&app, TestRequest::get().uri("/api/v1/nope").to_request()).await;
    let problem = assert_problem(res, 404).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("/api/v1/nope")
    );
}

/// Each kind of bad input gets a clear 4xx problem, never a 500.
async fn problem_json_for_bad_input(backend: Backend) {
    let ctx = TestApp::with_settings(
        backend,
        verdict::state::Settings {
            max_body_bytes: 512,
            ..Default::default()
        },
    );
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let post = |content_type: &str, body: String| {
        TestRequest::post()
            .uri("/api/v1/segments")
            .insert_header(ctx.bearer(Role::Pm))
            .insert_header(("Content-Type", content_type.to_owned()))
            .set_payload(body)
            .to_request()
    };
    let json = "application/json";
    let cases: Vec<(&str, String, u16, Option<&str>, &str)> = vec![
        (json, r#"{"key": "vip", "conditions": ["#.into(), 400, Some("conditions"), "malformed JSON"),
        (json, String::new(), 400, None, "empty"),
        (json, r#"{"key": 7}"#.into(), 400, Some("key"), "invalid type"),
        (json, r#"{"key": "vip", "conditions": [{"attribute": "tier", "op": "in", "value": ["vip"], "negate": true}]}"#.into(), 400, Some("conditions[0].negate"), "unknown field `negate`"),
        (json, r#"{"key": "vip", "conditions": [{"attribute": "tier", "op": "in", "value": "vip"}]}"#.into(), 422, Some("conditions[0].value"), "array"),
        (json, format!(r#"{{"key": "{}"}}"#, "x".repeat(600)), 413, None, "size limit"),
        ("text/plain", r#"{"key": "vip"}"#.into(), 415, None, "JSON"),
    ];
    for (content_type, body, status, field, detail) in cases {
        let res = test::call_service(&app, post(content_type, body.clone())).await;
        let problem = assert_problem(res, status).await;
        assert_eq!(problem["field"].as_str(), field, "{body}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap_or("").contains(detail),
            "{body}: {problem}"
        );
        assert!(problem["request_id"].is_string());
    }
    let res = test::call_service(
        &app,
        TestRequest::get()
            .uri("/api/v1/segments")
            .insert_header(("Authorization", "Bearer"))
            .to_request(),
    )
    .await;
    assert_problem(res, 401).await;
}

backend_tests!(
    problem_json_for_bad_input,
    migrations_on_empty_database,
    health_ready_and_metrics,
    auth_matrix,
    problem_json_for_unknown_routes,
);

#[actix_web::test]
async fn readyz_reports_unreachable_database() {
    let ctx = TestApp::new(Backend::Postgres);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    drop(ctx.db);
    let res = test::call_service(&app, TestRequest::get().uri("/readyz").to_request()).await;
    assert_problem(res, 503).await;
    let res = test::call_service(&app, TestRequest::get().uri("/healthz").to_request()).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "liveness does not depend on the database"
    );
}

#[test]
fn committed_openapi_matches_the_code() {
    let generated = verdict::openapi::Document::new(&verdict::openapi::generate()).json;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, format!("{generated}\n")).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test --test foundation committed_openapi` and commit it"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
}

#[actix_web::test]
async fn rs256_tokens_from_an_identity_provider() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let private = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("keygen");
    let public = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("public pem");
    let private = private.to_pkcs8_pem(LineEnding::LF).expect("private pem");
    let keys = verdict::auth::JwtKeys::new(None, Some(&public)).expect("public key loads");
    let claims = serde_json::json!({"sub": "idp-user", "role": "analyst", "exp": 4_102_444_800u64});
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(private.as_bytes()).expect("pem"),
    )
    .expect("sign");
    let verified = keys.verify(&token).expect("RS256 token verifies");
    assert_eq!(
        (verified.sub.as_str(), verified.role),
        ("idp-user", Role::Analyst)
    );
    let hs = verdict::auth::JwtKeys::new(Some("s"), None).expect("keys");
    assert!(
        hs.verify(&token).is_err(),
        "RS256 token is refused without the public key"
    );
}

fn expired_token() -> String {
    use jsonwebtoken::{EncodingKey, Header};
    let claims = serde_json::json!({"sub": "old", "role": "admin", "exp": 1_000_000u64});
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(common::SECRET.as_bytes()),
    )
    .expect("sign")
}

/// Replaces `{param}` segments with sample values.
/// Asserts a problem+json response with `status` and returns its body.
pub async fn assert_problem(
    res: actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
    status: u16,
) -> serde_json::Value {
    assert_eq!(res.status().as_u16(), status);
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: serde_json::Value = test::read_body_json(res).await;
    assert_eq!(body["status"], status);
    assert!(body["title"].is_string() && body["detail"].is_string() && body["type"].is_string());
    body
}
