//! The flags page: every flag per environment, its kill switch and its rules
//! in a line each (read-only).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use verdict_core::{Condition, Serve};

use super::csrf::Csrf;
use super::page::{Nav, PageError, render};
use super::session::Viewer;
use crate::definitions::DefinitionError;
use crate::flags::FlagDefinition;
use crate::state::AppState;

struct EnvRow {
    environment: String,
    enabled: bool,
    rules: Vec<String>,
    fallthrough: String,
}

struct FlagRow {
    key: String,
    description: String,
    variants: String,
    default_variant: String,
    version: i64,
    environments: Vec<EnvRow>,
}

#[derive(Template)]
#[template(path = "console/flags.html")]
struct FlagsPage {
    nav: Nav,
    flags: Vec<FlagRow>,
}

/// `serve` in words: `urgency`, or `50% control / 50% urgency of 20%`.
pub fn serve_summary(serve: &Serve) -> String {
    match serve {
        Serve::Variant(v) => v.clone(),
        Serve::Split(split) => {
            let weights: Vec<String> = split
                .weights
                .iter()
                .map(|w| format!("{}% {}", w.weight, w.variant))
                .collect();
            let mut out = weights.join(" / ");
            if split.rollout < 100.0 {
                out.push_str(&format!(" of {}% of units", split.rollout));
            }
            if let Some(e) = &split.experiment {
                out.push_str(&format!(" (experiment {} phase {})", e.key, e.phase));
            }
            out
        }
    }
}

fn condition(c: &Condition) -> String {
    if c.value.is_null() {
        format!("{} {}", c.attribute, c.op.as_str())
    } else {
        format!("{} {} {}", c.attribute, c.op.as_str(), c.value)
    }
}

/// `GET /ui/flags`.
pub async fn list(
    req: HttpRequest,
    viewer: Viewer,
    csrf: Csrf,
    state: web::Data<AppState>,
) -> Result<HttpResponse, PageError> {
    let stored = state
        .db
        .run(crate::definitions::list::<FlagDefinition>)
        .await
        .map_err(|e: DefinitionError| PageError::internal(e))?;
    let flags = stored
        .into_iter()
        .map(|(key, s)| {
            let d = s.definition;
            FlagRow {
                key,
                description: d.description.clone(),
                variants: d
                    .variants
                    .iter()
                    .map(|v| v.key.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                default_variant: d.default_variant.clone(),
                version: s.version,
                environments: d
                    .environments
                    .iter()
                    .map(|(env, c)| EnvRow {
                        environment: env.clone(),
                        enabled: c.enabled,
                        rules: c
                            .rules
                            .iter()
                            .map(|r| {
                                let mut when: Vec<String> =
                                    r.conditions.iter().map(condition).collect();
                                when.extend(r.segments.iter().map(|s| format!("in segment {s}")));
                                let when = if when.is_empty() {
                                    "everyone".to_owned()
                                } else {
                                    when.join(" and ")
                                };
                                format!("{}: {when} → {}", r.id, serve_summary(&r.serve))
                            })
                            .collect(),
                        fallthrough: serve_summary(&c.fallthrough),
                    })
                    .collect(),
            }
        })
        .collect();
    let page = FlagsPage {
        nav: Nav::new(&viewer, &csrf, "flags"),
        flags,
    };
    render(&req, &csrf, StatusCode::OK, &page)
}
