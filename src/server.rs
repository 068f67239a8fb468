//! `verdict serve`: migrate, then serve HTTP until SIGTERM/SIGINT (graceful).

use std::time::Duration;

use actix_web::HttpServer;

use crate::app::{AppState, build};
use crate::cli::{CommonArgs, ServeArgs};
use crate::db::DbTarget;
use crate::startup::{StartError, load_keys, open_database};

/// Runs the HTTP service until it is asked to stop.
pub async fn serve(common: &CommonArgs, args: &ServeArgs) -> Result<(), StartError> {
    let target: DbTarget = common.database_url.parse()?;
    let (keys, first_token) = load_keys(common, &target)?;
    let db = open_database(&target, args.db_pool_size)?;
    let mut state = AppState::new(db.clone(), keys, args.max_body_bytes)?;
    state.ingest = args.ingest_limits();
    state.guardrail_policy = args.guardrail_policy;
    let refresher = actix_web::rt::spawn(
        state
            .snapshots
            .clone()
            .follow(db, Duration::from_millis(args.config_poll_ms.max(10))),
    );
    let exposures = state.exposures.clone();
    let snapshots = actix_web::rt::spawn(crate::results::run_scheduler(
        state.db.clone(),
        args.results_interval,
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
    snapshots.abort();
    exposures.flush().await;
    tracing::info!("stopped");
    Ok(())
}
