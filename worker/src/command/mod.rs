//! Command assets: one attempt of an asset computed by an external program (any language),
//! run as a child process in a process group of its own.
//!
//! The process is told about its step two ways at once, so a script may use either:
//! - **Dagster Pipes**, unchanged: `DAGSTER_PIPES_CONTEXT` and `DAGSTER_PIPES_MESSAGES` as the
//!   `dagster-pipes` package reads them (a context file and a messages file, as Dagster's
//!   `PipesSubprocessClient` passes them); the messages file is followed while the process runs.
//! - **Plain environment**: `ORCH_RUN_ID`, `ORCH_JOB`, `ORCH_ASSET`, `ORCH_RETRY_NUMBER`,
//!   `ORCH_CONFIG`, `ORCH_INPUTS_DIR` (one `<upstream>.json` per upstream output) and
//!   `ORCH_OUTPUT` (JSON written there is the asset's output; nothing written is `null`).
//!
//! stdout and stderr become the step's log lines (`output`). A non-zero exit, a signal, a
//! timeout or a command that cannot start fails the attempt naming it; what the messages say
//! wrongly becomes a warning event. The process group never outlives the attempt (`process`).

mod output;
mod pipes;
mod process;
mod session;
mod workspace;

use futures::FutureExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use orchestrator::definitions::{
    AssetCheckDef, AssetError, AssetOutput, CommandSpec, EventSink, Inputs,
};
use orchestrator::domain::CheckResult;
use orchestrator::domain::LogLevel;
use orchestrator::launcher::describe_exit;
use tokio_util::task::AbortOnDropHandle;

pub use process::Reaper;

use crate::step::StepRun;
use output::Capture;
use process::Group;
use serde_json::Value;
use session::{Report, Session};
use workspace::Workspace;

/// How long the streams may stay open once the process group is gone (a process that escaped
/// the group with `setsid` and kept them): then they are no longer read.
const STREAM_DRAIN: Duration = Duration::from_secs(2);

/// How the worker runs command assets.
#[derive(Debug, Clone)]
pub(crate) struct Commands {
    /// Groups of steps aborted by a cancel, ended by the executor before the run ends.
    pub reaper: Arc<Reaper>,
    /// Between SIGTERM and SIGKILL when a command is stopped (cancel, timeout).
    pub grace: Duration,
    /// Variables every command gets (under its own `env`).
    pub env: Arc<Vec<(String, String)>>,
}

/// One attempt of a command asset.
pub(crate) async fn attempt(
    step: &StepRun,
    attempt: u32,
    spec: &CommandSpec,
) -> Result<AssetOutput, AssetError> {
    let call = Call {
        attempt,
        inputs: &step.inputs,
        check: None,
    };
    let finished = run(step, &call, spec).await?;
    let value = finished.workspace.read_output().await.map_err(|e| {
        AssetError::fatal(format!(
            "command `{}` succeeded but {e}",
            spec.argv.join(" ")
        ))
    })?;
    Ok(AssetOutput {
        value,
        metadata: finished.report.metadata,
        checks: finished.report.checks,
    })
}

/// A check that is a command, run after its asset with the asset's output as its one input:
/// exit 0 is passed, unless the command reported this check failed through Pipes; the
/// metadata is what it reported. A command that cannot run fails the check, saying why.
pub(crate) async fn check(
    step: &StepRun,
    check: &AssetCheckDef,
    spec: &CommandSpec,
    output: Arc<Value>,
) -> CheckResult {
    let inputs: Inputs = [(step.def.key.clone(), output)].into_iter().collect();
    let call = Call {
        attempt: 1,
        inputs: &inputs,
        check: Some(&check.name),
    };
    match run(step, &call, spec).await {
        Ok(finished) => {
            let mut result = CheckResult::from_bool(true, check.severity);
            for (name, reported) in finished.report.checks {
                if name == check.name {
                    result.passed &= reported.passed;
                    result.metadata.extend(reported.metadata);
                }
            }
            result
        }
        Err(e) => CheckResult::failed(check.severity).with_metadata("error", e.message),
    }
}

/// What a command is run for: an attempt of its asset, or one of the asset's checks.
struct Call<'a> {
    attempt: u32,
    inputs: &'a Inputs,
    check: Option<&'a str>,
}

/// A command that exited 0, with what it reported and the files it may have written.
struct Finished {
    report: Report,
    workspace: Workspace,
}

