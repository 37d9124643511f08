//! `orch runs cancel <id>`: a queued run ends CANCELED at once (it was never launched); a
//! starting or started run becomes CANCELING, and its worker stops (its heartbeat sees the
//! status, and the daemon's run monitor sends it SIGTERM). A finished run is left as it is
//! (exit 1).

use std::process::ExitCode;

use orchestrator::domain::RunId;
use orchestrator::run_control::{CancelError, CancelOutcome, cancel_run};

use crate::app;
use crate::error::CliError;
use crate::settings::Settings;

/// The message recorded with the status change.
const MESSAGE: &str = "canceled with orch runs cancel";

pub async fn cancel(settings: &Settings, id: &str) -> Result<ExitCode, CliError> {
    let id = RunId::parse(id).map_err(CliError::config)?;
    let store = app::open_store(settings).await?;
    let outcome = cancel_run(store.as_ref(), id, MESSAGE).await;
    if outcome.is_ok() {
        crate::commands::audit::record(store.as_ref(), "cancel", &id.to_string()).await;
    }
    match outcome {
        Ok(CancelOutcome::Canceled(run)) => {
            println!("run {} CANCELED (it was queued and never launched)", run.id);
        }
        Ok(CancelOutcome::Canceling(run)) => {
            println!("run {} CANCELING: its worker will stop it", run.id);
        }
        Ok(CancelOutcome::AlreadyCanceling(run)) => {
            println!("run {} is already CANCELING", run.id);
        }
        Err(CancelError::Storage(e)) => return Err(e.into()),
        Err(e @ CancelError::AlreadyEnded { .. }) => return Err(CliError::failure(e)),
    }
    Ok(ExitCode::SUCCESS)
}
