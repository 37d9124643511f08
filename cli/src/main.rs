//! `orch`, the command line: run jobs in process, list jobs and runs, show a run with its events,
//! cancel, re-execute and prune runs, execute a launched run (`orch worker`), list and switch
//! schedules, serve the JSON API (`orch web`), apply migrations. Exit codes: 0 success, 1 a
//! failed run or operation, 2 a usage or configuration error.

mod app;
mod commands;
mod error;
mod kv;
mod launcher;
mod output;
mod progress;
mod settings;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use orchestrator::domain::ScheduleSwitch;

use crate::error::CliError;
use crate::settings::{LogFormat, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "orch",
    version,
    about = "A fast, small data-pipeline orchestrator."
)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Execute a run of JOB in this process and show its steps as they go.
    Run {
        job: String,
        /// Run config override, KEY=VALUE (VALUE is JSON if it parses, else a string). Repeatable.
        #[arg(long = "config", short = 'c', value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// Run tag, KEY=VALUE. Repeatable.
        #[arg(long = "tag", short = 't', value_name = "KEY=VALUE")]
        tag: Vec<String>,
    },
    /// Queue a run of JOB for the daemon; prints the run id alone on the last line.
    Launch {
        job: String,
        /// Run config override, KEY=VALUE (VALUE is JSON if it parses, else a string). Repeatable.
        #[arg(long = "config", short = 'c', value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// Run tag, KEY=VALUE. Repeatable.
        #[arg(long = "tag", short = 't', value_name = "KEY=VALUE")]
        tag: Vec<String>,
        /// Follow the run's steps until it ends; exit 0 on SUCCESS, 1 otherwise.
        #[arg(long)]
        wait: bool,
    },
    /// The scheduler daemon: run queue, local launcher, run monitoring. Safe to run as several
    /// replicas on one PostgreSQL database.
    Daemon(commands::daemon::DaemonArgs),
    /// Everything in one process on the embedded default (SQLite and files under ORCH_HOME).
    Dev {
        #[command(flatten)]
        daemon: commands::daemon::DaemonArgs,
        #[command(flatten)]
        web: commands::web::WebArgs,
    },
    /// Jobs this build knows.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Runs in the store.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// Schedules: the declared ones and orch.toml's, their on/off switch and their ticks.
    Schedules {
        #[command(subcommand)]
        command: SchedulesCommand,
    },
    /// The JSON API (/api/v1) and health checks over the run store, on ORCH_WEB_ADDR.
    Web(commands::web::WebArgs),
    /// Apply pending database migrations (they also apply on every start).
    Migrate,
    /// Execute one STARTING run: what a launcher starts. Exits 0 when the run succeeds.
    Worker {
        /// The run to execute.
        #[arg(long)]
        run_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// List the jobs with their assets.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum RunsCommand {
    /// List runs, newest first.
    List(commands::runs::ListArgs),
    /// Show one run with its events.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a run: a queued one at once, a running one through its worker.
    Cancel { id: String },
    /// Create a new queued run that re-executes a finished one; prints its id last.
    Reexecute(commands::reexecute::ReexecuteArgs),
    /// Delete finished runs older than a duration, with their events and tags.
    Prune(commands::prune::PruneArgs),
    /// Print what the run's worker process wrote (stdout and stderr).
    Logs { id: String },
}

#[derive(Debug, Subcommand)]
enum SchedulesCommand {
    /// List the schedules in force: job, cron, time zone, on/off and next tick.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Switch a schedule on (persisted; running daemons pick it up at once).
    On { name: String },
    /// Switch a schedule off (persisted).
    Off { name: String },
    /// A schedule's ticks, newest first: launched (with the run), skipped or failed.
    Ticks(commands::schedules::TicksArgs),
}

fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // Colours only on a terminal, so `2>log` files stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    let settings = &cli.settings;
    match &cli.command {
        Command::Run { job, config, tag } => commands::run::run(settings, job, config, tag).await,
        Command::Launch {
            job,
            config,
            tag,
            wait,
        } => commands::launch::launch(settings, job, config, tag, *wait).await,
        Command::Daemon(args) => commands::daemon::daemon(settings, args).await,
        Command::Dev { daemon, web } => commands::daemon::dev(settings, daemon, web).await,
        Command::Jobs {
            command: JobsCommand::List { json },
        } => commands::jobs::list(settings, *json).await,
        Command::Runs { command } => match command {
            RunsCommand::List(args) => commands::runs::list(settings, args).await,
            RunsCommand::Show { id, json } => commands::runs::show(settings, id, *json).await,
            RunsCommand::Cancel { id } => commands::cancel::cancel(settings, id).await,
            RunsCommand::Reexecute(args) => {
                commands::reexecute::reexecute_run(settings, args).await
            }
            RunsCommand::Prune(args) => commands::prune::prune(settings, args).await,
            RunsCommand::Logs { id } => commands::logs::logs(settings, id).await,
        },
        Command::Schedules { command } => match command {
            SchedulesCommand::List { json } => commands::schedules::list(settings, *json).await,
            SchedulesCommand::On { name } => {
                commands::schedules::switch(settings, name, ScheduleSwitch::On).await
            }
            SchedulesCommand::Off { name } => {
                commands::schedules::switch(settings, name, ScheduleSwitch::Off).await
            }
            SchedulesCommand::Ticks(args) => commands::schedules::ticks(settings, args).await,
        },
        Command::Web(args) => commands::web::web(settings, args).await,
        Command::Migrate => commands::migrate::migrate(settings).await,
        Command::Worker { run_id } => commands::worker::worker(settings, run_id).await,
    }
}

fn main() -> ExitCode {
    // One rustls crypto provider for the whole process (ring); see TOOLCHAIN pitfalls.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    init_logging(&cli.settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(CliError::FAILURE);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {:#}", e.error);
            e.exit_code()
        }
    }
}
