//! Launchers start, stop and look at the worker of a run: a local child process in development
//! (`local`), a Kubernetes Job in production. The daemon talks to them only through
//! [`Launcher`], and keeps what a launcher returns ([`WorkerHandle`]) on the run row, so any
//! daemon replica can inspect or terminate a worker another replica launched.

pub mod local;

use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::domain::{Run, RunId};

pub use local::{LocalLauncher, LocalLauncherOptions, describe_exit};

/// A launcher's handle on one worker, stored as JSON on the run (`runs.worker`). Its shape is
/// the launcher's own; `kind` names the launcher.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerHandle(pub Value);

impl WorkerHandle {
    pub fn kind(&self) -> Option<&str> {
        self.0.get("kind").and_then(Value::as_str)
    }

    /// The file the worker's output is captured in, where the launcher keeps one.
    pub fn log_path(worker: &Value) -> Option<&str> {
        worker.get("log").and_then(Value::as_str)
    }
}

/// What a launcher can tell about a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerState {
    Running,
    /// The worker is gone; `reason` says how, e.g. "exited with code 1", "killed by signal 9
    /// (SIGKILL)", "process 123 is gone".
    Gone {
        reason: String,
    },
    /// The launcher cannot tell from here (e.g. a process on another host).
    Unknown,
}

/// A worker this launcher saw end, reported as it happens so the monitor need not wait for a
/// heartbeat to time out.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerExit {
    pub run: RunId,
    /// How it ended, in words ("exited with code 0", "killed by signal 9 (SIGKILL)").
    pub reason: String,
    pub success: bool,
    /// The worker's handle, as `launch` returned it: the exit can be reported before the
    /// coordinator has stored the handle on the run.
    pub handle: WorkerHandle,
}

/// Why a launcher could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot start the worker of run {run}: {reason}")]
    Start { run: RunId, reason: String },
    #[error("cannot terminate the worker of run {run}: {reason}")]
    Terminate { run: RunId, reason: String },
    #[error("the worker handle of run {run} is not one this launcher understands: {handle}")]
    ForeignHandle { run: RunId, handle: Value },
}

/// Starts and stops workers (`orch worker --run-id <id>`) for claimed runs.
#[async_trait]
pub trait Launcher: Send + Sync + Debug {
    /// The launcher's name, as in [`WorkerHandle::kind`].
    fn kind(&self) -> &'static str;

    /// Starts the worker of a STARTING run and returns the handle to store with it.
    async fn launch(&self, run: &Run) -> Result<WorkerHandle, LaunchError>;

    /// Like [`Launcher::launch`], for a run whose claim was taken over from a dead daemon,
    /// which may have started its worker already: that worker is adopted, never a second one
    /// started. The default suits launchers whose `launch` is idempotent by itself.
    async fn relaunch(&self, run: &Run) -> Result<WorkerHandle, LaunchError> {
        self.launch(run).await
    }

    /// Asks the worker to stop (SIGTERM or its equivalent), and forces it after `grace`.
    /// Returns once the worker is gone or has been forced.
    async fn terminate(
        &self,
        run: RunId,
        handle: &WorkerHandle,
        grace: Duration,
    ) -> Result<(), LaunchError>;

    /// The worker's state, as far as this launcher can tell.
    async fn inspect(&self, run: RunId, handle: &WorkerHandle) -> WorkerState;

    /// Worker exits as they happen, for the launcher's lifetime. Called once; `None` where the
    /// launcher cannot report them.
    fn exits(&self) -> Option<mpsc::UnboundedReceiver<WorkerExit>>;
}
