//! The stateless statistics endpoints through the real application:
//! `/api/v1/stats/analyze` against every analysis case of the engine's reference
//! values (`stats/tests/reference.json`: gbstats / scipy / statsmodels),
//! `/api/v1/stats/power` against the reference sample sizes, and bad input.
//!
//! The handlers touch no database, so these run on SQLite only.

mod common;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::test::{self, TestRequest};
use common::{Backend, TestApp};
use serde_json::{Value, json};
use verdict::auth::Role;

/// Relative tolerance on estimates, standard errors, intervals, means, df, risks.
const REL: f64 = 1e-9;
/// Absolute tolerance on p-values and chance to win.
const ABS: f64 = 1e-9;

/// Reference cases the HTTP layer rejects with 422 (naming this field) where
/// the engine itself reports a per-comparison error: a negative count and a
/// missing sufficient statistic are malformed requests, not degenerate data.
const REJECTED: &[(&str, &str)] = &[
    ("degenerate_negative_n", "arms[1].n"),
    ("degenerate_missing_field", "arms[0].pre_sum"),
];

/// Every field of a comparison; all are present, `null` when not produced.
const COMPARISON_FIELDS: [&str; 14] = [
    "arm",
    "baseline",
    "treatment_mean",
    "estimate",
    "se",
    "ci_lower",
    "ci_upper",
    "p_value",
    "p_value_adjusted",
    "df",
    "chance_to_win",
    "risk_control",
    "risk_treatment",
    "error",
];

fn reference() -> Value {
    let text = include_str!("../stats/tests/reference.json");
    serde_json::from_str(text).expect("reference.json parses")
}

// Comparison helpers copied from stats/tests/reference.rs.

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn assert_rel(ctx: &str, got: Option<f64>, want: f64, floor: f64) {
    let got = got.unwrap_or_else(|| panic!("{ctx}: missing value, expected {want}"));
    let err = (got - want).abs();
    assert!(
        err <= REL * want.abs() || err <= floor,
        "{ctx}: got {got:.17e}, want {want:.17e} (rel err {:.3e})",
        err / want.abs()
    );
}

fn assert_abs(ctx: &str, got: Option<f64>, want: f64) {
    let got = got.unwrap_or_else(|| panic!("{ctx}: missing value, expected {want}"));
    assert!(
        (got - want).abs() <= ABS,
        "{ctx}: got {got:.17e}, want {want:.17e}"
    );
}

/// A POST of raw `body` text to `path`, with `token` as bearer if given.
fn request(path: &str, token: Option<&str>, body: &str) -> TestRequest {
    let req = TestRequest::post()
        .uri(path)
        .insert_header(("Content-Type", "application/json"))
        .set_payload(body.to_owned());
    match token {
        Some(token) => req.insert_header(("Authorization", format!("Bearer {token}"))),
        None => req,
    }
}

/// The status, content type and parsed body (`Value::Null` if not JSON).
async fn read(res: ServiceResponse<impl MessageBody>) -> (u16, String, Value) {
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = test::read_body(res).await;
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, content_type, value)
}

/// `post!(app, path, token, body)`: sends the request, returns [`read`]'s triple.
macro_rules! post {
    ($app:expr, $path:expr, $token:expr, $body:expr $(,)?) => {
        read(test::call_service($app, request($path, $token, $body).to_request()).await).await
    };
}

/// Asserts a problem+json response with `status` naming `field` first.
fn assert_problem(ctx: &str, got: &(u16, String, Value), status: u16, field: Option<&str>) {
    let (code, content_type, body) = got;
    assert_eq!(*code, status, "{ctx}: {body}");
    assert_eq!(content_type, "application/problem+json", "{ctx}");
    assert_eq!(body["status"], status, "{ctx}: {body}");
    if let Some(field) = field {
        assert_eq!(body["field"], field, "{ctx}: {body}");
    }
}

