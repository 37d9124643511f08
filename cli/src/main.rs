//! `orch`, the command line: run jobs in process, list jobs and runs, show a run with its events,
//! apply migrations. Exit codes: 0 success, 1 a failed run or operation, 2 a usage or
//! configuration error.

mod app;
mod commands;
mod error;
mod kv;
mod output;
mod progress;
mod settings;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Apply pending database migrations (they also apply on every start).
    Migrate,
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
        Command::Jobs {
            command: JobsCommand::List { json },
        } => commands::jobs::list(settings, *json).await,
        Command::Runs { command } => match command {
            RunsCommand::List(args) => commands::runs::list(settings, args).await,
            RunsCommand::Show { id, json } => commands::runs::show(settings, id, *json).await,
        },
        Command::Migrate => commands::migrate::migrate(settings).await,
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
