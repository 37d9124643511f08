//! `orch runs logs <id>`: what the run's worker process wrote to stdout and stderr, as the local
//! launcher captured it (`$ORCH_HOME/logs/<run id>.log` of the daemon that launched it).

use std::process::ExitCode;

use orchestrator::domain::RunId;
use orchestrator::launcher::WorkerHandle;

use crate::app;
use crate::error::CliError;
use crate::settings::Settings;

pub async fn logs(settings: &Settings, id: &str) -> Result<ExitCode, CliError> {
    let id = RunId::parse(id).map_err(CliError::config)?;
    let store = app::open_store(settings).await?;
    let run = store.get_run(id).await?;
    let Some(path) = run.worker.as_ref().and_then(WorkerHandle::log_path) else {
        return Err(CliError::failure(format!(
            "run {id} has no captured worker output (it ran in process, was never launched, or its launcher keeps logs elsewhere)"
        )));
    };
    let text = tokio::fs::read_to_string(path).await.map_err(|e| {
        CliError::failure(format!(
            "cannot read the worker output of run {id} at {path}: {e} (it is on the host of the daemon that launched it)"
        ))
    })?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}
