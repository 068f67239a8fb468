//! Telegram Mini App clients: `Authorization: tma <initData>` on the
//! client-facing routes (the verified user is the unit), browser events under
//! that identity, and CORS that opens exactly those routes to allowed origins.
//!
//! initData comes from `tests/fixtures/tma/vectors.json`, signed by
//! `@telegram-apps/init-data-node` and Node's Ed25519 (not by our code). Its
//! `auth_date` is fixed in the past, so the verifiers here accept ten years of
//! age, except where expiry is the point.

mod common;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use common::{Backend, TestApp, backend_tests, concrete, send};
use diesel::prelude::*;
use ed25519_dalek::VerifyingKey;
use serde::Deserialize;
use serde_json::{Value, json};
use verdict::auth::telegram::TelegramVerifier;
use verdict::auth::{DEFAULT_CLIENT_EVENTS, MiniAppEnvironment, MiniApps, Role};
use verdict::db::DbConnection;
use verdict::db::schema::{events, exposures};
use verdict::state::Settings;

const ORIGIN: &str = "https://miniapp.example";
const TEN_YEARS: Duration = Duration::from_secs(10 * 365 * 86_400);
const EVENTS_PER_MINUTE: u32 = 10;

#[derive(Deserialize)]
struct Vectors {
    bot_token: String,
    bot_id: u64,
    public_key: String,
    valid: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    init_data: String,
    first_party: bool,
    user: VectorUser,
}

#[derive(Deserialize)]
struct VectorUser {
    id: String,
    language_code: Option<String>,
    is_premium: bool,
    start_param: Option<String>,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("fixtures/tma/vectors.json")).expect("vectors.json")
}

/// The vector with both `hash` and `signature`, a premium `ru` user with a
/// start parameter.
fn full_launch(v: &Vectors) -> &Vector {
    v.valid
        .iter()
        .find(|x| x.first_party && x.user.is_premium && x.user.start_param.is_some())
        .expect("a full launch vector")
}