fn check_comparison(ctx: &str, got: &Value, want: &Value) {
    for key in COMPARISON_FIELDS {
        assert!(
            got.get(key).is_some(),
            "{ctx}: `{key}` must be present (explicit null): {got}"
        );
    }
    assert_eq!(got["arm"], want["arm"], "{ctx}: arm order");
    if let Some(fragment) = want["error_contains"].as_str() {
        let err = got["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{ctx}: expected error: {got}"));
        assert!(
            err.contains(fragment),
            "{ctx}: error {err:?} lacks {fragment:?}"
        );
        for key in ["estimate", "se", "ci_lower", "ci_upper", "p_value"] {
            assert!(got[key].is_null(), "{ctx}: no inference on error ({key})");
        }
        return;
    }
    assert!(got["error"].is_null(), "{ctx}: unexpected error {got}");
    let se = num(want, "se").unwrap_or(0.0);
    for key in ["estimate", "se", "baseline", "df"] {
        match num(want, key) {
            Some(w) => assert_rel(&format!("{ctx}: {key}"), num(got, key), w, 0.0),
            None if key == "df" => assert!(got["df"].is_null(), "{ctx}: df should be null"),
            None => {}
        }
    }
    for key in ["ci_lower", "ci_upper"] {
        let w = num(want, key).unwrap_or_else(|| panic!("{ctx}: {key} in reference"));
        // A bound that happens to sit near 0 is compared relative to the se.
        assert_rel(&format!("{ctx}: {key}"), num(got, key), w, REL * se * 1e-3);
    }
    for key in ["p_value", "p_value_adjusted", "chance_to_win"] {
        match num(want, key) {
            Some(w) => assert_abs(&format!("{ctx}: {key}"), num(got, key), w),
            None => assert!(got[key].is_null(), "{ctx}: {key} should be null"),
        }
    }
    for key in ["risk_control", "risk_treatment"] {
        match num(want, key) {
            Some(w) => assert_rel(&format!("{ctx}: {key}"), num(got, key), w, 1e-15),
            None => assert!(got[key].is_null(), "{ctx}: {key} should be null"),
        }
    }
}

#[actix_web::test]
async fn analyze_reproduces_every_reference_case() {
    let ctx = TestApp::new(Backend::Sqlite);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let token = ctx.token(Role::Analyst);
    let r = reference();
    let cases = r["analyze"].as_array().expect("analyze cases");
    assert!(cases.len() >= 30, "reference has its analysis cases");
    let mut compared = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        let body = case["request"].to_string();
        let got = post!(&app, "/api/v1/stats/analyze", Some(&token), &body);
        if let Some((_, field)) = REJECTED.iter().find(|(n, _)| *n == name) {
            assert_problem(name, &got, 422, Some(field));
            continue;
        }
        let (status, _, res) = got;
        assert_eq!(status, 200, "{name}: {res}");
        let expected = &case["expected"];
        let srm = expected["srm"].as_object().expect("reference srm");
        assert!(res.get("srm_error").is_some(), "{name}: srm_error present");
        assert_rel(
            &format!("{name}: srm chi2"),
            num(&res["srm"], "chi_square"),
            srm["chi_square"].as_f64().unwrap_or(f64::NAN),
            1e-12,
        );
        assert_abs(
            &format!("{name}: srm p"),
            num(&res["srm"], "p_value"),
            srm["p_value"].as_f64().unwrap_or(f64::NAN),
        );
        assert_eq!(
            res["srm"]["mismatch"].as_bool(),
            srm["mismatch"].as_bool(),
            "{name}: mismatch"
        );
        let want = expected["comparisons"].as_array().expect("comparisons");
        let got = res["comparisons"]
            .as_array()
            .expect("comparisons in response");
        assert_eq!(got.len(), want.len(), "{name}: comparison count");
        for (g, w) in got.iter().zip(want) {
            check_comparison(&format!("{name}/{}", w["arm"]), g, w);
        }
        compared += 1;
    }
    assert_eq!(compared + REJECTED.len(), cases.len());
}

/// The reference cases cover every engine, metric type, CUPED and multi-arm.
#[test]
fn reference_covers_the_required_cases() {
    let r = reference();
    let cases = r["analyze"].as_array().expect("cases");
    let has = |pred: &dyn Fn(&Value) -> bool| cases.iter().any(|c| pred(&c["request"]));
    assert!(has(&|q| q["metric"]["type"] == "binomial"));
    assert!(has(&|q| q["metric"]["type"] == "mean"));
    assert!(has(&|q| q["metric"]["type"] == "ratio"));
    assert!(has(
        &|q| q["metric"]["cuped"] == true && q["metric"]["type"] == "ratio"
    ));
    assert!(has(&|q| q["arms"].as_array().map_or(0, Vec::len) > 2));
    assert!(has(&|q| q["engine"] == "sequential"));
    assert!(has(
        &|q| q["engine"] == "bayesian" && q["prior"]["proper"] == true
    ));
}

