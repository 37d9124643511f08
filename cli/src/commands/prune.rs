//! `orch runs prune --older-than 30d [--status S]... [--dry-run]`: deletes finished runs, with
//! their events and tags, that ended longer ago than the given duration, in the same small
//! batches as the daemon's retention loop.

use std::process::ExitCode;

use chrono::Utc;
use orchestrator::daemon::retention::{RetentionPolicy, prune_status};
use orchestrator::domain::RunStatus;
use tokio_util::sync::CancellationToken;

use crate::app;
use crate::error::CliError;
use crate::settings::Settings;

/// Arguments of `orch runs prune`.
#[derive(Debug, Clone, clap::Args)]
pub struct PruneArgs {
    /// Delete runs that ended longer ago than this, e.g. 30d, 12h, 90 days.
    #[arg(long, value_name = "DURATION")]
    pub older_than: String,
    /// Only runs in this status: SUCCESS, FAILURE or CANCELED. Repeatable; default: all three.
    #[arg(long, value_name = "STATUS")]
    pub status: Vec<String>,
    /// Count what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl PruneArgs {
    fn statuses(&self) -> Result<Vec<RunStatus>, CliError> {
        if self.status.is_empty() {
            return Ok(vec![
                RunStatus::Success,
                RunStatus::Failure,
                RunStatus::Canceled,
            ]);
        }
        let mut statuses = Vec::new();
        for raw in &self.status {
            let status: RunStatus = raw.parse().map_err(CliError::config)?;
            if !status.is_terminal() {
                return Err(CliError::config(format!(
                    "--status {status}: only finished runs can be pruned (SUCCESS, FAILURE or CANCELED)"
                )));
            }
            if !statuses.contains(&status) {
                statuses.push(status);
            }
        }
        Ok(statuses)
    }
}

pub async fn prune(settings: &Settings, args: &PruneArgs) -> Result<ExitCode, CliError> {
    let age = humantime::parse_duration(args.older_than.trim()).map_err(|e| {
        CliError::config(format!(
            "--older-than '{}' is not a duration ({e}); use e.g. 30d, 12h or 90 days",
            args.older_than
        ))
    })?;
    let now = Utc::now();
    let cutoff = chrono::Duration::from_std(age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .ok_or_else(|| {
            CliError::config(format!("--older-than '{}' is too long", args.older_than))
        })?;
    let statuses = args.statuses()?;
    let store = app::open_store(settings).await?;
    let batches = RetentionPolicy::default().batches();
    let never = CancellationToken::new();
    let mut total = 0;
    for status in statuses {
        let n = if args.dry_run {
            store.count_prunable_runs(status, cutoff).await?
        } else {
            prune_status(store.as_ref(), status, cutoff, batches, &never).await?
        };
        println!("{:<9} {n}", status.as_str());
        total += n;
    }
    if !args.dry_run {
        let target = format!(
            "{total} runs ended before {}",
            cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        crate::commands::audit::record(store.as_ref(), "prune", &target).await;
    }
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    println!(
        "{verb} {total} runs that ended before {}",
        cutoff.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    Ok(ExitCode::SUCCESS)
}
