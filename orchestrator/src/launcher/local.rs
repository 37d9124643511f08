//! The local-process launcher: each run's worker is a child process, `orch worker --run-id <id>`,
//! with the daemon's environment. Its stdout and stderr go to a log file per run (not a pipe),
//! so a worker outlives a daemon that dies, and its logs outlive both.
//!
//! The handle records host, pid and log path. Any daemon on the same host can inspect or
//! terminate the worker: `/proc/<pid>/cmdline` must still name the run, so a reused pid is never
//! mistaken for the worker.

use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rustix::process::{Pid, Signal};
use serde_json::json;
use tokio::process::Command;
use tokio::sync::mpsc;

use super::{LaunchError, Launcher, WorkerExit, WorkerHandle, WorkerState};
use crate::domain::{Run, RunId};

/// How to start a worker.
#[derive(Debug, Clone)]
pub struct LocalLauncherOptions {
    /// The `orch` binary.
    pub program: PathBuf,
    /// Arguments before the run id, normally `["worker", "--run-id"]`.
    pub args: Vec<String>,
    /// Environment added to the daemon's own.
    pub env: Vec<(String, String)>,
    /// Where each run's `<run id>.log` is written.
    pub log_dir: PathBuf,
}

/// Starts workers as child processes of this daemon.
#[derive(Debug)]
pub struct LocalLauncher {
    options: LocalLauncherOptions,
    host: String,
    /// Children alive, by run.
    children: Arc<Mutex<HashMap<RunId, u32>>>,
    /// How the children that ended ended, by run (the latest few hundred).
    ended: Arc<Mutex<HashMap<RunId, String>>>,
    exits_tx: mpsc::UnboundedSender<WorkerExit>,
    exits_rx: Mutex<Option<mpsc::UnboundedReceiver<WorkerExit>>>,
}

const KIND: &str = "local";
const ENDED_KEPT: usize = 512;

impl LocalLauncher {
    pub fn new(options: LocalLauncherOptions) -> Self {
        let (exits_tx, exits_rx) = mpsc::unbounded_channel();
        Self {
            options,
            host: hostname(),
            children: Arc::default(),
            ended: Arc::default(),
            exits_tx,
            exits_rx: Mutex::new(Some(exits_rx)),
        }
    }

    /// The log file of a run's worker.
    pub fn log_path(&self, run: RunId) -> PathBuf {
        self.options.log_dir.join(format!("{run}.log"))
    }

    /// The pid in a handle of this launcher, if the worker runs on this host.
    fn local_pid(&self, run: RunId, handle: &WorkerHandle) -> Result<Option<u32>, LaunchError> {
        let foreign = || LaunchError::ForeignHandle {
            run,
            handle: handle.0.clone(),
        };
        if handle.kind() != Some(KIND) {
            return Err(foreign());
        }
        let pid = handle
            .0
            .get("pid")
            .and_then(serde_json::Value::as_u64)
            .and_then(|p| u32::try_from(p).ok())
            .ok_or_else(foreign)?;
        let host = handle.0.get("host").and_then(serde_json::Value::as_str);
        Ok((host == Some(self.host.as_str())).then_some(pid))
    }

    fn handle(&self, run: RunId, pid: u32) -> WorkerHandle {
        WorkerHandle(json!({
            "kind": KIND,
            "host": self.host,
            "pid": pid,
            "log": self.log_path(run).display().to_string(),
        }))
    }

