//! `orch`, the command line, as a library: run jobs in process, list jobs and runs, show a run
//! with its events, cancel, re-execute and prune runs, execute a launched run (`orch worker`),
//! list and switch schedules, serve the web UI and JSON API (`orch web`), the daemon, apply
//! migrations. Exit codes: 0 success, 1 a failed run or operation, 2 a usage or configuration
//! error.
//!
//! A binary that calls [`main`] with its definitions, or [`Orch::new`] with an [`Extension`]
//! (settings, subcommands and API routes of its own), *is* a complete orch with its jobs; the
//! stock `orch` binary (`src/bin/orch.rs`) is `Orch::new(pipelines::Seeds).main()`. This
//! library knows nothing of the seed pipelines.
//!
//! ```no_run
//! use orch::orchestrator::definitions::{AssetDef, AssetOutput, Definitions, JobDef};
//!
//! fn main() -> std::process::ExitCode {
//!     orch::main(|_cx| {
//!         let hello = AssetDef::builder("hello")
//!             .compute(|_ctx| async { Ok(AssetOutput::default()) })?;
//!         let job = JobDef::new("hello_job", "Says hello.", vec![hello], Default::default())?;
//!         Definitions::new(vec![job])
//!     })
//! }
//! ```

mod app;
mod bound;
mod commands;
mod error;
mod jobfiles;
mod kv;
mod launcher;
mod output;
mod progress;
mod reload;
mod settings;
mod telemetry;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use orchestrator::definitions::{DefinitionError, Definitions};
use orchestrator::domain::{ScheduleSwitch, SensorSwitch};

pub use orch_extension as extension;
pub use orch_extension::{
    Context, Extension, ExtensionError, NoCommand, NoSettings, ObjectStores, S3Connection,
};
/// The framework crates, re-exported so a user crate needs only `orch` (and gets the versions
/// this library was built with).
pub use {clap, orchestrator, web, worker};

use crate::error::CliError;
use crate::settings::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "orch",
    version,
    about = "A fast, small data-pipeline orchestrator."
)]
struct Cli<S: Args, C: Subcommand> {
    #[command(flatten)]
    settings: Settings,
    /// The extension's own settings.
    #[command(flatten)]
    extension: S,
    #[command(subcommand)]
    command: Command<C>,
}

