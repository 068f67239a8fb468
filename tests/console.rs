//! The console at `/ui`: sign-in (token and one-time link), sessions and
//! roles, CSRF, every page on demo data with the API's numbers, and the
//! record-decision form.

mod common;

use std::collections::HashMap;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{LOCATION, SET_COOKIE};
use actix_web::test::{self, TestRequest};
use common::{Backend, TestApp, send};
use serde_json::Value;
use verdict::auth::Role;
use verdict::console::links::{self, LoginLink};
use verdict_testkit::{COMPARISON_FIELDS, backend_tests};

/// A cookie jar and what the last response said.
#[derive(Default)]
struct Jar(HashMap<String, String>);

struct Page {
    status: StatusCode,
    location: Option<String>,
    set_cookies: Vec<Cookie<'static>>,
    body: String,
}

impl Jar {
    fn with(&self, mut req: TestRequest) -> TestRequest {
        for (name, value) in &self.0 {
            req = req.cookie(Cookie::new(name.clone(), value.clone()));
        }
        req
    }

    async fn call<S, B>(&mut self, app: &S, req: TestRequest) -> Page
    where
        S: actix_web::dev::Service<
                actix_http::Request,
                Response = actix_web::dev::ServiceResponse<B>,
                Error = actix_web::Error,
            >,
        B: actix_web::body::MessageBody,
    {
        let res = test::call_service(app, self.with(req).to_request()).await;
        let status = res.status();
        let location = res
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let set_cookies: Vec<Cookie<'static>> = res
            .headers()
            .get_all(SET_COOKIE)
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| Cookie::parse(v.to_owned()).ok())
            .collect();
        for c in &set_cookies {
            if c.max_age().is_some_and(|a| a.is_zero()) || c.value().is_empty() {
                self.0.remove(c.name());
            } else {
                self.0.insert(c.name().to_owned(), c.value().to_owned());
            }
        }
        let body = String::from_utf8_lossy(&test::read_body(res).await).into_owned();
        Page {
            status,
            location,
            set_cookies,
            body,
        }
    }

    fn csrf(&self) -> String {
        self.0.get("verdict_csrf").cloned().unwrap_or_default()
    }
}

fn get(uri: &str) -> TestRequest {
    TestRequest::get().uri(uri)
}

fn post(uri: &str, form: &[(&str, &str)]) -> TestRequest {
    TestRequest::post().uri(uri).set_form(form)
}

/// Signs `jar` in with a token for `role` through the login form.
async fn sign_in<S, B>(app: &S, ctx: &TestApp, jar: &mut Jar, role: Role)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let page = jar.call(app, get("/ui/login")).await;
    assert_eq!(page.status, StatusCode::OK);
    let token = ctx.token(role);
    let csrf = jar.csrf();
    let page = jar
        .call(
            app,
            post("/ui/login", &[("csrf", &csrf), ("token", &token)]),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert!(jar.0.contains_key("verdict_session"));
}

/// `data-value` of the first element whose attributes contain all of `attrs`.
fn value_of(html: &str, attrs: &[&str]) -> Option<String> {
    html.split('<').find_map(|tag| {
        let head = tag.split('>').next()?;
        if !attrs.iter().all(|a| head.contains(a)) {
            return None;
        }
        let rest = &head[head.find("data-value=\"")? + 12..];
        Some(rest[..rest.find('"')?].to_owned())
    })
}

