//! Runtime path: the native API, OFREP and the in-process core agree; ETags;
//! exposures; replicas; serving through a database outage.

mod common;

use std::time::{Duration, Instant};
use verdict_testkit::backend_tests;

use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use common::{Backend, TestApp, send};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict::db::{DbConnection, schema::exposures};
use verdict_core::{CompiledRuleset, Context, Ruleset};

/// A segment, a layer and flags exercising every serve kind and many operators.
async fn define<S, B>(ctx: &TestApp, app: &S)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let segment = json!({"key": "vip_users", "conditions": [{"attribute": "tier", "op": "in", "value": ["vip"]}]});
    let mut posts = vec![("/api/v1/segments", segment)];
    let string_flag = |key: &str, rules: Value, fallthrough: Value| {
        json!({
            "key": key, "value_type": "string",
            "variants": [{"key": "control", "value": "Try Pro free"}, {"key": "urgency", "value": "Pro trial ends today"}, {"key": "social", "value": "Join 10k traders"}],
            "default_variant": "control",
            "environments": {"production": {"enabled": true, "rules": rules, "fallthrough": fallthrough}}
        })
    };
    let split = |rollout: f64, experiment: Option<&str>| {
        let mut s = json!({"split": {"rollout": rollout, "weights": [
            {"variant": "control", "weight": 34.0}, {"variant": "urgency", "weight": 33.0}, {"variant": "social", "weight": 33.0}]}});
        if let Some(key) = experiment {
            s["split"]["experiment"] = json!({"key": key, "phase": 1});
        }
        s
    };
    posts.push(("/api/v1/flags", string_flag("cta_copy", json!([
        {"id": "vip", "segments": ["vip_users"], "serve": {"variant": "social"}},
        {"id": "new_app", "conditions": [{"attribute": "app_version", "op": "semver_gte", "value": "2.0.0"}, {"attribute": "language", "op": "eq", "value": "ru"}], "serve": split(50.0, None)}
    ]), split(80.0, Some("cta_copy")))));
    posts.push(("/api/v1/flags", string_flag("digest_layout", json!([
        {"id": "heavy", "conditions": [{"attribute": "portfolio_size", "op": "gte", "value": 10}], "serve": {"variant": "urgency"}},
        {"id": "recent", "conditions": [{"attribute": "signed_up_at", "op": "after", "value": "2026-06-01T00:00:00Z"}], "serve": split(100.0, None)}
    ]), json!({"variant": "control"}))));
    posts.push(("/api/v1/flags", string_flag("import_hint", json!([
        {"id": "excluded", "conditions": [{"attribute": "country", "op": "not_in", "value": ["RU", "KZ"]}, {"attribute": "email", "op": "ends_with", "value": "@example.com"}], "serve": {"variant": "social"}}
    ]), split(100.0, Some("import_hint")))));
    let mut by_chat = string_flag("chat_banner", json!([]), split(30.0, None));
    by_chat["bucket_by"] = json!("chat_id");
    posts.push(("/api/v1/flags", by_chat));
    posts.push(("/api/v1/flags", json!({
        "key": "vip_paywall_copy", "value_type": "json",
        "variants": [{"key": "control", "value": {"title": "VIP", "price": 500}}, {"key": "bold", "value": {"title": "Go VIP", "price": 450}}],
        "default_variant": "control",
        "environments": {"production": {"enabled": true, "fallthrough": {"split": {"weights": [{"variant": "control", "weight": 50.0}, {"variant": "bold", "weight": 50.0}], "experiment": {"key": "vip_paywall_copy", "phase": 1}}}}}
    })));
    posts.push((
        "/api/v1/layers",
        json!({"key": "monetization", "holdout": {"start": 0, "end": 1000},
        "members": [{"flag": "vip_paywall_copy", "range": {"start": 1000, "end": 10000}}]}),
    ));
    for (uri, body) in posts {
        let (status, res) = send(app, ctx.request("POST", uri, Role::Pm, body)).await;
        assert_eq!(status, StatusCode::CREATED, "{uri}: {res}");
    }
}