// Parsed once per process and never moved around: the size of `Dev`'s flattened settings costs
// nothing worth boxing them for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command<C: Subcommand> {
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
    /// The daemon replicas of this instance: heartbeat, alive or dead, last action.
    Daemons {
        #[arg(long)]
        json: bool,
    },
    /// Asset checks: run an asset's checks on their own.
    Checks {
        #[command(subcommand)]
        command: ChecksCommand,
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
    /// Backfills: a partitioned job run over many partitions by the daemon.
    Backfill {
        #[command(subcommand)]
        command: commands::backfill::BackfillCommand,
    },
    /// Partition status of a partitioned JOB (or one of its assets), per key.
    Partitions(commands::partitions::PartitionsArgs),
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
    /// The extension's own subcommands (the stock binary's `products`).
    #[command(flatten)]
    Extension(C),
    /// The JSON API (/api/v1) and health checks over the run store, on ORCH_WEB_ADDR.
    Web(commands::web::WebArgs),
    /// The audit log: every mutation (launch, cancel, re-execute, switches, reload, prune),
    /// newest first.
    Audit(commands::audit::AuditArgs),
    /// Access: `orch auth hash-token` prints the hash a tokens file holds.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// Apply pending database migrations (they also apply on every start).
    Migrate,
    /// Print the OpenAPI 3.1 document of the JSON API (orch's routes and this build's own).
    Openapi,
    /// Execute one STARTING run: what a launcher starts. Exits 0 when the run succeeds.
    Worker {
        /// The run to execute.
        #[arg(long)]
        run_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuthCommand {
    /// Read a token on stdin and print its hex SHA-256, the `sha256` of ORCH_AUTH_TOKENS_FILE.
    HashToken,
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
enum ChecksCommand {
    /// Queue a run that evaluates ASSET's checks (Rust and command checks) over the output of
    /// its latest materialization, without materializing it; prints the run id on the last
    /// line. Checks only the asset's own code reports need a materialization.
    Run {
        #[arg(value_name = "ASSET")]
        asset: String,
        /// Follow the run until it ends; exit 0 on SUCCESS, 1 otherwise.
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
    /// Check job files without starting anything: PATH is a file or a directory (default: the
    /// jobs directory). Prints each job, or every fault with its file, line and column (exit 2).
    Validate { path: Option<std::path::PathBuf> },
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

async fn dispatch<E: Extension>(
    extension: &E,
    cli: Cli<E::Settings, E::Command>,
) -> Result<ExitCode, CliError> {
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
        Command::Daemons { json } => commands::daemons::list(settings, *json).await,
        Command::Assets { command } => match command {
            AssetsCommand::Health { json } => commands::assets::health(settings, *json).await,
            AssetsCommand::Materialize { assets, wait } => {
                commands::assets::materialize(settings, assets, *wait).await
            }
        },
        Command::Checks { command } => match command {
            ChecksCommand::Run { asset, wait } => {
                commands::assets::run_checks(settings, asset, *wait).await
            }
        },
        Command::Jobs { command } => match command {
            JobsCommand::List { json } => commands::jobs::list(settings, *json).await,
            JobsCommand::Validate { path } => {
                commands::jobs::validate(settings, path.as_deref()).await
            }
        },
        Command::Backfill { command } => commands::backfill::backfill(settings, command).await,
        Command::Partitions(args) => commands::partitions::partitions(settings, args).await,
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
        Command::Extension(command) => {
            let stores = app::object_stores(settings);
            let cx = Context {
                settings: &cli.extension,
                orch_home: &settings.orch_home,
                stores: &stores,
            };
            Ok(extension.run_command(command, &cx).await?)
        }
        Command::Web(args) => commands::web::web(settings, args).await,
        Command::Audit(args) => commands::audit::list(settings, args).await,
        Command::Auth {
            command: AuthCommand::HashToken,
        } => commands::auth::hash_token(),
        Command::Migrate => commands::migrate::migrate(settings).await,
        Command::Openapi => commands::openapi::print(settings).await,
        Command::Worker { run_id } => commands::worker::worker(settings, run_id).await,
    }
}

/// A complete orch with the definitions `definitions` builds: every command (`run`, `launch`,
/// `daemon`, `dev`, `web`, `worker`, `migrate`, …) on this process's arguments; returns the exit
/// code. For settings, subcommands or API routes of your own, implement [`Extension`] and call
/// [`Orch::new`].
pub fn main<F>(definitions: F) -> ExitCode
where
    F: Fn(&Context<'_, NoSettings>) -> Result<Definitions, DefinitionError> + Send + Sync + 'static,
{
    Orch::definitions(definitions).main()
}

/// An [`Extension`] that only builds definitions: what [`main`] and [`Orch::definitions`] run.
pub struct DefinitionsFn<F>(F);

impl<F> std::fmt::Debug for DefinitionsFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DefinitionsFn")
    }
}

impl<F> Orch<DefinitionsFn<F>>
where
    F: Fn(&Context<'_, NoSettings>) -> Result<Definitions, DefinitionError> + Send + Sync + 'static,
{
    /// orch with the definitions `definitions` builds and nothing else of its own: what
    /// [`main`] runs, with [`Orch::name`] available.
    pub fn definitions(definitions: F) -> Self {
        Self::new(DefinitionsFn(definitions))
    }
}

impl<F> Extension for DefinitionsFn<F>
where
    F: Fn(&Context<'_, NoSettings>) -> Result<Definitions, DefinitionError> + Send + Sync + 'static,
{
    type Settings = NoSettings;
    type Command = NoCommand;

    async fn definitions(
        &self,
        cx: &Context<'_, NoSettings>,
    ) -> Result<Definitions, ExtensionError> {
        Ok((self.0)(cx)?)
    }
}

/// orch built with an [`Extension`]: `Orch::new(extension).main()`.
#[derive(Debug)]
pub struct Orch<E> {
    extension: Arc<E>,
    name: Option<&'static str>,
}

impl<E: Extension> Orch<E> {
    pub fn new(extension: E) -> Self {
        Self {
            extension: Arc::new(extension),
            name: None,
        }
    }

    /// The program's name in `--help`, usage lines and `--version` (default `orch`).
    pub fn name(mut self, name: &'static str) -> Self {
        self.name = Some(name);
        self
    }

    /// Runs the command line on this process's arguments and returns its exit code.
    pub fn main(self) -> ExitCode {
        // One rustls crypto provider for the whole process (ring); see TOOLCHAIN pitfalls.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut cli = match self.parse() {
            Ok(cli) => cli,
            Err(e) => e.exit(),
        };
        cli.settings.extension =
            bound::BoundExtension::new(self.extension.clone(), cli.extension.clone());
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
        let code = match runtime.block_on(dispatch(self.extension.as_ref(), cli)) {
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

    fn parse(&self) -> Result<Cli<E::Settings, E::Command>, clap::Error> {
        let mut command = Cli::<E::Settings, E::Command>::command();
        if let Some(name) = self.name {
            command = command.name(name).bin_name(name);
        }
        Cli::from_arg_matches(&command.get_matches())
    }
}
