//! `verdict serve`: migrate, then serve HTTP until SIGTERM/SIGINT (graceful).

use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpServer;

use crate::app::build;
use crate::cli::{CommonArgs, ServeArgs};
use crate::db::DbTarget;
use crate::startup::{StartError, load_keys, open_database};
use crate::state::{AppState, Settings};
use crate::webhooks::WebhookSettings;

/// Runs the HTTP service until it is asked to stop.
pub async fn serve(common: &CommonArgs, args: &ServeArgs) -> Result<(), StartError> {
    let target: DbTarget = common.database_url.parse()?;
    let (keys, first_token) = load_keys(common, &target)?;
    let db = open_database(&target, args.db_pool_size)?;
    let settings = Settings {
        max_body_bytes: args.max_body_bytes,
        ingest: args.ingest_limits(),
        guardrail_policy: args.guardrail_policy,
        webhooks: webhook_settings(args)?,
        telegram: args.telegram().map_err(StartError::Config)?,
        mini_apps: Arc::new(args.mini_apps().map_err(StartError::Config)?),
        cors_origins: args.cors_origins(),
    };
    let state = AppState::new(db.clone(), keys, settings)?;
    let refresher = actix_web::rt::spawn(
        state
            .snapshots
            .clone()
            .follow(db, Duration::from_millis(args.config_poll_ms.max(10))),
    );
    let exposures = state.exposures.clone();
    let dispatcher = state.settings.webhooks.clone().map(|settings| {
        actix_web::rt::spawn(
            crate::webhooks::Dispatcher::new(state.db.clone(), settings)
                .run(Duration::from_secs(1)),
        )
    });
    let telegram = state.settings.telegram.clone().map(|settings| {
        // Polling every second, alerts a snapshot queued go out well within 15 minutes.
        let sender = actix_web::rt::spawn(
            crate::webhooks::Dispatcher::telegram(state.db.clone(), settings.bot.clone())
                .run(Duration::from_secs(1)),
        );
        let digest = actix_web::rt::spawn(crate::telegram::run_digest(
            state.db.clone(),
            settings.schedule(),
            settings.chat,
        ));
        [sender, digest]
    });
    let snapshots = actix_web::rt::spawn(crate::results::run_scheduler(
        state.db.clone(),
        args.results_interval,
        state.settings.telegram.as_ref().map(|t| t.chat.clone()),
    ));
    let advancer = actix_web::rt::spawn(crate::results::run_advancer(
        state.db.clone(),
        args.results_advance_interval,
    ));
    if let Some(token) = first_token {
        println!(
            "First start: generated a signing secret next to the database.\n\
             Admin token (valid 30 days; mint more with `verdict token`):\n\n{token}\n"
        );
    }
    let mut server = HttpServer::new(move || build(state.clone()))
        .bind(&args.bind)?
        .shutdown_timeout(30);
    if let Some(workers) = args.workers {
        server = server.workers(workers.max(1));
    }
    tracing::info!(bind = %args.bind, backend = ?target.backend(), "serving");
    server.run().await?;
    refresher.abort();
    if let Some(dispatcher) = dispatcher {
        dispatcher.abort();
    }
    for task in telegram.into_iter().flatten() {
        task.abort();
    }
    snapshots.abort();
    advancer.abort();
    exposures.flush().await;
    tracing::info!("stopped");
    Ok(())
}

fn webhook_settings(args: &ServeArgs) -> Result<Option<WebhookSettings>, StartError> {
    match (&args.webhook_url, &args.webhook_secret) {
        (None, _) => Ok(None),
        (Some(_), None) => Err(StartError::Config(
            "VERDICT_WEBHOOK_URL needs VERDICT_WEBHOOK_SECRET to sign notifications".into(),
        )),
        (Some(url), Some(secret)) => Ok(Some(WebhookSettings {
            url: url.clone(),
            secret: secret.clone(),
            max_attempts: 10,
            base_backoff: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
        })),
    }
}
