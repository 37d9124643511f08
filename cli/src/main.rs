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
mod telemetry;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use orchestrator::domain::{ScheduleSwitch, SensorSwitch};

use crate::error::CliError;
use crate::settings::Settings;

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
        /// Only these assets, in Dagster's selection syntax (`fetch_data+`, `*store_to_s3`,
        /// `a,b`); unselected upstream outputs come from their latest materialization.
        #[arg(long, value_name = "SELECTION")]
        select: Option<String>,
        #[command(flatten)]
        partition: app::PartitionArgs,
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
        /// Only these assets, in Dagster's selection syntax (`fetch_data+`, `*store_to_s3`,
        /// `a,b`); unselected upstream outputs come from their latest materialization.
        #[arg(long, value_name = "SELECTION")]
        select: Option<String>,
        #[command(flatten)]
        partition: app::PartitionArgs,
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
        #[command(flatten)]
        launch: commands::daemon::DevLaunchArgs,
    },
    /// Assets of every job: their health.
    Assets {
        #[command(subcommand)]
        command: AssetsCommand,
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
    /// Run-status sensors: their on/off switch, their ticks and the Slack alerts they queued.
    Sensors {
        #[command(subcommand)]
        command: SensorsCommand,
    },
    /// The weather products (WEATHER_RESULTS_BUCKET, or ORCH_HOME/objects): list, download,
    /// summarize. Uses the standard AWS credential chain (an instance role works).
    Products {
        #[command(subcommand)]
        command: ProductsCommand,
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
enum AssetsCommand {
    /// Each asset's health (healthy, warning, degraded, unknown) with the reasons: the worst of
    /// its latest materialization, its checks and its freshness.
    Health {
        #[arg(long)]
        json: bool,
    },
    /// Queue a run of these assets (their upstream outputs from their latest
    /// materialization), in the one job that has them all; prints the run id on the last line.
    Materialize {
        #[arg(required = true, value_name = "ASSET")]
        assets: Vec<String>,
        /// Follow the run's steps until it ends; exit 0 on SUCCESS, 1 otherwise.
        #[arg(long)]
        wait: bool,
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
enum ProductsCommand {
    /// List the products, newest first: last modified, size, key.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Download the products not yet in a folder (DIR/<key>).
    Download(commands::products::DownloadArgs),
    /// Files, total size, the latest product and the total number of records.
    Summary {
        #[arg(long)]
        json: bool,
    },
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

#[derive(Debug, Subcommand)]
enum SensorsCommand {
    /// List the run-status sensors: statuses, jobs, on/off.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Switch a sensor on (persisted; applies from the next evaluation).
    On { name: String },
    /// Switch a sensor off (persisted).
    Off { name: String },
    /// A sensor's ticks (evaluations), newest first, with the runs it alerted on.
    Ticks(commands::sensors::TicksArgs),
    /// The alert outbox, newest first: state, attempts and the last error of each alert.
    Alerts(commands::sensors::AlertsArgs),
}

async fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    let settings = &cli.settings;
    match &cli.command {
        Command::Run {
            job,
            config,
            tag,
            select,
            partition,
        } => {
            let request = app::LaunchRequest::new(job, config, tag, select.as_deref())
                .with_partition(partition);
            commands::run::run(settings, &request).await
        }
        Command::Launch {
            job,
            config,
            tag,
            select,
            partition,
            wait,
        } => {
            let request = app::LaunchRequest::new(job, config, tag, select.as_deref())
                .with_partition(partition);
            commands::launch::launch(settings, &request, *wait).await
        }
        Command::Daemon(args) => commands::daemon::daemon(settings, args).await,
        Command::Dev {
            daemon,
            web,
            launch,
        } => commands::daemon::dev(settings, daemon, web, launch).await,
        Command::Assets { command } => match command {
            AssetsCommand::Health { json } => commands::assets::health(settings, *json).await,
            AssetsCommand::Materialize { assets, wait } => {
                commands::assets::materialize(settings, assets, *wait).await
            }
        },
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
        Command::Sensors { command } => match command {
            SensorsCommand::List { json } => commands::sensors::list(settings, *json).await,
            SensorsCommand::On { name } => {
                commands::sensors::switch(settings, name, SensorSwitch::On).await
            }
            SensorsCommand::Off { name } => {
                commands::sensors::switch(settings, name, SensorSwitch::Off).await
            }
            SensorsCommand::Ticks(args) => commands::sensors::ticks(settings, args).await,
            SensorsCommand::Alerts(args) => commands::sensors::alerts(settings, args).await,
        },
        Command::Products { command } => match command {
            ProductsCommand::List { json } => commands::products::list(settings, *json).await,
            ProductsCommand::Download(args) => commands::products::download(settings, args).await,
            ProductsCommand::Summary { json } => commands::products::summary(settings, *json).await,
        },
        Command::Web(args) => commands::web::web(settings, args).await,
        Command::Migrate => commands::migrate::migrate(settings).await,
        Command::Worker { run_id } => commands::worker::worker(settings, run_id).await,
    }
}

fn main() -> ExitCode {
    // One rustls crypto provider for the whole process (ring); see TOOLCHAIN pitfalls.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut cli = Cli::parse();
    // Before the runtime: the span exporter's blocking HTTP client must not live inside it.
    let telemetry = telemetry::Telemetry::init(&cli.settings);
    if let Err(e) = cli.settings.load_secret_files() {
        eprintln!("error: {e}");
        return ExitCode::from(CliError::USAGE);
    }
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
    let code = match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {:#}", e.error);
            e.exit_code()
        }
    };
    drop(runtime);
    telemetry.shutdown();
    code
}