    /// A live process on this host started as this launcher starts `run`'s worker (its command
    /// line is the configured arguments, then the run id), e.g. by a daemon that died before
    /// recording it.
    fn find_worker_of(&self, run: RunId) -> Option<u32> {
        let id = run.to_string();
        let mut tail: Vec<&[u8]> = self.options.args.iter().map(|a| a.as_bytes()).collect();
        tail.push(id.as_bytes());
        std::fs::read_dir("/proc")
            .ok()?
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .find(|pid| {
                let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                    return false;
                };
                let args: Vec<&[u8]> = cmdline
                    .strip_suffix(&[0])
                    .unwrap_or(&cmdline)
                    .split(|b| *b == 0)
                    .collect();
                args.ends_with(&tail)
            })
    }

    fn lock_children(&self) -> std::sync::MutexGuard<'_, HashMap<RunId, u32>> {
        self.children.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Launcher for LocalLauncher {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn launch(&self, run: &Run) -> Result<WorkerHandle, LaunchError> {
        let start_error = |reason: String| LaunchError::Start {
            run: run.id,
            reason,
        };
        let log_path = self.log_path(run.id);
        let log = open_log(&self.options.log_dir, &log_path)
            .map_err(|e| start_error(format!("cannot open {}: {e}", log_path.display())))?;
        let stderr = log
            .try_clone()
            .map_err(|e| start_error(format!("cannot open {}: {e}", log_path.display())))?;
        let mut command = Command::new(&self.options.program);
        // The worker continues the run's trace; without one, a TRACEPARENT the daemon itself
        // inherited must not make every worker join a foreign trace.
        let trace_env = crate::telemetry::trace::worker_env();
        if trace_env.is_empty() {
            command.env_remove(crate::telemetry::trace::TRACEPARENT_ENV);
        }
        let mut child = command
            .args(&self.options.args)
            .arg(run.id.to_string())
            .envs(self.options.env.iter().map(|(k, v)| (k, v)))
            .envs(trace_env)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .kill_on_drop(false)
            .spawn()
            .map_err(|e| start_error(format!("{}: {e}", self.options.program.display())))?;
        let pid = child
            .id()
            .ok_or_else(|| start_error("the process exited at once".to_owned()))?;
        self.lock_children().insert(run.id, pid);
        let handle = self.handle(run.id, pid);
        let (id, children, ended, exits, exit_handle) = (
            run.id,
            self.children.clone(),
            self.ended.clone(),
            self.exits_tx.clone(),
            handle.clone(),
        );
        tokio::spawn(async move {
            let (reason, success) = match child.wait().await {
                Ok(status) => (describe_exit(status), status.success()),
                Err(e) => (format!("could not be waited for: {e}"), false),
            };
            children
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            {
                let mut ended = ended.lock().unwrap_or_else(|e| e.into_inner());
                if ended.len() >= ENDED_KEPT {
                    ended.clear();
                }
                ended.insert(id, reason.clone());
            }
            let _ = exits.send(WorkerExit {
                run: id,
                reason,
                success,
                handle: exit_handle,
            });
        });
        Ok(handle)
    }

    async fn relaunch(&self, run: &Run) -> Result<WorkerHandle, LaunchError> {
        match self.find_worker_of(run.id) {
            Some(pid) => {
                tracing::warn!(run_id = %run.id, pid, "adopting the worker a dead daemon started");
                Ok(self.handle(run.id, pid))
            }
            None => self.launch(run).await,
        }
    }

    async fn terminate(
        &self,
        run: RunId,
        handle: &WorkerHandle,
        grace: Duration,
    ) -> Result<(), LaunchError> {
        let Some(pid) = self.local_pid(run, handle)? else {
            return Err(LaunchError::Terminate {
                run,
                reason: format!(
                    "its process runs on host {}, not on this daemon's host {}",
                    handle.0.get("host").and_then(|h| h.as_str()).unwrap_or("?"),
                    self.host
                ),
            });
        };
        let alive =
            |launcher: &Self| launcher.lock_children().contains_key(&run) || is_worker_of(pid, run);
        if !alive(self) {
            return Ok(());
        }
        signal(pid, Signal::TERM);
        let deadline = tokio::time::Instant::now() + grace;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if !alive(self) {
                return Ok(());
            }
        }
        tracing::warn!(%run, pid, grace_ms = grace.as_millis() as u64, "worker ignored SIGTERM; sending SIGKILL");
        signal(pid, Signal::KILL);
        Ok(())
    }

    async fn inspect(&self, run: RunId, handle: &WorkerHandle) -> WorkerState {
        let pid = match self.local_pid(run, handle) {
            Ok(Some(pid)) => pid,
            Ok(None) | Err(_) => return WorkerState::Unknown,
        };
        if self.lock_children().contains_key(&run) || is_worker_of(pid, run) {
            return WorkerState::Running;
        }
        let ended = self
            .ended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&run)
            .cloned();
        WorkerState::Gone {
            reason: ended.unwrap_or_else(|| format!("worker process {pid} is gone")),
        }
    }

    fn exits(&self) -> Option<mpsc::UnboundedReceiver<WorkerExit>> {
        self.exits_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

fn open_log(dir: &Path, path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// Whether process `pid` is alive and is the worker of `run` (its command line names the run;
/// a zombie's is empty).
fn is_worker_of(pid: u32, run: RunId) -> bool {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => {
            let needle = run.to_string();
            cmdline
                .split(|b| *b == 0)
                .any(|arg| arg == needle.as_bytes())
        }
        Err(_) => false,
    }
}

fn signal(pid: u32, signal: Signal) {
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return;
    };
    // ESRCH: it ended meanwhile, which is what we want.
    let _ = rustix::process::kill_process(pid, signal);
}

/// "exited with code 1", "killed by signal 9 (SIGKILL)".
pub fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exited with code {code}");
    }
    match status.signal() {
        Some(n) => format!("killed by signal {n}{}", signal_name(n)),
        None => format!("ended ({status})"),
    }
}

fn signal_name(n: i32) -> &'static str {
    match n {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_described() {
        assert_eq!(
            describe_exit(ExitStatus::from_raw(1 << 8)),
            "exited with code 1"
        );
        assert_eq!(
            describe_exit(ExitStatus::from_raw(9)),
            "killed by signal 9 (SIGKILL)"
        );
    }

    #[test]
    fn a_reused_pid_is_not_the_worker() {
        // This test process is alive, but its command line does not name a fresh run id.
        assert!(!is_worker_of(std::process::id(), RunId::new()));
        assert!(!is_worker_of(u32::MAX, RunId::new()));
    }
}