async fn signs_in_with_a_token_and_keeps_roles(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let mut jar = Jar::default();

    let page = jar.call(&app, get("/ui")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/ui/login"));

    let page = jar.call(&app, get("/ui/login")).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = jar.csrf();
    assert!(csrf.len() >= 32);
    assert!(
        page.body.contains(&format!("value=\"{csrf}\"")),
        "the form carries the token"
    );
    let cookie = page
        .set_cookies
        .iter()
        .find(|c| c.name() == "verdict_csrf")
        .expect("csrf cookie");
    assert_eq!(cookie.same_site(), Some(SameSite::Strict));
    assert_eq!(cookie.http_only(), Some(true));

    let cases: [(&str, String, Option<&str>, StatusCode); 5] = [
        (
            "no csrf",
            ctx.token(Role::Pm),
            Some(""),
            StatusCode::FORBIDDEN,
        ),
        (
            "wrong csrf",
            ctx.token(Role::Pm),
            Some("x".repeat(43).leak()),
            StatusCode::FORBIDDEN,
        ),
        (
            "not a token",
            "nonsense".into(),
            None,
            StatusCode::UNAUTHORIZED,
        ),
        (
            "sdk token",
            ctx.token(Role::Sdk),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            "foreign signature",
            {
                let other =
                    verdict::auth::JwtKeys::new(Some("another-secret"), None).expect("keys");
                other
                    .mint(
                        Role::Admin,
                        "eve",
                        std::time::Duration::from_secs(600),
                        None,
                    )
                    .expect("mint")
            },
            None,
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (name, token, csrf_override, want) in cases {
        let csrf = csrf_override.map_or_else(|| jar.csrf(), str::to_owned);
        let page = jar
            .call(
                &app,
                post("/ui/login", &[("csrf", &csrf), ("token", &token)]),
            )
            .await;
        assert_eq!(page.status, want, "{name}: {}", page.body);
        assert!(!jar.0.contains_key("verdict_session"), "{name}: no session");
        assert!(
            page.body.contains("<html lang=\"en\">"),
            "{name}: an HTML page"
        );
    }

    let csrf = jar.csrf();
    let page = jar
        .call(
            &app,
            post(
                "/ui/login",
                &[("csrf", &csrf), ("token", &ctx.token(Role::Analyst))],
            )
            .insert_header(("Origin", "https://evil.example")),
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "another site's form");

    let page = jar
        .call(
            &app,
            post(
                "/ui/login",
                &[("csrf", &csrf), ("token", &ctx.token(Role::Analyst))],
            ),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let session = page
        .set_cookies
        .iter()
        .find(|c| c.name() == "verdict_session")
        .expect("session");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(session.same_site(), Some(SameSite::Strict));
    assert_eq!(session.path(), Some("/ui"));
    assert_ne!(session.secure(), Some(true), "plain HTTP: not Secure");
    let left = session
        .max_age()
        .expect("expires with the token")
        .whole_seconds();
    assert!((3500..=3600).contains(&left), "{left}");

    let page = jar.call(&app, get("/ui")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("test-analyst (analyst)"));

    let csrf = jar.csrf();
    let page = jar.call(&app, post("/ui/logout", &[("csrf", &csrf)])).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(!jar.0.contains_key("verdict_session"));
    assert_eq!(
        jar.call(&app, get("/ui")).await.status,
        StatusCode::SEE_OTHER
    );

    let mut tls = Jar::default();
    tls.call(&app, get("/ui/login")).await;
    let csrf = tls.csrf();
    let page = tls
        .call(
            &app,
            post(
                "/ui/login",
                &[("csrf", &csrf), ("token", &ctx.token(Role::Pm))],
            )
            .insert_header(("X-Forwarded-Proto", "https")),
        )
        .await;
    let session = page
        .set_cookies
        .iter()
        .find(|c| c.name() == "verdict_session")
        .expect("session");
    assert_eq!(session.secure(), Some(true), "behind TLS: Secure");
}

async fn one_time_links_open_one_session(backend: Backend) {
    let ctx = TestApp::new(backend);
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let now = chrono::Utc::now().naive_utc();
    let link = |subject: &str, expires_at| LoginLink {
        role: Role::Pm,
        subject: subject.into(),
        environment: "production".into(),
        expires_at,
    };
    let (code, expired) = {
        let mut conn = ctx.pool().conn().expect("conn");
        (
            links::create(
                &mut conn,
                &link("pm-demo", now + chrono::TimeDelta::minutes(15)),
                now,
            )
            .expect("link"),
            links::create(
                &mut conn,
                &link("late", now - chrono::TimeDelta::seconds(1)),
                now,
            )
            .expect("link"),
        )
    };
    let mut jar = Jar::default();
    for _ in 0..2 {
        let page = jar.call(&app, get(&format!("/ui/login/link/{code}"))).await;
        assert_eq!(page.status, StatusCode::OK, "looking does not use it up");
        assert!(page.body.contains("pm-demo"));
    }
    let csrf = jar.csrf();
    let page = jar
        .call(&app, post(&format!("/ui/login/link/{code}"), &[]))
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "needs the form's token");
    let page = jar
        .call(
            &app,
            post(&format!("/ui/login/link/{code}"), &[("csrf", &csrf)]),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert!(jar.0.contains_key("verdict_session"));
    let page = jar.call(&app, get("/ui")).await;
    assert!(page.body.contains("pm-demo (pm)"), "{}", page.body);

    let mut other = Jar::default();
    other.call(&app, get("/ui/login")).await;
    let csrf = other.csrf();
    for code in [code.as_str(), expired.as_str(), "made-up"] {
        let page = other
            .call(
                &app,
                post(&format!("/ui/login/link/{code}"), &[("csrf", &csrf)]),
            )
            .await;
        assert_eq!(page.status, StatusCode::GONE, "{code}");
        assert!(!other.0.contains_key("verdict_session"));
    }
    assert_eq!(
        other
            .call(&app, get(&format!("/ui/login/link/{expired}")))
            .await
            .status,
        StatusCode::GONE
    );
}

async fn pages_show_the_demo_with_the_apis_numbers(backend: Backend) {
    let ctx = TestApp::new(backend);
    let now = chrono::Utc::now().naive_utc();
    {
        let mut conn = ctx.pool().conn().expect("conn");
        verdict::seed::seed_demo(&mut conn, now).expect("seed");
        verdict::seed::simulate_users(&mut conn, 600, 11, now).expect("simulate");
        let stored = verdict::seed::daily_snapshots(&mut conn, now).expect("snapshots");
        assert_eq!(stored, 4 * verdict::seed::DEMO_DAYS as usize);
    }
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let mut jar = Jar::default();
    sign_in(&app, &ctx, &mut jar, Role::Analyst).await;

    let list = jar.call(&app, get("/ui")).await;
    assert_eq!(list.status, StatusCode::OK);
    let (_, sla) = send(
        &app,
        ctx.request(
            "GET",
            "/api/v1/reports/decision-sla",
            Role::Analyst,
            Value::Null,
        ),
    )
    .await;
    for row in sla["experiments"].as_array().expect("rows") {
        let key = row["experiment"].as_str().expect("key");
        let status = row["status"].as_str().expect("status");
        let shown = list
            .body
            .split(&format!("data-experiment=\"{key}\""))
            .nth(1)
            .and_then(|rest| value_of(rest, &["data-testid=\"sla\""]));
        assert_eq!(shown.as_deref(), Some(status), "{key}");
    }
    let only = jar.call(&app, get("/ui?status=draft")).await;
    assert!(
        !only.body.contains("data-experiment="),
        "no drafts in the demo"
    );
    assert_eq!(
        jar.call(&app, get("/ui?status=bogus")).await.status,
        StatusCode::BAD_REQUEST
    );

    for key in [
        "cta_copy",
        "digest_layout",
        "import_hint",
        "vip_paywall_copy",
    ] {
        let page = jar.call(&app, get(&format!("/ui/experiments/{key}"))).await;
        assert_eq!(page.status, StatusCode::OK, "{key}");
        let (_, api) = send(
            &app,
            ctx.request(
                "GET",
                &format!("/api/v1/experiments/{key}/results"),
                Role::Analyst,
                Value::Null,
            ),
        )
        .await;
        for arm in api["arms"].as_array().expect("arms") {
            let variant = arm["variant"].as_str().expect("variant");
            let shown = value_of(
                &page.body,
                &["data-testid=\"units\"", &format!("data-arm=\"{variant}\"")],
            );
            assert_eq!(shown, Some(arm["units"].to_string()), "{key} {variant}");
        }
        for metric in api["metrics"].as_array().expect("metrics") {
            let m = metric["metric"].as_str().expect("metric");
            for c in metric["comparisons"].as_array().expect("comparisons") {
                let arm = c["arm"].as_str().expect("arm");
                let row = page
                    .body
                    .split(&format!(
                        "data-testid=\"comparison\" data-metric=\"{m}\" data-arm=\"{arm}\""
                    ))
                    .nth(1)
                    .expect("a row per comparison");
                let row = &row[..row.find("</tr>").expect("row end")];
                for field in COMPARISON_FIELDS {
                    let shown =
                        value_of(row, &[&format!("data-field=\"{field}\"")]).unwrap_or_default();
                    match c[field].as_f64() {
                        Some(want) => assert_eq!(
                            shown.parse::<f64>().ok(),
                            Some(want),
                            "{key} {m} {arm} {field}"
                        ),
                        None => assert_eq!(shown, "", "{key} {m} {arm} {field}"),
                    }
                }
            }
        }
        assert_eq!(
            value_of(&page.body, &["data-testid=\"action\""]).as_deref(),
            api["recommendation"]["action"].as_str(),
            "{key}"
        );
        let plotted = api["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .filter(|m| {
                m["comparisons"]
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|c| c["ci_lower"].is_number()))
            })
            .count();
        assert!(
            page.body.matches("<svg class=\"chart\"").count() > plotted,
            "{key}: a forest plot per analysed metric, and cumulative exposures"
        );
        assert!(
            !page.body.contains("data-testid=\"decision-form\""),
            "an analyst gets no write form"
        );
    }
    let funnel = jar
        .call(&app, get("/ui/experiments/vip_paywall_copy"))
        .await;
    assert!(
        funnel.body.contains("Funnel steps"),
        "the bot funnel has its step chart"
    );
    assert!(
        funnel
            .body
            .matches("<caption>Primary metric in each daily snapshot</caption>")
            .count()
            == 1
            && funnel.body.contains(
                "Lift of stars_revenue for bold with its interval in each daily snapshot"
            ),
        "the primary lift over the daily snapshots, charted"
    );

    let breakdown = jar
        .call(&app, get("/ui/experiments/cta_copy?dimension=icp_segment"))
        .await;
    assert_eq!(breakdown.status, StatusCode::OK);
    assert!(breakdown.body.contains("Breakdown"), "slices shown");
    let bad = jar
        .call(&app, get("/ui/experiments/cta_copy?dimension=shoe_size"))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("not a dimension"));
    assert_eq!(
        jar.call(&app, get("/ui/experiments/nope")).await.status,
        StatusCode::NOT_FOUND
    );

    for uri in [
        "/ui/decisions",
        "/ui/reports/okr",
        "/ui/reports/okr?from=2026-01-01&to=2027-01-01",
        "/ui/flags",
        "/ui/console.css",
    ] {
        assert_eq!(
            jar.call(&app, get(uri)).await.status,
            StatusCode::OK,
            "{uri}"
        );
    }
    assert_eq!(
        jar.call(&app, get("/ui/reports/okr?from=yesterday"))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let flags = jar.call(&app, get("/ui/flags")).await;
    for key in [
        "cta_copy",
        "digest_layout",
        "import_hint",
        "vip_paywall_copy",
    ] {
        assert!(
            flags.body.contains(&format!("data-flag=\"{key}\"")),
            "{key}"
        );
    }
}

/// The decision log as the API lists it.
async fn logged<S, B>(app: &S, ctx: &TestApp) -> Vec<Value>
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let (status, body) = send(
        app,
        ctx.request("GET", "/api/v1/decisions", Role::Analyst, Value::Null),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    body["decisions"].as_array().expect("decisions").clone()
}

async fn decisions_through_the_form(backend: Backend) {
    let ctx = TestApp::new(backend);
    let now = chrono::Utc::now().naive_utc();
    {
        let mut conn = ctx.pool().conn().expect("conn");
        verdict::seed::seed_demo(&mut conn, now).expect("seed");
        verdict::seed::simulate_users(&mut conn, 300, 5, now).expect("simulate");
    }
    let app = test::init_service(verdict::app::build(ctx.state.clone())).await;
    let form = |csrf: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("outcome", "ship".to_owned()),
            ("variant", "urgency".to_owned()),
            (
                "rationale",
                "Urgency wins on trial starts; guardrails hold".to_owned(),
            ),
            (
                "links",
                "https://wiki.example/a\nhttps://wiki.example/b".to_owned(),
            ),
        ]
    };
    let mut analyst = Jar::default();
    sign_in(&app, &ctx, &mut analyst, Role::Analyst).await;
    let csrf = analyst.csrf();
    let page = analyst
        .call(
            &app,
            TestRequest::post()
                .uri("/ui/experiments/cta_copy/decisions")
                .set_form(form(&csrf)),
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "an analyst's session cannot record"
    );
    assert!(logged(&app, &ctx).await.is_empty());

    let mut pm = Jar::default();
    sign_in(&app, &ctx, &mut pm, Role::Pm).await;
    let page = pm.call(&app, get("/ui/experiments/cta_copy")).await;
    assert!(page.body.contains("data-testid=\"decision-form\""));
    for csrf in ["", "stale-token-from-another-session-xxxxxxxxxx"] {
        let page = pm
            .call(
                &app,
                TestRequest::post()
                    .uri("/ui/experiments/cta_copy/decisions")
                    .set_form(form(csrf)),
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{csrf:?}");
    }
    assert!(
        logged(&app, &ctx).await.is_empty(),
        "refused forms record nothing"
    );

    let mut missing = form(&pm.csrf());
    missing.retain(|(k, _)| *k != "variant");
    let page = pm
        .call(
            &app,
            TestRequest::post()
                .uri("/ui/experiments/cta_copy/decisions")
                .set_form(&missing),
        )
        .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "ship needs a variant: {}",
        page.body
    );

    let page = pm
        .call(
            &app,
            TestRequest::post()
                .uri("/ui/experiments/cta_copy/decisions")
                .set_form(form(&pm.csrf())),
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let listed = logged(&app, &ctx).await;
    assert_eq!(listed.len(), 1);
    let d = &listed[0];
    assert_eq!(d["experiment"], "cta_copy");
    assert_eq!(d["outcome"], "ship");
    assert_eq!(d["variant"], "urgency");
    assert_eq!(d["author"], "test-pm");
    assert_eq!(
        d["links"],
        serde_json::json!(["https://wiki.example/a", "https://wiki.example/b"])
    );
    assert_eq!(page.location, Some(format!("/ui/decisions/{}", d["id"])));

    let shown = pm
        .call(&app, get(&format!("/ui/decisions/{}", d["id"])))
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("Urgency wins on trial starts"));
    assert!(
        shown.body.contains("data-testid=\"units\""),
        "frozen results rendered"
    );
    let log = pm.call(&app, get("/ui/decisions?outcome=ship")).await;
    assert!(log.body.contains(&format!("data-id=\"{}\"", d["id"])));
    let none = pm.call(&app, get("/ui/decisions?outcome=iterate")).await;
    assert!(!none.body.contains("data-testid=\"decision\""));
    let csv = pm
        .call(&app, get("/ui/decisions.csv?experiment=cta_copy"))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with("id,experiment,outcome"));
    assert!(csv.body.contains("cta_copy,ship,urgency"));
}

backend_tests!(
    signs_in_with_a_token_and_keeps_roles,
    one_time_links_open_one_session,
    pages_show_the_demo_with_the_apis_numbers,
    decisions_through_the_form,
);