fn random_context(rng: &mut StdRng) -> Value {
    let mut c = serde_json::Map::new();
    if rng.random_bool(0.97) {
        c.insert(
            "user_id".into(),
            json!(rng.random_range(1..5_000_000u64).to_string()),
        );
    }
    if rng.random_bool(0.5) {
        c.insert(
            "chat_id".into(),
            json!(rng.random_range(-100_000..100_000i64)),
        );
    }
    let tiers = ["free", "pro", "pro_plus", "vip"];
    c.insert(
        "tier".into(),
        json!(tiers[rng.random_range(0..tiers.len())]),
    );
    c.insert(
        "language".into(),
        json!(if rng.random_bool(0.5) { "ru" } else { "en" }),
    );
    c.insert(
        "app_version".into(),
        json!(format!(
            "{}.{}.{}",
            rng.random_range(1..4),
            rng.random_range(0..10),
            rng.random_range(0..5)
        )),
    );
    c.insert("portfolio_size".into(), json!(rng.random_range(0..20)));
    c.insert(
        "signed_up_at".into(),
        json!(format!("2026-{:02}-15T12:00:00Z", rng.random_range(1..13))),
    );
    c.insert(
        "country".into(),
        json!(["RU", "KZ", "DE", "US"][rng.random_range(0..4)]),
    );
    c.insert(
        "email".into(),
        json!(if rng.random_bool(0.3) {
            "a@example.com"
        } else {
            "b@mail.ru"
        }),
    );
    Value::Object(c)
}

