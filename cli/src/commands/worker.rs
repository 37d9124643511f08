//! `orch worker --run-id <id>`: the process a launcher starts (a local child process or a
//! Kubernetes Job) to execute one STARTING run. It heartbeats every ORCH_HEARTBEAT_INTERVAL; a
//! heartbeat that finds the run CANCELING, or SIGTERM/SIGINT, cancels the run: the steps in
//! flight are stopped and record STEP_CANCELED, and the run ends CANCELED before the process
//! exits. Exit code 0 when the run ends SUCCESS, 1 when it ends otherwise, 2 when it cannot be
//! executed (unknown id, not STARTING). It does not migrate: the daemon did. It rides out a
//! database outage: at start it waits for the database, and while it runs its events wait in
//! memory (`worker::EventWriter`) until the database is back.

use std::process::ExitCode;
use std::sync::Arc;

use orchestrator::definitions::Definitions;
use orchestrator::domain::{Run, RunId, RunStatus};
use orchestrator::storage::RunStorage;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use worker::{Cancellation, ExecuteOptions, Heartbeat, WorkerError};

use crate::app;
use crate::error::CliError;
use crate::progress;
use crate::settings::Settings;
use crate::telemetry;

pub async fn worker(settings: &Settings, run_id: &str) -> Result<ExitCode, CliError> {
    let id = RunId::parse(run_id).map_err(CliError::config)?;
    // Listen first: a SIGTERM that comes while the store opens still cancels the run properly.
    let cancellation = Cancellation::new();
    let signals = cancel_on_termination(cancellation.clone())?;
    // A worker started while the database is away waits for it (the daemon's start timeout
    // bounds the wait); it never migrates: the daemon did.
    let store = app::open_store_waiting(settings, false).await?;
    let run = orchestrator::storage::until_reachable(|| store.get_run(id)).await?;
    if !matches!(run.status, RunStatus::Starting | RunStatus::Canceling) {
        return Err(WorkerError::NotStarting {
            run: id,
            status: run.status,
        }
        .into());
    }
    let definitions = app::definitions(settings).await?;
    println!("run {id} of {}", run.job);
    let span = worker_span(settings, store.as_ref(), id).await;
    let ended = execute_supervised(settings, store, definitions, id, cancellation)
        .instrument(span)
        .await;
    signals.abort();
    let run = ended?;
    println!("run {} {}", run.id, run.status);
    Ok(if run.status == RunStatus::Success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(CliError::FAILURE)
    })
}

/// The span the worker's run executes in: with tracing on, a child of the launcher's span
/// (TRACEPARENT, else the traceparent stored with the run), so the steps join the run's trace.
async fn worker_span(settings: &Settings, store: &dyn RunStorage, id: RunId) -> tracing::Span {
    let span = tracing::info_span!("worker", run_id = %id);
    if !telemetry::tracing_enabled(settings) {
        return span;
    }
    let traceparent = match &settings.traceparent {
        Some(traceparent) => Some(traceparent.clone()),
        None => store.trace_parent(id).await.ok().flatten(),
    };
    match traceparent.as_deref().map(telemetry::remote_parent) {
        Some(Some(parent)) => {
            if let Err(e) = span.set_parent(parent) {
                tracing::warn!(error = %e, "cannot continue the run's trace");
            }
        }
        Some(None) => tracing::warn!(
            ?traceparent,
            "TRACEPARENT is not a W3C traceparent; the worker starts a new trace"
        ),
        None => {}
    }
    span
}

/// Executes STARTING run `id` in this process as a worker does: heartbeats every
/// ORCH_HEARTBEAT_INTERVAL (so a daemon monitoring the store sees it alive, and a cancel reaches
/// it), step progress on stdout, stopped by `cancellation`. Used by `orch worker` and `orch run`.
pub async fn execute_supervised(
    settings: &Settings,
    store: Arc<dyn RunStorage>,
    definitions: Arc<Definitions>,
    id: RunId,
    cancellation: Cancellation,
) -> Result<Run, CliError> {
    let worker = app::worker(settings, store.clone(), definitions).await;
    let heartbeat = Heartbeat::spawn(store, id, settings.heartbeat_interval, cancellation.clone());
    let options = ExecuteOptions {
        observer: Some(progress::observer()),
        cancellation,
    };
    let ended = worker.execute_with(id, options).await;
    heartbeat.stop().await;
    Ok(ended?)
}

/// Cancels the run on the first SIGTERM or SIGINT. Later ones are ignored: the run is already
/// stopping, and the launcher's SIGKILL after its grace period is the last word.
pub fn cancel_on_termination(cancellation: Cancellation) -> Result<JoinHandle<()>, CliError> {
    let listen = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| CliError::failure(format!("cannot listen for {name}: {e}")))
    };
    let mut term = listen(SignalKind::terminate(), "SIGTERM")?;
    let mut int = listen(SignalKind::interrupt(), "SIGINT")?;
    Ok(tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::warn!("worker received {name}; canceling the run");
        cancellation.cancel(format!("worker received {name}"));
        loop {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
    }))
}
