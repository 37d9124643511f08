//! `orch run <job>`: executes a run in this process on the configured store, with live progress.

use std::process::ExitCode;

use orchestrator::domain::{NewRun, RunStatus};

use crate::app;
use crate::error::CliError;
use crate::kv;
use crate::progress;
use crate::settings::Settings;

pub async fn run(
    settings: &Settings,
    job_name: &str,
    config: &[String],
    tags: &[String],
) -> Result<ExitCode, CliError> {
    let definitions = app::definitions(settings).await?;
    let Some(job) = definitions.job(job_name) else {
        let known: Vec<&str> = definitions.jobs().iter().map(|j| j.name.as_str()).collect();
        return Err(CliError::config(format!(
            "unknown job '{job_name}' (known jobs: {})",
            known.join(", ")
        )));
    };
    let overrides = kv::parse_config(config).map_err(CliError::config)?;
    let tags = kv::parse_tags(tags).map_err(CliError::config)?;
    let config = job.resolve_config(&overrides).map_err(CliError::config)?;
    let store = app::open_store(settings).await?;
    let new_run = NewRun::in_process(job.name.clone(), config, tags);
    let run = store.create_run(&new_run).await?;
    println!("run {} of {}", run.id, run.job);
    let worker = app::worker(settings, store, definitions.clone()).await;
    let run = worker.execute(run.id, Some(progress::observer())).await?;
    let duration = run
        .duration()
        .map(|d| format!(" in {} ms", d.num_milliseconds()))
        .unwrap_or_default();
    println!("run {} {}{duration}", run.id, run.status);
    Ok(if run.status == RunStatus::Success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(CliError::FAILURE)
    })
}