#[actix_web::test]
async fn power_matches_reference_sample_sizes() {
    let ctx = TestApp::new(Backend::Sqlite);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let token = ctx.token(Role::Analyst);
    let cases = reference()["power"]
        .as_array()
        .expect("power cases")
        .clone();
    assert!(!cases.is_empty());
    for case in cases {
        let base = &case["baseline"];
        let mut body = json!({
            "mde_relative": case["mde_relative"],
            "alpha": case["alpha"],
            "power": case["power"],
        });
        if base["rate"].is_number() {
            body["baseline_rate"] = base["rate"].clone();
        } else {
            body["baseline_mean"] = base["mean"]["mean"].clone();
            body["baseline_sd"] = base["mean"]["sd"].clone();
        }
        let (status, _, res) = post!(&app, "/api/v1/stats/power", Some(&token), &body.to_string(),);
        assert_eq!(status, 200, "{body}: {res}");
        assert_eq!(res, json!({"n_per_arm": case["n_per_arm"]}), "{body}");
    }
    // alpha and power default to 0.05 and 0.8.
    let (status, _, res) = post!(
        &app,
        "/api/v1/stats/power",
        Some(&token),
        r#"{"baseline_rate": 0.1, "mde_relative": 0.05}"#,
    );
    assert_eq!((status, res), (200, json!({"n_per_arm": 57760})));
}

