//! `orch backfill create|list|show|cancel|resume|retry`: backfills stored for the daemon to
//! drive. `create` prints the new backfill's id on the last line of stdout (a dry run prints
//! the count of partitions it would run and creates nothing).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use orchestrator::backfill::{self, BackfillError, BackfillRequest, KeySpan};
use orchestrator::definitions::AssetSelection;
use orchestrator::domain::{BackfillId, BackfillMode};
use orchestrator::run_control::{SelectError, check_selection};
use orchestrator::storage::RunStorage;
use web::backfill_json::{BackfillJson, BackfillPlanJson};

use crate::app;
use crate::error::CliError;
use crate::output::print_json;
use crate::settings::Settings;

#[derive(Debug, Subcommand)]
pub enum BackfillCommand {
    /// Backfill JOB over a range or a list of partitions.
    Create(CreateArgs),
    /// Backfills, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// One backfill with its runs per status.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Stop submitting; cancel its runs in flight.
    Cancel { id: String },
    /// Submit a CANCELED backfill's remaining partitions.
    Resume { id: String },
    /// A child backfill of its failed partitions; prints the new id on the last line.
    Retry { id: String },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    pub job: String,
    /// The first key (with --to).
    #[arg(long, requires = "to", conflicts_with = "partitions")]
    pub from: Option<String>,
    /// The last key, inclusive (with --from).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// A list of keys, K1,K2,…
    #[arg(long, value_delimiter = ',')]
    pub partitions: Vec<String>,
    /// missing (default), failed or all.
    #[arg(long, default_value = "missing")]
    pub mode: String,
    /// At most N of its runs in flight (0: no limit of its own).
    #[arg(long, default_value_t = 0)]
    pub max_concurrent: u32,
    /// Newest partitions first.
    #[arg(long)]
    pub reverse: bool,
    /// Print what it would run; create nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only these assets, in Dagster's selection syntax.
    #[arg(long, value_name = "SELECTION")]
    pub select: Option<String>,
    #[arg(long)]
    pub json: bool,
}

impl From<BackfillError> for CliError {
    fn from(e: BackfillError) -> Self {
        match e {
            BackfillError::Storage(e) => e.into(),
            refused => CliError::config(refused),
        }
    }
}

pub async fn backfill(
    settings: &Settings,
    command: &BackfillCommand,
) -> Result<ExitCode, CliError> {
    match command {
        BackfillCommand::Create(args) => create(settings, args).await,
        BackfillCommand::List { limit, json } => list(settings, *limit, *json).await,
        BackfillCommand::Show { id, json } => {
            let store = app::open_store(settings).await?;
            show(store.as_ref(), parse_id(id)?, *json).await
        }
        BackfillCommand::Cancel { id } => {
            let store = app::open_store(settings).await?;
            let b = backfill::cancel(store.as_ref(), parse_id(id)?).await?;
            println!("backfill {} is {}", b.id, b.status);
            Ok(ExitCode::SUCCESS)
        }
        BackfillCommand::Resume { id } => {
            let store = app::open_store(settings).await?;
            let b = backfill::resume(store.as_ref(), parse_id(id)?).await?;
            println!("backfill {} is {}", b.id, b.status);
            Ok(ExitCode::SUCCESS)
        }
        BackfillCommand::Retry { id } => {
            let store = app::open_store(settings).await?;
            let child = backfill::retry_failed(store.as_ref(), parse_id(id)?).await?;
            println!(
                "backfill {} retries {} partitions of {id}",
                child.id, child.partitions
            );
            println!("{}", child.id);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_id(id: &str) -> Result<BackfillId, CliError> {
    BackfillId::parse(id).map_err(CliError::config)
}

async fn create(settings: &Settings, args: &CreateArgs) -> Result<ExitCode, CliError> {
    let definitions = app::definitions(settings).await?;
    let job = definitions
        .job(&args.job)
        .ok_or_else(|| CliError::config(format!("job '{}' not found", args.job)))?;
    let keys = match (&args.from, &args.to) {
        (Some(from), Some(to)) => KeySpan::Range {
            from: from.clone(),
            to: to.clone(),
        },
        _ if !args.partitions.is_empty() => KeySpan::List(args.partitions.clone()),
        _ => return Err(BackfillError::NoKeys.into()),
    };
    let mode: BackfillMode = args.mode.parse().map_err(CliError::config)?;
    let store = app::open_store(settings).await?;
    let step_selection = match &args.select {
        None => None,
        Some(select) => {
            let selection = AssetSelection::parse(select)
                .map_err(|e| CliError::config(format!("--select: {e}")))?;
            check_selection(store.as_ref(), job, &selection)
                .await
                .map_err(|e| match e {
                    SelectError::Storage(e) => CliError::from(e),
                    refused => CliError::config(refused),
                })?
        }
    };
    let request = BackfillRequest {
        keys,
        mode,
        reverse: args.reverse,
        max_concurrent: args.max_concurrent,
        step_selection,
    };
    let plan = backfill::plan(store.as_ref(), job, &request, chrono::Utc::now()).await?;
    let summary = BackfillPlanJson::new(&plan);
    if args.dry_run {
        if args.json {
            print_json(&summary)?;
        } else {
            println!(
                "would run {} partitions of {} in {} runs; first: {}",
                summary.partitions,
                summary.job,
                summary.runs,
                summary.first.join(", ")
            );
            println!("{}", summary.partitions);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let created = store.create_backfill(&plan).await?;
    if args.json {
        let counts = store.backfill_counts(created.id).await?;
        print_json(&BackfillJson::new(&created, &counts))?;
    } else {
        println!(
            "backfill of {} partitions of {} in {} runs ({})",
            summary.partitions, summary.job, summary.runs, created.status
        );
    }
    println!("{}", created.id);
    Ok(ExitCode::SUCCESS)
}

async fn list(settings: &Settings, limit: u32, json: bool) -> Result<ExitCode, CliError> {
    let store = app::open_store(settings).await?;
    let backfills = store.list_backfills(None, limit).await?;
    let mut shown = Vec::new();
    for b in &backfills {
        let counts = store.backfill_counts(b.id).await?;
        shown.push(BackfillJson::new(b, &counts));
    }
    if json {
        print_json(&serde_json::json!({ "backfills": shown }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<38} {:<24} {:<10} {:>10}  COUNTS",
        "BACKFILL", "JOB", "STATUS", "PARTITIONS"
    );
    for b in &shown {
        println!(
            "{:<38} {:<24} {:<10} {:>10}  {}",
            b.id,
            b.job,
            b.status,
            b.partitions,
            counts_text(b)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn counts_text(b: &BackfillJson) -> String {
    b.counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| format!("{s} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn show(store: &dyn RunStorage, id: BackfillId, json: bool) -> Result<ExitCode, CliError> {
    let b = store
        .get_backfill(id)
        .await?
        .ok_or(BackfillError::NotFound(id))?;
    let counts = store.backfill_counts(id).await?;
    let shown = BackfillJson::new(&b, &counts);
    if json {
        print_json(&shown)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("backfill   {}", shown.id);
    println!("job        {}", shown.job);
    println!("status     {}", shown.status);
    println!("mode       {}", shown.mode);
    println!("partitions {}", shown.partitions);
    println!("runs       {}", counts_text(&shown));
    Ok(ExitCode::SUCCESS)
}
