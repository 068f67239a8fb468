//! The `verdict` command.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use verdict::cli::{Cli, Command, CommonArgs, LoginLinkArgs, SeedArgs, TokenArgs};
use verdict::db::DbTarget;
use verdict::startup::{StartError, load_keys, open_database};

/// mimalloc instead of the system allocator: the evaluate hot path and the
/// exposure writer allocate many small, short-lived buffers (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command.unwrap_or(Command::Serve(Box::default())) {
        Command::Serve(args) => {
            actix_web::rt::System::new().block_on(verdict::server::serve(&cli.common, &args))
        }
        Command::Migrate => migrate(&cli.common),
        Command::Token(args) => token(&cli.common, &args),
        Command::Seed(args) => seed(&cli.common, &args),
        Command::LoginLink(args) => login_link(&cli.common, &args).map(|url| println!("{url}")),
        Command::Openapi => {
            println!("{}", verdict::openapi::document().json);
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("verdict: {error}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(common: &CommonArgs) -> Result<(), StartError> {
    let target: DbTarget = common.database_url.parse()?;
    open_database(&target, 1)?;
    eprintln!("database is up to date");
    Ok(())
}

fn token(common: &CommonArgs, args: &TokenArgs) -> Result<(), StartError> {
    let target: DbTarget = common.database_url.parse()?;
    let (keys, _) = load_keys(common, &target)?;
    let token = keys.mint(
        args.role,
        &args.subject,
        args.ttl,
        Some(args.environment.as_str()),
    )?;
    println!("{token}");
    Ok(())
}

fn seed(common: &CommonArgs, args: &SeedArgs) -> Result<(), StartError> {
    if !args.demo {
        return Err(StartError::Seed(verdict::seed::SeedError::Domain(
            "nothing to seed: pass --demo".into(),
        )));
    }
    let target: DbTarget = common.database_url.parse()?;
    let db = open_database(&target, 1)?;
    let mut conn = db.conn()?;
    let now = chrono::Utc::now().naive_utc();
    let report = verdict::seed::seed_demo(&mut conn, now)?;
    eprintln!(
        "demo: {} metrics, {} flags, {} experiments created; {} experiments launched",
        report.metrics_created,
        report.flags_created,
        report.experiments_created,
        report.experiments_launched
    );
    if let Some(users) = args.simulate_users {
        let sim = verdict::seed::simulate_users(&mut conn, users, args.simulation_seed, now)?;
        eprintln!(
            "simulated {} users: {} exposures, {} events",
            sim.users, sim.exposures, sim.events
        );
        if let Some(url) = &args.warehouse {
            let moved = verdict::seed::warehouse::move_events(&mut conn, url)?;
            eprintln!(
                "moved {moved} events to the warehouse; demo metrics are computed on data source `{}`",
                verdict::seed::warehouse::SOURCE_KEY
            );
        }
        let snapshots = verdict::seed::daily_snapshots(&mut conn, now)?;
        eprintln!("stored {snapshots} daily results snapshots");
    }
    let link = LoginLinkArgs {
        role: verdict::auth::Role::Pm,
        subject: "pm-demo".into(),
        environment: "production".into(),
        ttl: std::time::Duration::from_secs(24 * 3600),
        base_url: std::env::var("VERDICT_PUBLIC_URL")
            .unwrap_or_else(|_| "http://127.0.0.1:8080".into()),
    };
    drop(conn);
    let url = login_link(common, &link)?;
    eprintln!("console: start the service, then open this one-time link (valid 24 h) as pm-demo:");
    println!("{url}");
    Ok(())
}

/// Stores a one-time console link and returns its URL.
fn login_link(common: &CommonArgs, args: &LoginLinkArgs) -> Result<String, StartError> {
    let target: DbTarget = common.database_url.parse()?;
    let db = open_database(&target, 1)?;
    let mut conn = db.conn()?;
    let now = chrono::Utc::now().naive_utc();
    let ttl = chrono::TimeDelta::from_std(args.ttl)
        .map_err(|_| StartError::Config(format!("--ttl {:?} is too long", args.ttl)))?;
    let link = verdict::console::links::LoginLink {
        role: args.role,
        subject: args.subject.clone(),
        environment: args.environment.clone(),
        expires_at: now + ttl,
    };
    let code = verdict::console::links::create(&mut conn, &link, now)?;
    Ok(format!(
        "{}/ui/login/link/{code}",
        args.base_url.trim_end_matches('/')
    ))
}