#[actix_web::test]
async fn power_rejects_bad_input() {
    let ctx = TestApp::new(Backend::Sqlite);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let token = ctx.token(Role::Analyst);
    let cases: &[(&str, u16, &str)] = &[
        (
            r#"{"baseline_rate": 0.1, "mde_relative": 0.05, "beta": 0.2}"#,
            400,
            "beta",
        ),
        (r#"{"mde_relative": 0.05}"#, 422, "baseline_rate"),
        (
            r#"{"baseline_rate": 0.1, "baseline_mean": 3, "baseline_sd": 1, "mde_relative": 0.05}"#,
            422,
            "baseline_mean",
        ),
        (
            r#"{"baseline_mean": 3, "mde_relative": 0.05}"#,
            422,
            "baseline_sd",
        ),
        (
            r#"{"baseline_mean": 0, "baseline_sd": 1, "mde_relative": 0.05}"#,
            422,
            "baseline_mean",
        ),
        (
            r#"{"baseline_mean": 3, "baseline_sd": 0, "mde_relative": 0.05}"#,
            422,
            "baseline_sd",
        ),
        (
            r#"{"baseline_rate": 1.2, "mde_relative": 0.05}"#,
            422,
            "baseline_rate",
        ),
        (
            r#"{"baseline_rate": 0.6, "mde_relative": 1.0}"#,
            422,
            "mde_relative",
        ),
        (
            r#"{"baseline_rate": 0.1, "mde_relative": 0}"#,
            422,
            "mde_relative",
        ),
        (
            r#"{"baseline_rate": 0.1, "mde_relative": 0.05, "alpha": 1.5}"#,
            422,
            "alpha",
        ),
        (
            r#"{"baseline_rate": 0.1, "mde_relative": 0.05, "power": 1}"#,
            422,
            "power",
        ),
        // Too small an effect to plan for: the sample size overflows.
        (
            r#"{"baseline_mean": 1, "baseline_sd": 1, "mde_relative": 1e-300}"#,
            422,
            "mde_relative",
        ),
    ];
    for (body, status, field) in cases {
        let got = post!(&app, "/api/v1/stats/power", Some(&token), body);
        assert_problem(body, &got, *status, Some(field));
    }
    // A missing required field is a 400 whose detail names it.
    let got = post!(
        &app,
        "/api/v1/stats/power",
        Some(&token),
        r#"{"baseline_rate": 0.1}"#
    );
    assert_problem("missing mde", &got, 400, None);
    assert!(
        got.2["detail"]
            .as_str()
            .unwrap_or("")
            .contains("mde_relative"),
        "{}",
        got.2
    );
}

fn two_arms() -> Value {
    json!({
        "metric": {"type": "binomial"},
        "arms": [
            {"name": "control", "n": 5000, "sum": 500},
            {"name": "treatment", "n": 5100, "sum": 558}
        ]
    })
}

#[actix_web::test]
async fn analyze_rejects_bad_input() {
    let ctx = TestApp::new(Backend::Sqlite);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let token = ctx.token(Role::Analyst);
    macro_rules! call {
        ($body:expr) => {
            post!(&app, "/api/v1/stats/analyze", Some(&token), &$body)
        };
    }

    // Malformed JSON.
    let got = call!(r#"{"metric": {"type": "binomial"}, "arms": ["#);
    assert_problem("malformed", &got, 400, None);
    // Unknown fields, at any depth, are named.
    let mut body = two_arms();
    body["confidence"] = json!(0.95);
    assert_problem(
        "unknown top-level",
        &call!(body.to_string()),
        400,
        Some("confidence"),
    );
    let mut body = two_arms();
    body["arms"][1]["conversions"] = json!(3);
    let got = call!(body.to_string());
    assert_problem("unknown arm field", &got, 400, Some("arms[1].conversions"));
    assert!(
        got.2["detail"]
            .as_str()
            .unwrap_or("")
            .contains("conversions"),
        "{}",
        got.2
    );
    // Wrong enum value.
    let mut body = two_arms();
    body["engine"] = json!("magic");
    assert_problem("bad engine", &call!(body.to_string()), 400, Some("engine"));

    // Semantically invalid values: 422 naming the field.
    // (JSON pointer into the valid body, replacement value, field the 422 names)
    let invalid: &[(&str, Value, &str)] = &[
        ("/alpha", json!(1.5), "alpha"),
        ("/alpha", json!(0), "alpha"),
        (
            "/arms",
            json!([{"name": "control", "n": 5000, "sum": 500}]),
            "arms",
        ),
        ("/arms", json!([]), "arms"),
        ("/weights", json!([0.5, 0.3, 0.2]), "weights"),
        ("/weights", json!([0.5, 0]), "weights[1]"),
        ("/weights", json!([0.5, -1]), "weights[1]"),
        ("/sequential_tuning", json!(0), "sequential_tuning"),
        (
            "/prior",
            json!({"proper": true, "stddev": 0}),
            "prior.stddev",
        ),
        ("/arms/1/n", json!(-1), "arms[1].n"),
        ("/arms/0/sum", json!(5001), "arms[0].sum"),
        ("/arms/0/sum", json!(-1), "arms[0].sum"),
        ("/arms/1/name", json!("control"), "arms[1].name"),
        ("/arms/0/name", json!(" "), "arms[0].name"),
        (
            "/arms/1",
            json!({"name": "treatment", "n": 5100}),
            "arms[1].sum",
        ),
        ("/metric", json!({"type": "mean"}), "arms[0].sum_squares"),
        ("/metric", json!({"type": "ratio"}), "arms[0].numerator_sum"),
        (
            "/metric",
            json!({"type": "binomial", "cuped": true}),
            "arms[0].pre_sum",
        ),
    ];
    for (pointer, value, field) in invalid {
        let mut body = two_arms();
        match body.pointer_mut(pointer) {
            Some(slot) => *slot = value.clone(),
            None => {
                let key = pointer.trim_start_matches('/');
                body[key] = value.clone();
            }
        }
        let got = call!(body.to_string());
        assert_problem(&body.to_string(), &got, 422, Some(field));
        assert!(got.2["errors"].is_array(), "{}", got.2);
    }

    // Every offending field is listed.
    let mut body = two_arms();
    body["alpha"] = json!(2);
    body["arms"][1]["n"] = json!(-3);
    let (_, _, problem) = call!(body.to_string());
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"alpha") && fields.contains(&"arms[1].n"),
        "{problem}"
    );
}

/// Degenerate data is not an HTTP error: the comparison carries `error` and
/// nulls, the SRM check reports why it could not run.
#[actix_web::test]
async fn analyze_reports_degenerate_data_per_comparison() {
    let ctx = TestApp::new(Backend::Sqlite);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let token = ctx.token(Role::Analyst);
    let body = json!({
        "metric": {"type": "binomial"},
        "engine": "bayesian",
        "arms": [{"name": "control", "n": 0, "sum": 0}, {"name": "b", "n": 0, "sum": 0}]
    });
    let (status, _, res) = post!(
        &app,
        "/api/v1/stats/analyze",
        Some(&token),
        &body.to_string(),
    );
    assert_eq!(status, 200, "{res}");
    assert!(
        res["srm"].is_null() && res["srm_error"].is_string(),
        "{res}"
    );
    let comparison = &res["comparisons"][0];
    assert!(
        comparison["error"]
            .as_str()
            .unwrap_or("")
            .contains("too few units"),
        "{res}"
    );
    for key in COMPARISON_FIELDS {
        assert!(comparison.get(key).is_some(), "{key} present: {res}");
    }
}