/// Runs `spec` to its end; anything but exit 0 is the error, naming what happened.
async fn run(step: &StepRun, call: &Call<'_>, spec: &CommandSpec) -> Result<Finished, AssetError> {
    let shown = spec.argv.join(" ");
    let workspace = Workspace::create(step, call.attempt, call.inputs, call.check)
        .await
        .map_err(|e| AssetError::retryable(format!("cannot prepare the command's files: {e}")))?;
    let mut command = build(spec, &workspace, &step.commands.env)?;
    let child = command.spawn().map_err(|e| spawn_error(spec, &shown, &e))?;
    let mut group = Group::new(child, step.commands.reaper.clone()).ok_or_else(|| {
        AssetError::retryable(format!("command `{shown}` ended before orch saw its pid"))
    })?;
    let sink: Arc<dyn EventSink> = step.events.clone();
    let capture = Capture::new(step.def.key.clone(), sink);
    let streams = group.child().map(|child| {
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let capture = capture.clone();
        AbortOnDropHandle::new(tokio::spawn(async move {
            let out = async {
                if let Some(s) = stdout {
                    output::follow(s, capture.clone(), false).await;
                }
            };
            let err = async {
                if let Some(s) = stderr {
                    output::follow(s, capture.clone(), true).await;
                }
            };
            tokio::join!(out, err);
        }))
    });
    let session = Session::new(step, capture.clone());
    let messages = session.follow(workspace.messages_path().to_owned());

    let ended = wait(&mut group, spec.timeout, step.commands.grace).await;
    group.kill_leftovers();
    if let Some(mut streams) = streams {
        loop {
            match tokio::time::timeout(STREAM_DRAIN, &mut streams).await {
                Ok(_) => break,
                // Output held back while the database is away is not cut off: the drain goes
                // on once the event buffer has room.
                Err(_) if step.events.room().now_or_never().is_none() => {
                    step.events.room().await;
                }
                Err(_) => break,
            }
        }
    }
    let report = messages.finish().await;
    capture.finish();

    let exit = match ended {
        Ended::Exited(Ok(status)) => status,
        Ended::Exited(Err(e)) => {
            return Err(AssetError::retryable(format!(
                "cannot wait for command `{shown}`: {e}"
            )));
        }
        Ended::TimedOut(limit) => {
            return Err(AssetError::retryable(format!(
                "command `{shown}` timed out after {}",
                humantime::format_duration(limit)
            )));
        }
    };
    if !exit.success() {
        let mut message = format!("command `{shown}` {}", describe_exit(exit));
        if let Some(exception) = &report.exception {
            message.push_str(&format!(": {exception}"));
        }
        let tail = capture.stderr_tail();
        if !tail.is_empty() {
            message.push_str(&format!("; stderr ends: {}", tail.join(" | ")));
        }
        return Err(AssetError::retryable(message));
    }
    Ok(Finished { report, workspace })
}

enum Ended {
    Exited(std::io::Result<ExitStatus>),
    TimedOut(Duration),
}

async fn wait(group: &mut Group, timeout: Option<Duration>, grace: Duration) -> Ended {
    let Some(limit) = timeout else {
        return Ended::Exited(group.wait().await);
    };
    match tokio::time::timeout(limit, group.wait()).await {
        Ok(exited) => Ended::Exited(exited),
        Err(_) => {
            group.terminate(grace).await;
            Ended::TimedOut(limit)
        }
    }
}

fn build(
    spec: &CommandSpec,
    workspace: &Workspace,
    common: &[(String, String)],
) -> Result<tokio::process::Command, AssetError> {
    let Some((program, args)) = spec.argv.split_first() else {
        return Err(AssetError::fatal("the command is empty"));
    };
    if let Some(dir) = &spec.cwd
        && !dir.is_dir()
    {
        return Err(AssetError::fatal(format!(
            "the command's directory {} does not exist",
            dir.display()
        )));
    }
    let mut command = tokio::process::Command::new(resolve(program, spec.cwd.as_deref()));
    command
        .args(args)
        .envs(common.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(workspace.env())
        .envs(&spec.env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    if let Some(dir) = &spec.cwd {
        command.current_dir(dir);
    }
    Ok(command)
}

/// A program with a `/` in a relative path is the job file's (`cwd`'s), not the worker's;
/// a bare name is looked up on `PATH`.
fn resolve(program: &str, cwd: Option<&Path>) -> PathBuf {
    let path = Path::new(program);
    match cwd {
        Some(dir) if program.contains('/') && path.is_relative() => dir.join(path),
        _ => path.to_owned(),
    }
}

fn spawn_error(spec: &CommandSpec, shown: &str, e: &std::io::Error) -> AssetError {
    let program = spec.argv.first().map(String::as_str).unwrap_or_default();
    let message = match e.kind() {
        std::io::ErrorKind::NotFound if program.contains('/') => {
            format!("cannot start command `{shown}`: {program} does not exist")
        }
        std::io::ErrorKind::NotFound => {
            format!("cannot start command `{shown}`: {program} is not on PATH")
        }
        std::io::ErrorKind::PermissionDenied => {
            format!("cannot start command `{shown}`: {program} is not executable")
        }
        _ => format!("cannot start command `{shown}`: {e}"),
    };
    AssetError::fatal(message)
}

/// Warnings of orch's own about what the command did, in the step's log.
fn warn(capture: &Capture, message: String) {
    tracing::warn!(%message, "command asset");
    capture.event(LogLevel::Warn, message);
}
