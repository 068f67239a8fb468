//! The `verdict` command.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use verdict::cli::{Cli, Command, CommonArgs, SeedArgs, TokenArgs};
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
    }
    Ok(())
}
