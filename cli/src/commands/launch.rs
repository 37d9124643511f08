//! `orch launch <job>`: queues a run for the daemon and prints its id (alone, on the last line of
//! stdout); with `--wait`, follows its events and exits like `orch run`.

use std::process::ExitCode;
use std::time::Duration;

use orchestrator::domain::{NewEvent, RunId, RunStatus};
use orchestrator::storage::RunStorage;

use crate::app;
use crate::error::CliError;
use crate::progress;
use crate::settings::Settings;

pub async fn launch(
    settings: &Settings,
    request: &app::LaunchRequest<'_>,
    wait: bool,
) -> Result<ExitCode, CliError> {
    let definitions = app::definitions(settings).await?;
    let store = app::open_store(settings).await?;
    let new_run =
        app::plan_launch(&definitions, store.as_ref(), request, RunStatus::Queued).await?;
    crate::launcher::check_run_tags(&app::orch_config(settings)?, &new_run)?;
    let job = definitions
        .job(new_run.job.as_str())
        .ok_or_else(|| CliError::config(format!("job '{}' not found", new_run.job)))?;
    let run = orchestrator::partition_status::create_run(
        store.as_ref(),
        job,
        &new_run,
        chrono::Utc::now(),
    )
    .await?;
    if !wait {
        println!("{}", run.id);
        return Ok(ExitCode::SUCCESS);
    }
    println!("run {} of {} queued", run.id, run.job);
    let status = follow(store.as_ref(), run.id).await?;
    println!("run {} {status}", run.id);
    println!("{}", run.id);
    Ok(if status == RunStatus::Success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(CliError::FAILURE)
    })
}

/// Prints the run's step events as they are recorded until it ends; returns its last status.
pub async fn follow(store: &dyn RunStorage, id: RunId) -> Result<RunStatus, CliError> {
    let printer = progress::observer();
    let mut changes = store.subscribe().await;
    let mut after = None;
    loop {
        // Read the status first: events recorded before a terminal status are all visible
        // once it is.
        let status = store.get_run(id).await?.status;
        loop {
            let page = store.list_events(id, after, 0).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id);
            for record in page {
                printer(&NewEvent {
                    timestamp: record.timestamp,
                    step: record.step,
                    kind: record.kind,
                });
            }
        }
        if status.is_terminal() {
            return Ok(status);
        }
        // Woken by a status change of any run, or after a short poll for step events.
        let _ = tokio::time::timeout(Duration::from_millis(100), changes.recv()).await;
    }
}
