//! `orch partitions <job> [--asset A] [--status S] [--after KEY] [--limit N] [--json]`: a
//! partitioned job's status per key from the status index; `--json` prints
//! `{"summary", "partitions": [{"key", "status", "run_id"}], "next"}`.

use std::process::ExitCode;

use clap::Args;
use orchestrator::domain::{AssetKey, PartitionStatus};
use orchestrator::partition_status::{StatusQuery, read_status};
use web::partition_json::{PartitionsJson, Ranges};

use crate::app;
use crate::error::CliError;
use crate::output::print_json;
use crate::settings::Settings;

#[derive(Debug, Args)]
pub struct PartitionsArgs {
    /// The partitioned job.
    pub job: String,
    /// One partitioned asset of the job (default: the job as a whole).
    #[arg(long)]
    pub asset: Option<String>,
    /// Only keys in this status: materialized, failed, in_progress or missing.
    #[arg(long)]
    pub status: Option<String>,
    /// Keys after this one (the `next` of the previous page).
    #[arg(long)]
    pub after: Option<String>,
    /// Page size (at most 10 000).
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    #[arg(long)]
    pub json: bool,
}

pub async fn partitions(settings: &Settings, args: &PartitionsArgs) -> Result<ExitCode, CliError> {
    let definitions = app::definitions(settings).await?;
    let job = definitions
        .job(&args.job)
        .ok_or_else(|| CliError::config(format!("job '{}' not found", args.job)))?;
    let asset = args
        .asset
        .as_deref()
        .map(AssetKey::parse)
        .transpose()
        .map_err(|e| CliError::config(format!("--asset: {e}")))?;
    let status = args
        .status
        .as_deref()
        .map(str::parse::<PartitionStatus>)
        .transpose()
        .map_err(|e| CliError::config(format!("--status: {e}")))?;
    let store = app::open_store(settings).await?;
    let query = StatusQuery {
        asset,
        status,
        after: args.after.clone(),
        limit: args.limit,
    };
    let report = read_status(store.as_ref(), job, &query, chrono::Utc::now()).await?;
    if args.json {
        print_json(&PartitionsJson::new(report, Ranges::Omit))?;
        return Ok(ExitCode::SUCCESS);
    }
    let s = report.summary;
    println!(
        "{} materialized, {} failed, {} in progress, {} missing",
        s.materialized, s.failed, s.in_progress, s.missing
    );
    for range in &report.ranges {
        if range.count == 1 {
            println!("  {:<12} {}", range.status.as_str(), range.start);
        } else {
            println!(
                "  {:<12} {} .. {} ({})",
                range.status.as_str(),
                range.start,
                range.end,
                range.count
            );
        }
    }
    if args.status.is_some() {
        for key in &report.partitions {
            let run = key.run_id.map(|r| r.to_string()).unwrap_or_default();
            println!("{:<20} {:<12} {run}", key.key, key.status.as_str());
        }
        if let Some(next) = &report.next {
            println!("more: --after {next}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