/// The same 10,000 random contexts evaluate identically through the native
/// API, OFREP and the in-process core compiled from `GET /api/v1/sdk/config`.
#[actix_web::test]
async fn native_api_ofrep_and_core_agree() {
    let ctx = TestApp::new(Backend::Sqlite);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    define(&ctx, &app).await;
    let (status, config) = send(
        &app,
        ctx.request("GET", "/api/v1/sdk/config", Role::Sdk, Value::Null),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let ruleset: Ruleset = serde_json::from_value(config).expect("config is a Ruleset");
    assert_eq!(ruleset.flags.len(), 5);
    let (core, warnings) = CompiledRuleset::compile(ruleset);
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut rng = StdRng::seed_from_u64(20261121);
    let mut reasons = std::collections::BTreeSet::new();
    for _ in 0..10_000 {
        let context = random_context(&mut rng);
        let (_, native) = send(
            &app,
            ctx.request(
                "POST",
                "/api/v1/evaluate",
                Role::Sdk,
                json!({"context": context}),
            ),
        )
        .await;
        let mut ofrep_context = context.clone();
        if let Some(user) = ofrep_context
            .as_object_mut()
            .and_then(|c| c.remove("user_id"))
        {
            ofrep_context["targetingKey"] = user;
        }
        let (_, ofrep) = send(
            &app,
            ctx.request(
                "POST",
                "/ofrep/v1/evaluate/flags",
                Role::Sdk,
                json!({"context": ofrep_context}),
            ),
        )
        .await;
        let local = Context::from_json(context.clone()).expect("object");
        let expected: Vec<_> = core.evaluate_all(&local).collect();
        let native = native["flags"].as_array().expect("native flags");
        let ofrep = ofrep["flags"].as_array().expect("ofrep flags");
        assert_eq!(
            (native.len(), ofrep.len()),
            (expected.len(), expected.len())
        );
        for ((e, n), o) in expected.iter().zip(native).zip(ofrep) {
            assert_eq!(n["key"], e.flag_key);
            assert_eq!(n["value"], *e.value, "{context}");
            assert_eq!(n["variant"].as_str(), e.variant, "{context}");
            assert_eq!(n["reason"], e.reason.as_ofrep_str());
            assert_eq!(o["key"], e.flag_key);
            match e.error {
                Some(code) => assert_eq!(o["errorCode"], code.as_ofrep_str(), "{context}"),
                None => {
                    assert_eq!(o["value"], *e.value, "{context}");
                    assert_eq!(o["variant"].as_str(), e.variant);
                    assert_eq!(o["reason"], e.reason.as_ofrep_str());
                }
            }
            reasons.insert(e.reason.as_ofrep_str());
        }
    }
    for reason in ["SPLIT", "TARGETING_MATCH", "DEFAULT"] {
        assert!(
            reasons.contains(reason),
            "contexts exercised {reason}: {reasons:?}"
        );
    }
}

async fn sdk_config_etag(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let get = |etag: Option<&str>| {
        let mut req = ctx.request("GET", "/api/v1/sdk/config", Role::Sdk, Value::Null);
        if let Some(etag) = etag {
            req = req.insert_header(("If-None-Match", etag.to_owned()));
        }
        req.to_request()
    };
    let res = test::call_service(&app, get(None)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res
        .headers()
        .get("etag")
        .expect("etag")
        .to_str()
        .expect("ascii")
        .to_owned();
    let res = test::call_service(&app, get(Some(&etag))).await;
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    define(&ctx, &app).await;
    let res = test::call_service(&app, get(Some(&etag))).await;
    assert_eq!(res.status(), StatusCode::OK, "a change gives a new ETag");
    let new_etag = res
        .headers()
        .get("etag")
        .expect("etag")
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_ne!(etag, new_etag);
    let body: Value = test::read_body_json(res).await;
    assert_eq!(body["environment"], "production");
    let staging = TestRequest::get()
        .uri("/api/v1/sdk/config")
        .insert_header(("Authorization", format!("Bearer {}", staging_token())))
        .to_request();
    let body: Value = test::read_body_json(test::call_service(&app, staging).await).await;
    assert_eq!(
        (
            body["environment"].as_str(),
            body["flags"].as_array().map(Vec::len)
        ),
        (Some("staging"), Some(0)),
        "flags were defined for production only"
    );
}

fn staging_token() -> String {
    verdict::auth::JwtKeys::new(Some(common::SECRET), None)
        .expect("keys")
        .mint(
            Role::Sdk,
            "staging-app",
            Duration::from_secs(60),
            Some("staging"),
        )
        .expect("mint")
}

async fn exposures_once_per_unit(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    define(&ctx, &app).await;
    for round in 0..3 {
        for user in 0..200 {
            let body =
                json!({"context": {"user_id": user.to_string(), "tier": "free", "country": "RU"}});
            let (status, _) = send(
                &app,
                ctx.request("POST", "/api/v1/evaluate", Role::Sdk, body),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "round {round}");
        }
    }
    ctx.state.exposures.flush().await;
    let rows: Vec<(String, String, String)> = {
        let mut conn = ctx.pool().conn().expect("conn");
        exposures::table
            .select((
                exposures::experiment_key,
                exposures::unit_id,
                exposures::variant,
            ))
            .load(&mut *conn as &mut DbConnection)
            .expect("rows")
    };
    let count = |key: &str| rows.iter().filter(|r| r.0 == key).count();
    assert_eq!(
        count("import_hint"),
        200,
        "every unit once, however often evaluated"
    );
    let cta = count("cta_copy");
    assert!(
        (120..=200).contains(&cta),
        "80% rollout of 200 units, got {cta}"
    );
    let vip = count("vip_paywall_copy");
    assert!(
        (150..=200).contains(&vip),
        "layer keeps 10% in holdout, got {vip}"
    );
    assert!(
        rows.iter()
            .all(|r| ["control", "urgency", "social", "bold"].contains(&r.2.as_str()))
    );

    let report = json!({"exposures": [
        {"experiment": "import_hint", "phase": 1, "variant": "social", "unit_id": "0", "timestamp": "2026-11-01T00:00:00Z"},
        {"experiment": "import_hint", "phase": 1, "variant": "control", "unit_id": "sdk-unit", "timestamp": "2026-11-01T00:00:00Z"}
    ]});
    for expected_new in [1, 0] {
        let (status, body) = send(
            &app,
            ctx.request("POST", "/api/v1/exposures", Role::Sdk, report.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            (body["accepted"].as_u64(), body["first_exposures"].as_u64()),
            (Some(2), Some(expected_new))
        );
    }
}

backend_tests!(sdk_config_etag, exposures_once_per_unit);

#[actix_web::test]
async fn ofrep_protocol() {
    let ctx = TestApp::new(Backend::Sqlite);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    define(&ctx, &app).await;
    let raw = |uri: &str, body: &str| {
        TestRequest::post()
            .uri(uri)
            .insert_header(("X-API-Key", ctx.token(Role::Sdk)))
            .insert_header(("Content-Type", "application/json"))
            .set_payload(body.to_owned())
    };
    let single = "/ofrep/v1/evaluate/flags/import_hint";
    let (status, ok) = send(
        &app,
        raw(
            single,
            r#"{"context": {"targetingKey": "42", "country": "RU"}}"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    assert_eq!(
        (ok["key"].as_str(), ok["reason"].as_str()),
        (Some("import_hint"), Some("SPLIT"))
    );
    assert!(
        ok["variant"].is_string() && ok["value"].is_string() && ok["metadata"]["flagVersion"] == 1
    );
    let cases = [
        (
            "/ofrep/v1/evaluate/flags/nope",
            r#"{"context": {"targetingKey": "42"}}"#,
            404,
            "FLAG_NOT_FOUND",
        ),
        (
            single,
            r#"{"context": {"country": "RU"}}"#,
            400,
            "TARGETING_KEY_MISSING",
        ),
        (single, r#"{"context": "#, 400, "PARSE_ERROR"),
        (single, r#"{"context": [1, 2]}"#, 400, "INVALID_CONTEXT"),
        (
            single,
            r#"{"context": {"targetingKey": 42}}"#,
            400,
            "INVALID_CONTEXT",
        ),
    ];
    for (uri, body, status, code) in cases {
        let (got, res) = send(&app, raw(uri, body)).await;
        assert_eq!(
            (got.as_u16(), res["errorCode"].as_str()),
            (status, Some(code)),
            "{uri} {body}: {res}"
        );
        assert!(res["errorDetails"].is_string());
        if status != 404 || code == "FLAG_NOT_FOUND" {
            assert!(res["key"].is_string(), "single-flag errors name the key");
        }
    }
    let bulk = "/ofrep/v1/evaluate/flags";
    let (status, res) = send(&app, raw(bulk, "not json")).await;
    assert_eq!(
        (status.as_u16(), res["errorCode"].as_str()),
        (400, Some("PARSE_ERROR"))
    );
    let (status, res) = send(&app, raw(bulk, r#"{"context": 5}"#)).await;
    assert_eq!(
        (status.as_u16(), res["errorCode"].as_str()),
        (400, Some("INVALID_CONTEXT"))
    );
    let (status, res) = send(&app, raw(bulk, r#"{"context": {"country": "RU"}}"#)).await;
    assert_eq!(status, StatusCode::OK);
    let missing: Vec<&str> = res["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .filter(|f| f["errorCode"] == "TARGETING_KEY_MISSING")
        .filter_map(|f| f["key"].as_str())
        .collect();
    assert_eq!(
        missing,
        vec!["chat_banner", "cta_copy", "import_hint", "vip_paywall_copy"],
        "per-flag failures inside a 200"
    );

    let body = r#"{"context": {"targetingKey": "42"}}"#;
    let res = test::call_service(&app, raw(bulk, body).to_request()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res
        .headers()
        .get("etag")
        .expect("etag")
        .to_str()
        .expect("ascii")
        .to_owned();
    let again = raw(bulk, body)
        .insert_header(("If-None-Match", etag.clone()))
        .to_request();
    assert_eq!(
        test::call_service(&app, again).await.status(),
        StatusCode::NOT_MODIFIED
    );
    let other = raw(
        bulk,
        r#"{"context": {"targetingKey": "43", "tier": "vip"}}"#,
    )
    .insert_header(("If-None-Match", etag))
    .to_request();
    assert_eq!(
        test::call_service(&app, other).await.status(),
        StatusCode::OK,
        "another context, another result"
    );
    let no_auth = TestRequest::post().uri(bulk).set_payload(body).to_request();
    assert_eq!(
        test::call_service(&app, no_auth).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// A change through one replica is served by another replica on the same
/// PostgreSQL database within 1 s.
#[actix_web::test]
async fn second_replica_sees_change_within_a_second() {
    let ctx = TestApp::new(Backend::Postgres);
    let primary = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let replica_state = ctx.replica(verdict::state::Settings::default());
    let replica_db = replica_state.db.clone();
    let follower = actix_web::rt::spawn(
        replica_state
            .snapshots
            .clone()
            .follow(replica_db, Duration::from_millis(250)),
    );
    let replica = test::init_service(verdict::app::build(replica_state)).await;
    define(&ctx, &primary).await;
    let check = || {
        ctx.request(
            "POST",
            "/api/v1/evaluate/digest_layout",
            Role::Sdk,
            json!({"context": {"user_id": "1", "portfolio_size": 1}}),
        )
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while send(&replica, check()).await.0 != StatusCode::OK {
        assert!(Instant::now() < deadline, "replica never saw the new flag");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let patch = json!({"fallthrough": {"variant": "social"}});
    let (status, _) = send(
        &primary,
        ctx.request(
            "PATCH",
            "/api/v1/flags/digest_layout/environments/production",
            Role::Pm,
            patch,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let changed = Instant::now();
    loop {
        let (_, res) = send(&replica, check()).await;
        if res["variant"] == "social" {
            break;
        }
        assert!(
            changed.elapsed() < Duration::from_secs(1),
            "replica still serves {res} after 1 s"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    follower.abort();
}

/// With the database gone, evaluation keeps serving the last snapshot.
#[actix_web::test]
async fn serves_last_snapshot_while_database_is_down() {
    let ctx = TestApp::new(Backend::Postgres);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    define(&ctx, &app).await;
    let state = ctx.state.clone();
    let token = ctx.token(Role::Sdk);
    let follower = actix_web::rt::spawn(
        state
            .snapshots
            .clone()
            .follow(state.db.clone(), Duration::from_millis(50)),
    );
    drop(ctx);
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    let req = TestRequest::post()
        .uri("/api/v1/evaluate/digest_layout")
        .insert_header(("Authorization", format!("Bearer {token}")))
        .set_json(json!({"context": {"user_id": "1", "portfolio_size": 12}}))
        .to_request();
    let res: Value = test::call_and_read_body_json(&app, req).await;
    assert_eq!(
        (res["variant"].as_str(), res["reason"].as_str()),
        (Some("urgency"), Some("TARGETING_MATCH"))
    );
    follower.abort();
}
