//! `orch runs list` and `orch runs show`.

use std::process::ExitCode;

use orchestrator::domain::{EventKind, EventRecord, JobName, RunFilter, RunId, RunStatus, TagKey};
use orchestrator::storage::RunStorage;

use crate::app;
use crate::error::CliError;
use crate::output::{EventJson, RunJson, RunWithEventsJson, print_json};
use crate::progress::describe;
use crate::settings::Settings;

/// Filters of `orch runs list`, as typed.
#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// Only runs in this status (QUEUED, STARTING, STARTED, SUCCESS, FAILURE, CANCELING, CANCELED).
    #[arg(long)]
    pub status: Option<String>,
    /// Only runs of this job.
    #[arg(long)]
    pub job: Option<String>,
    /// Only runs with this tag, KEY=VALUE.
    #[arg(long)]
    pub tag: Option<String>,
    /// Only runs of this single partition key (e.g. `2026-03-01`).
    #[arg(long, value_name = "KEY")]
    pub partition: Option<String>,
    /// Only runs of this backfill (its `orch/backfill` tag; not with --tag).
    #[arg(long, value_name = "ID", conflicts_with = "tag")]
    pub backfill: Option<String>,
    /// Runs older than this run id (the cursor of the next page).
    #[arg(long)]
    pub before: Option<String>,
    /// Only runs with at least one failed asset check.
    #[arg(long)]
    pub checks_failed: bool,
    /// Only runs started by this: a token's name, `sso:<user>`, `schedule:<name>`, `cli`, …
    #[arg(long, value_name = "WHO")]
    pub launched_by: Option<String>,
    /// At most this many runs (at most 1000).
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

impl ListArgs {
    fn filter(&self) -> Result<RunFilter, CliError> {
        let status = self
            .status
            .as_deref()
            .map(str::parse::<RunStatus>)
            .transpose()
            .map_err(CliError::config)?;
        let job = self
            .job
            .as_deref()
            .map(JobName::parse)
            .transpose()
            .map_err(CliError::config)?;
        let tag = match &self.tag {
            None => None,
            Some(raw) => {
                let (k, v) = raw
                    .split_once('=')
                    .ok_or_else(|| CliError::config(format!("--tag '{raw}' is not KEY=VALUE")))?;
                Some((TagKey::parse(k).map_err(CliError::config)?, v.to_owned()))
            }
        };
        let tag = match &self.backfill {
            Some(id) => {
                let id = orchestrator::domain::BackfillId::parse(id).map_err(CliError::config)?;
                let key =
                    TagKey::parse(orchestrator::domain::BACKFILL_TAG).map_err(CliError::config)?;
                Some((key, id.to_string()))
            }
            None => tag,
        };
        let before = self
            .before
            .as_deref()
            .map(RunId::parse)
            .transpose()
            .map_err(CliError::config)?;
        Ok(RunFilter {
            status,
            job,
            tag,
            partition: self.partition.clone(),
            checks_failed: self.checks_failed,
            launched_by: self.launched_by.clone(),
            before,
            limit: self.limit.max(1),
        })
    }
}

pub async fn list(settings: &Settings, args: &ListArgs) -> Result<ExitCode, CliError> {
    let filter = args.filter()?;
    let store = app::open_store(settings).await?;
    let runs = store.list_runs(&filter).await?;
    if args.json {
        let runs: Vec<RunJson> = runs.iter().map(RunJson::from).collect();
        print_json(&runs)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<36}  {:<24} {:<9} {:<25} {:<20} DURATION",
        "ID", "JOB", "STATUS", "CREATED", "LAUNCHED BY"
    );
    for run in &runs {
        let duration = run
            .duration()
            .map(|d| format!("{} ms", d.num_milliseconds()))
            .unwrap_or_else(|| "-".into());
        let checks = match run.checks_failed {
            0 => String::new(),
            1 => "  1 check failed".to_owned(),
            n => format!("  {n} checks failed"),
        };
        println!(
            "{:<36}  {:<24} {:<9} {:<25} {:<20} {duration}{checks}",
            run.id.to_string(),
            run.job.as_str(),
            run.status.as_str(),
            run.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            run.launched_by.as_deref().unwrap_or("-")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Every event of a run, read page by page.
async fn all_events(store: &dyn RunStorage, id: RunId) -> Result<Vec<EventRecord>, CliError> {
    let mut events = Vec::new();
    loop {
        let page = store
            .list_events(id, events.last().map(|e: &EventRecord| e.id), 1000)
            .await?;
        let done = page.len() < 1000;
        events.extend(page);
        if done {
            return Ok(events);
        }
    }
}

pub async fn show(settings: &Settings, id: &str, json: bool) -> Result<ExitCode, CliError> {
    let id = RunId::parse(id).map_err(CliError::config)?;
    let store = app::open_store(settings).await?;
    let run = store.get_run(id).await?;
    let events = all_events(store.as_ref(), id).await?;
    if json {
        print_json(&RunWithEventsJson {
            run: RunJson::from(&run),
            events: events.iter().map(EventJson::from).collect(),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("run      {}", run.id);
    println!("job      {}", run.job);
    println!("status   {}", run.status);
    println!("created  {}", run.created_at.to_rfc3339());
    if let Some(d) = run.duration() {
        println!("duration {} ms", d.num_milliseconds());
    }
    if let Some(parent) = run.parent_run_id {
        println!("parent   {parent}");
    }
    println!("config   {}", run.config);
    for (k, v) in &run.tags {
        println!("tag      {k}={v}");
    }
    println!();
    for event in &events {
        let step = event.step.as_ref().map_or("", |s| s.as_str());
        println!(
            "{}  {:<22} {:<14} {}",
            event.timestamp.format("%H:%M:%S%.3f"),
            event.kind.type_name(),
            step,
            detail(&event.kind)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn detail(kind: &EventKind) -> String {
    match kind {
        EventKind::RunFailure { message: Some(m) }
        | EventKind::RunCanceling { message: Some(m) }
        | EventKind::RunCanceled { message: Some(m) } => m.clone(),
        EventKind::StepStart { attempt } => format!("attempt {attempt}"),
        EventKind::StepSuccess { duration_ms } => format!("{duration_ms} ms"),
        EventKind::StepFailure { error, .. } => error.clone(),
        EventKind::StepUpRetry {
            error, delay_ms, ..
        } => format!("{error}; retry in {delay_ms} ms"),
        EventKind::StepSkipped { reason } => reason.clone(),
        EventKind::StepOutput { location } => location.clone(),
        EventKind::StepOutputReused { from_run, location } => {
            format!("{location} (from run {from_run})")
        }
        EventKind::AssetMaterialization { metadata, .. } => describe(metadata),
        EventKind::Log { level, message } => format!("[{level:?}] {message}"),
        EventKind::AssetCheckEvaluation {
            check,
            passed,
            severity,
            metadata,
            ..
        } => match passed {
            true => format!("{check} passed {}", describe(metadata)),
            false => format!("{check} failed ({severity}) {}", describe(metadata)),
        }
        .trim_end()
        .to_owned(),
        _ => String::new(),
    }
}