/// Production verifies the vectors' bot both ways, with `max_age`.
fn settings(max_age: Duration) -> Settings {
    let v = vectors();
    let key: [u8; 32] = hex(&v.public_key).try_into().expect("32-byte key");
    let key = VerifyingKey::from_bytes(&key).expect("Ed25519 key");
    let environment = |verifier: TelegramVerifier| MiniAppEnvironment {
        environment: "production".into(),
        verifier: verifier.with_max_age(max_age),
        events: DEFAULT_CLIENT_EVENTS.map(str::to_owned).to_vec(),
    };
    Settings {
        mini_apps: Arc::new(Some(MiniApps::new(
            vec![
                environment(TelegramVerifier::first_party(&v.bot_token)),
                environment(TelegramVerifier::third_party_with_key(v.bot_id, key)),
            ],
            EVENTS_PER_MINUTE,
        ))),
        cors_origins: vec![ORIGIN.into()],
        ..Settings::default()
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn tma(init_data: &str) -> (&'static str, String) {
    ("Authorization", format!("tma {init_data}"))
}

fn post(uri: &str, init_data: &str, body: Value) -> TestRequest {
    TestRequest::post()
        .uri(uri)
        .insert_header(tma(init_data))
        .set_json(body)
}

/// Flags the Mini App reads: two experiments, and flags targeting what only
/// initData may vouch for.
async fn define<S, B>(ctx: &TestApp, app: &S)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let experiment_flag = |key: &str| {
        json!({
            "key": key, "value_type": "string",
            "variants": [{"key": "control", "value": "a"}, {"key": "treatment", "value": "b"}],
            "default_variant": "control",
            "environments": {"production": {"enabled": true, "fallthrough": {"split": {
                "weights": [{"variant": "control", "weight": 50.0}, {"variant": "treatment", "weight": 50.0}],
                "experiment": {"key": key, "phase": 1}}}}}
        })
    };
    let targeted = |key: &str, attribute: &str, value: Value| {
        json!({
            "key": key, "value_type": "boolean",
            "variants": [{"key": "off", "value": false}, {"key": "on", "value": true}],
            "default_variant": "off",
            "environments": {"production": {"enabled": true,
                "rules": [{"id": "vouched", "conditions": [{"attribute": attribute, "op": "eq", "value": value}], "serve": {"variant": "on"}}],
                "fallthrough": {"variant": "off"}}}
        })
    };
    for flag in [
        experiment_flag("import_hint"),
        experiment_flag("digest_layout"),
        targeted("premium_badge", "is_premium", json!(true)),
        targeted("russian_copy", "language_code", json!("ru")),
        targeted("campaign_banner", "start_param", json!("exp_checkout-v2")),
    ] {
        let (status, body) = send(app, ctx.request("POST", "/api/v1/flags", Role::Pm, flag)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}

/// `{key: variant}` of a native or OFREP bulk response.
fn variants(body: &Value) -> Vec<(String, Option<String>)> {
    body["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .map(|f| {
            (
                f["key"].as_str().expect("key").to_owned(),
                f["variant"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn exposure_units(ctx: &TestApp) -> Vec<(String, String)> {
    let mut conn = ctx.pool().conn().expect("conn");
    exposures::table
        .select((exposures::experiment_key, exposures::unit_id))
        .order((exposures::experiment_key, exposures::unit_id))
        .load(&mut *conn as &mut DbConnection)
        .expect("exposures")
}

fn event_rows(ctx: &TestApp) -> Vec<(String, String, String)> {
    let mut conn = ctx.pool().conn().expect("conn");
    events::table
        .select((events::event_id, events::unit_id, events::name))
        .order(events::event_id)
        .load(&mut *conn as &mut DbConnection)
        .expect("events")
}

/// The verified user is the unit whatever the page claims; initData's
/// language, premium flag and start parameter join the context and replace
/// the page's; native, OFREP bulk and OFREP single agree; the bulk ETag gives
/// 304; exposures land under the verified user only.
async fn verified_user_is_the_unit(backend: Backend) {
    let ctx = TestApp::with_settings(backend, settings(TEN_YEARS));
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    define(&ctx, &app).await;
    let v = vectors();
    let launch = full_launch(&v);
    let user = &launch.user;

    let forged = json!({"context": {"user_id": "victim", "is_premium": false, "language_code": "en", "start_param": "other"}});
    let (status, as_mini_app) =
        send(&app, post("/api/v1/evaluate", &launch.init_data, forged)).await;
    assert_eq!(status, StatusCode::OK, "{as_mini_app}");
    let vouched = json!({"context": {
        "user_id": user.id, "is_premium": user.is_premium,
        "language_code": user.language_code, "start_param": user.start_param}});
    let (_, as_sdk) = send(
        &app,
        ctx.request("POST", "/api/v1/evaluate", Role::Sdk, vouched),
    )
    .await;
    assert_eq!(variants(&as_mini_app), variants(&as_sdk));
    for key in ["premium_badge", "russian_copy", "campaign_banner"] {
        assert!(
            variants(&as_mini_app).contains(&(key.to_owned(), Some("on".to_owned()))),
            "{key} follows initData, not the page: {as_mini_app}"
        );
    }

    let (status, bulk) = send(
        &app,
        post(
            "/ofrep/v1/evaluate/flags",
            &launch.init_data,
            json!({"context": {"targetingKey": "victim"}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{bulk}");
    assert_eq!(variants(&bulk), variants(&as_sdk));
    let (status, single) = send(
        &app,
        post(
            "/ofrep/v1/evaluate/flags/import_hint",
            &launch.init_data,
            json!({"context": {"targetingKey": "victim"}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{single}");
    let native_import = variants(&as_sdk)
        .into_iter()
        .find(|(k, _)| k == "import_hint")
        .and_then(|(_, v)| v);
    assert_eq!(single["variant"].as_str(), native_import.as_deref());

    let res = test::call_service(
        &app,
        post(
            "/ofrep/v1/evaluate/flags",
            &launch.init_data,
            json!({"context": {}}),
        )
        .to_request(),
    )
    .await;
    let etag = res.headers().get("etag").expect("ETag").clone();
    let res = test::call_service(
        &app,
        post(
            "/ofrep/v1/evaluate/flags",
            &launch.init_data,
            json!({"context": {}}),
        )
        .insert_header(("If-None-Match", etag))
        .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    // A user without a language: the page's own `language_code` is dropped.
    let minimal = v
        .valid
        .iter()
        .find(|x| x.first_party && x.user.language_code.is_none())
        .expect("a vector without language");
    let (_, body) = send(
        &app,
        post(
            "/api/v1/evaluate",
            &minimal.init_data,
            json!({"context": {"language_code": "ru"}}),
        ),
    )
    .await;
    assert!(variants(&body).contains(&("russian_copy".to_owned(), Some("off".to_owned()))));

    ctx.state.exposures.flush().await;
    let units = exposure_units(&ctx);
    assert!(!units.iter().any(|(_, unit)| unit == "victim"), "{units:?}");
    for experiment in ["digest_layout", "import_hint"] {
        for unit in [&user.id, &minimal.user.id] {
            assert!(
                units.contains(&(experiment.to_owned(), unit.clone())),
                "{experiment} exposure of {unit}: {units:?}"
            );
        }
    }
}

/// Tampered, expired and foreign initData, and a deployment without a bot,
/// are refused with 401 problem+json, and nothing is recorded. `tma` opens
/// only the client routes.
async fn refused_init_data_records_nothing(backend: Backend) {
    let ctx = TestApp::with_settings(backend, settings(TEN_YEARS));
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    define(&ctx, &app).await;
    let v = vectors();
    let launch = full_launch(&v);
    // One byte of `user` changed: neither `hash` nor `signature` matches.
    let tampered = launch.init_data.replacen("Vladislav", "Vladislaw", 1);
    assert_ne!(tampered, launch.init_data);

    let expired_app = test::init_service(verdict::app::build(
        ctx.replica(settings(Duration::from_secs(86_400))),
    ))
    .await;
    let mut other_bot = settings(TEN_YEARS);
    other_bot.mini_apps = Arc::new(Some(MiniApps::new(
        vec![MiniAppEnvironment {
            environment: "production".into(),
            verifier: TelegramVerifier::first_party("1234567:another-bot").with_max_age(TEN_YEARS),
            events: vec!["miniapp_auth".into()],
        }],
        EVENTS_PER_MINUTE,
    )));
    let other_bot_app = test::init_service(verdict::app::build(ctx.replica(other_bot))).await;
    let no_bot_app =
        test::init_service(verdict::app::build(ctx.replica(Settings::default()))).await;

    let body = json!({"context": {"user_id": "someone"}});
    let event = json!({"events": [{"event_id": "e1", "unit_id": "u", "name": "miniapp_auth", "timestamp": chrono::Utc::now().to_rfc3339()}]});
    let cases: [(&str, _, &str, &str); 4] = [
        ("tampered", &app, tampered.as_str(), "refused"),
        (
            "expired",
            &expired_app,
            launch.init_data.as_str(),
            "refused",
        ),
        (
            "another bot",
            &other_bot_app,
            launch.init_data.as_str(),
            "refused",
        ),
        (
            "no bot configured",
            &no_bot_app,
            launch.init_data.as_str(),
            "VERDICT_TELEGRAM_BOT_TOKEN",
        ),
    ];
    for (case, app, init_data, says) in cases {
        for (uri, body) in [
            ("/api/v1/evaluate", &body),
            ("/ofrep/v1/evaluate/flags", &body),
            ("/ofrep/v1/evaluate/flags/import_hint", &body),
            ("/api/v1/events", &event),
        ] {
            let res =
                test::call_service(app, post(uri, init_data, body.clone()).to_request()).await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{case}: {uri}");
            assert_eq!(
                res.headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("application/problem+json"),
                "{case}: {uri}"
            );
            let problem: Value = test::read_body_json(res).await;
            let detail = problem["detail"].as_str().unwrap_or_default();
            assert!(detail.contains(says), "{case}: {uri}: {detail}");
        }
    }
    ctx.state.exposures.flush().await;
    assert_eq!(exposure_units(&ctx), vec![]);
    assert_eq!(event_rows(&ctx), vec![]);
}

/// Browser events: the unit is the verified user whatever `unit_id` says;
/// names off the allow-list and invalid events refuse the whole batch; the
/// per-user rate answers 429 with `Retry-After`.
async fn mini_app_events(backend: Backend) {
    let ctx = TestApp::with_settings(backend, settings(TEN_YEARS));
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let v = vectors();
    let launch = full_launch(&v);
    let now = chrono::Utc::now().to_rfc3339();
    let event = |id: &str, name: &str| json!({"event_id": id, "unit_id": "victim", "name": name, "timestamp": now});

    let mut no_unit = event("e2", "portfolio_import");
    no_unit.as_object_mut().expect("object").remove("unit_id");
    let (status, body) = send(
        &app,
        post(
            "/api/v1/events",
            &launch.init_data,
            json!({"events": [event("e1", "miniapp_auth"), no_unit]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["accepted"], 2);
    let stored = |ids: &[&str]| -> Vec<(String, String, String)> {
        event_rows(&ctx)
            .into_iter()
            .filter(|r| ids.contains(&r.0.as_str()))
            .collect()
    };
    assert_eq!(
        stored(&["e1", "e2"]),
        vec![
            ("e1".into(), launch.user.id.clone(), "miniapp_auth".into()),
            (
                "e2".into(),
                launch.user.id.clone(),
                "portfolio_import".into()
            ),
        ]
    );

    let mut bad_time = event("e4", "cta_click");
    bad_time["timestamp"] = json!("yesterday");
    for (batch, field) in [
        (
            json!([event("e3", "cta_click"), event("e4", "purchase")]),
            "events[1].name",
        ),
        (
            json!([event("e3", "cta_click"), bad_time]),
            "events[1].timestamp",
        ),
    ] {
        let (status, problem) = send(
            &app,
            post(
                "/api/v1/events",
                &launch.init_data,
                json!({"events": batch}),
            ),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
        assert_eq!(stored(&["e3", "e4"]), vec![], "nothing of a refused batch");
    }

    let (status, problem) = send(
        &app,
        post(
            "/api/v1/events",
            &launch.init_data,
            json!({"events": (0..=EVENTS_PER_MINUTE).map(|i| event(&format!("big{i}"), "cta_click")).collect::<Vec<_>>()}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["field"], "events");

    // Two of the minute's ten are spent: eight more fit, the ninth does not.
    let batch = |from: u32, n: u32| json!({"events": (from..from + n).map(|i| event(&format!("r{i}"), "cta_click")).collect::<Vec<_>>()});
    let (status, body) = send(&app, post("/api/v1/events", &launch.init_data, batch(0, 8))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let res = test::call_service(
        &app,
        post("/api/v1/events", &launch.init_data, batch(8, 1)).to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!(
        (1..=6).contains(&retry),
        "one event regains in 6 s, got {retry}"
    );
    assert_eq!(stored(&["r8"]), vec![]);

    // An sdk token keeps the unit it sends.
    let (status, _) = send(
        &app,
        ctx.request(
            "POST",
            "/api/v1/events",
            Role::Sdk,
            json!({"events": [event("s1", "purchase")]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        stored(&["s1"]),
        vec![("s1".into(), "victim".into(), "purchase".into())]
    );
}

/// Every documented operation: a preflight from the allowed origin is granted
/// exactly for the operations that accept `tma` (the four client routes, POST
/// only), never for a management route; `tma` credentials are refused on
/// every other operation; an unlisted origin is granted nothing anywhere.
async fn cors_opens_only_client_routes(backend: Backend) {
    let ctx = TestApp::with_settings(backend, settings(TEN_YEARS));
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    define(&ctx, &app).await;
    let v = vectors();
    let launch = full_launch(&v);
    let doc: Value = serde_json::from_str(&verdict::openapi::document().json).expect("doc");
    let mut client_routes = Vec::new();
    let mut management = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let takes_tma = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("tma").is_some()));
            let uri = concrete(path);
            let method = method.to_uppercase();
            for origin in [ORIGIN, "https://evil.example"] {
                let res = test::call_service(
                    &app,
                    TestRequest::default()
                        .method(Method::OPTIONS)
                        .uri(&uri)
                        .insert_header(("Origin", origin))
                        .insert_header(("Access-Control-Request-Method", method.as_str()))
                        .insert_header((
                            "Access-Control-Request-Headers",
                            "authorization,content-type",
                        ))
                        .to_request(),
                )
                .await;
                let headers = res.headers();
                let granted = headers.get("access-control-allow-origin");
                if takes_tma && origin == ORIGIN {
                    assert_eq!(res.status(), StatusCode::NO_CONTENT, "{method} {path}");
                    assert_eq!(granted.and_then(|v| v.to_str().ok()), Some(ORIGIN));
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_ascii_lowercase()
                    };
                    assert_eq!(header("access-control-allow-methods"), "post");
                    for allowed in ["authorization", "content-type", "if-none-match"] {
                        assert!(header("access-control-allow-headers").contains(allowed));
                    }
                    assert_eq!(header("access-control-max-age"), "600");
                } else {
                    assert!(
                        granted.is_none(),
                        "{origin}: {method} {path} granted a preflight"
                    );
                }
            }
            let call = TestRequest::default()
                .method(Method::from_bytes(method.as_bytes()).expect("method"))
                .uri(&uri)
                .insert_header(("Origin", ORIGIN))
                .insert_header(tma(&launch.init_data))
                .insert_header(("Content-Type", "application/json"))
                .set_payload(r#"{"context": {}, "events": []}"#);
            let res = test::call_service(&app, call.to_request()).await;
            let granted = res.headers().get("access-control-allow-origin").cloned();
            if takes_tma {
                assert_eq!(method, "POST", "{path}");
                assert_ne!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
                assert_eq!(granted.as_ref().and_then(|v| v.to_str().ok()), Some(ORIGIN));
                let exposed = res
                    .headers()
                    .get("access-control-expose-headers")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                assert!(exposed.contains("ETag"), "{path}: {exposed}");
                client_routes.push(path.clone());
            } else {
                management += 1;
                assert!(granted.is_none(), "{method} {path} answered cross-origin");
                if op.get("security").is_some() {
                    assert_eq!(
                        res.status(),
                        StatusCode::UNAUTHORIZED,
                        "{method} {path} accepted tma"
                    );
                }
            }
        }
    }
    client_routes.sort();
    assert_eq!(
        client_routes,
        [
            "/api/v1/evaluate",
            "/api/v1/events",
            "/ofrep/v1/evaluate/flags",
            "/ofrep/v1/evaluate/flags/{key}",
        ]
    );
    assert!(
        management >= 40,
        "walked {management} management operations"
    );
}

backend_tests!(
    verified_user_is_the_unit,
    refused_init_data_records_nothing,
    mini_app_events,
    cors_opens_only_client_routes,
);