#[actix_web::test]
async fn analyst_and_above_only() {
    let ctx = TestApp::new(Backend::Sqlite);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let analyze = two_arms().to_string();
    let power = r#"{"baseline_rate": 0.1, "mde_relative": 0.05}"#;
    for (path, body) in [
        ("/api/v1/stats/analyze", analyze.as_str()),
        ("/api/v1/stats/power", power),
    ] {
        let got = post!(&app, path, None, body);
        assert_problem(path, &got, 401, None);
        let got = post!(&app, path, Some(&ctx.token(Role::Sdk)), body);
        assert_problem(path, &got, 403, None);
        for role in [Role::Analyst, Role::Pm, Role::Admin] {
            let (status, _, res) = post!(&app, path, Some(&ctx.token(role)), body);
            assert_eq!(status, 200, "{path} as {role}: {res}");
        }
    }
}

/// The OpenAPI document describes both operations with their least role and
/// shows example bodies.
#[test]
fn openapi_documents_the_endpoints() {
    let doc: Value =
        serde_json::to_value(verdict::openapi::generate()).expect("document serializes");
    for path in ["/api/v1/stats/analyze", "/api/v1/stats/power"] {
        let op = &doc["paths"][path]["post"];
        assert_eq!(op["security"][0]["bearer"][0], "analyst", "{path}");
        assert_eq!(op["tags"][0], "statistics", "{path}");
        assert!(op["requestBody"].is_object(), "{path}");
        for status in ["200", "400", "401", "403", "422"] {
            assert!(op["responses"][status].is_object(), "{path} {status}");
        }
    }
    let schemas = &doc["components"]["schemas"];
    for name in [
        "AnalysisRequest",
        "AnalysisResult",
        "ArmData",
        "PowerRequest",
    ] {
        assert!(
            schemas[name]["example"].is_object(),
            "{name} has an example"
        );
    }
}

/// Numbers of `got` match the (rounded) documented `want` to 6 significant digits.
fn assert_close_json(ctx: &str, got: &Value, want: &Value) {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (
                g.as_f64().unwrap_or(f64::NAN),
                w.as_f64().unwrap_or(f64::NAN),
            );
            assert!(
                (g - w).abs() <= 1e-5 * w.abs().max(0.1),
                "{ctx}: got {g}, documented {w}"
            );
        }
        (Value::Object(g), Value::Object(w)) => {
            assert_eq!(g.len(), w.len(), "{ctx}: same fields");
            for (key, w) in w {
                assert_close_json(&format!("{ctx}.{key}"), &g[key], w);
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "{ctx}: length");
            for (i, (g, w)) in g.iter().zip(w).enumerate() {
                assert_close_json(&format!("{ctx}[{i}]"), g, w);
            }
        }
        _ => assert_eq!(got, want, "{ctx}"),
    }
}

/// The documented request examples are accepted and produce the documented
/// response examples.
#[actix_web::test]
async fn openapi_examples_are_accurate() {
    let ctx = TestApp::new(Backend::Sqlite);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let token = ctx.token(Role::Analyst);
    let doc: Value =
        serde_json::to_value(verdict::openapi::generate()).expect("document serializes");
    let schemas = &doc["components"]["schemas"];
    for (path, request, response) in [
        ("/api/v1/stats/analyze", "AnalysisRequest", "AnalysisResult"),
        ("/api/v1/stats/power", "PowerRequest", "PowerResponse"),
    ] {
        let body = schemas[request]["example"].to_string();
        let (status, _, got) = post!(&app, path, Some(&token), &body);
        assert_eq!(status, 200, "{path}: {got}");
        let want = match &schemas[response]["example"] {
            Value::Null => {
                json!({"n_per_arm": schemas[response]["properties"]["n_per_arm"]["example"]})
            }
            example => example.clone(),
        };
        assert_close_json(path, &got, &want);
    }
}
