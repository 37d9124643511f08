//! `orch run <job>`: executes a run in this process on the configured store, with live progress.

use std::process::ExitCode;

use ::worker::Cancellation;
use orchestrator::domain::RunStatus;

use crate::app;
use crate::commands::worker as supervised;
use crate::error::CliError;
use crate::settings::Settings;

pub async fn run(
    settings: &Settings,
    request: &app::LaunchRequest<'_>,
) -> Result<ExitCode, CliError> {
    let definitions = app::definitions(settings).await?;
    let store = app::open_store(settings).await?;
    let new_run =
        app::plan_launch(&definitions, store.as_ref(), request, RunStatus::Starting).await?;
    crate::launcher::check_run_tags(&app::orch_config(settings)?, &new_run)?;
    // Ctrl-C cancels the run (CANCELED, steps in flight STEP_CANCELED) instead of leaving it
    // STARTED; heartbeats tell a daemon watching the same store that it is alive.
    let cancellation = Cancellation::new();
    let signals = supervised::cancel_on_termination(cancellation.clone())?;
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
    println!("run {} of {}", run.id, run.job);
    let ended =
        supervised::execute_supervised(settings, store, definitions.clone(), run.id, cancellation)
            .await;
    signals.abort();
    let run = ended?;
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
