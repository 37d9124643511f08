//! The daemon's loops against a real store (SQLite) and real child processes. The workers here
//! are stand-ins on purpose: small `sh` scripts that never start, exit early, stay silent or
//! ignore SIGTERM, which a real worker does not do on demand. They are launched by the real
//! `LocalLauncher`, so the process handling (spawn, exit codes, signals, /proc checks) is the
//! one the daemon uses. The real `orch worker` is driven end to end in `cli/tests/e2e/daemon.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use orchestrator::daemon::{Daemon, DaemonOptions};
use orchestrator::definitions::{AssetDef, AssetOutput, Definitions, JobDef};
use orchestrator::domain::{EventKind, QueueLimits, Run, RunStatus};
use orchestrator::launcher::{LocalLauncher, LocalLauncherOptions};
use orchestrator::storage::RunStorage;
use serde_json::Value;
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

/// A daemon over a fresh SQLite store whose "workers" are `sh -c <script>`.
struct Harness {
    store: Arc<dyn RunStorage>,
    shutdown: CancellationToken,
    _dir: TempDir,
}

impl Harness {
    async fn start(script: &str, options: DaemonOptions) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = orch_test_support::stores::open_sqlite(dir.path()).await;
        let launcher = LocalLauncher::new(LocalLauncherOptions {
            program: "sh".into(),
            // The run id becomes $1, so it is on the process's command line as for `orch worker`.
            args: vec!["-c".into(), script.into(), "worker".into()],
            env: Vec::new(),
            log_dir: dir.path().join("logs"),
        });
        let shutdown = CancellationToken::new();
        let daemon = Daemon::new(store.clone(), definitions(), Arc::new(launcher), options);
        tokio::spawn(daemon.run(shutdown.clone()));
        Self {
            store,
            shutdown,
            _dir: dir,
        }
    }

    async fn queue(&self, tags: &[(&str, &str)]) -> Run {
        orch_test_support::stores::queue(self.store.as_ref(), "job", tags).await
    }

    /// Waits until `check` holds for the run, or fails after `within` (test-support's wait).
    async fn wait_for(&self, run: &Run, within: Duration, check: impl Fn(&Run) -> bool) -> Run {
        orch_test_support::wait::run_where(self.store.as_ref(), run.id, within, check).await
    }

    async fn launched(&self, run: &Run) -> Run {
        self.wait_for(run, Duration::from_secs(5), |r| r.worker.is_some())
            .await
    }

    /// Launched, then moved to STARTED as a worker would.
    async fn started(&self, run: &Run) -> Run {
        let launched = self.launched(run).await;
        self.store
            .transition_run(run.id, RunStatus::Started, None)
            .await
            .unwrap();
        launched
    }

    async fn ended(&self, run: &Run, within: Duration) -> Run {
        self.wait_for(run, within, |r| r.status.is_terminal()).await
    }

    async fn last_message(&self, run: &Run) -> String {
        let events = self.store.list_events(run.id, None, 0).await.unwrap();
        orch_test_support::runs::end_message(&events)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub(crate) fn definitions() -> Arc<Definitions> {
    let asset = AssetDef::builder("noop")
        .compute(|_ctx| async { Ok(AssetOutput::new(Value::Null)) })
        .unwrap();
    let job = JobDef::new("job", "a no-op job", vec![asset], Default::default()).unwrap();
    Arc::new(Definitions::new(vec![job]).unwrap())
}

fn fast(options: DaemonOptions) -> DaemonOptions {
    DaemonOptions {
        monitor_interval: Duration::from_millis(50),
        ..options
    }
}

fn pid_of(run: &Run) -> u32 {
    run.worker.as_ref().unwrap()["pid"].as_u64().unwrap() as u32
}

/// Whether the process is still the worker of this run.
fn alive(run: &Run) -> bool {
    std::fs::read(format!("/proc/{}/cmdline", pid_of(run)))
        .map(|c| String::from_utf8_lossy(&c).contains(&run.id.to_string()))
        .unwrap_or(false)
}

async fn wait_gone(run: &Run) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(run) {
        assert!(
            Instant::now() < deadline,
            "worker of {} still alive",
            run.id
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_never_starts_fails_the_run_after_the_start_timeout() {
    let h = Harness::start(
        "sleep 30",
        fast(DaemonOptions {
            start_timeout: Duration::from_millis(500),
            ..DaemonOptions::default()
        }),
    )
    .await;
    let run = h.queue(&[]).await;
    let launched = h.launched(&run).await;
    assert_eq!(launched.status, RunStatus::Starting);
    let ended = h.ended(&run, Duration::from_secs(5)).await;
    assert_eq!(ended.status, RunStatus::Failure);
    assert_eq!(
        h.last_message(&run).await,
        "worker did not start within 500ms"
    );
    wait_gone(&launched).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_exits_early_fails_the_run_with_its_exit_code_and_output() {
    let h = Harness::start(
        "echo boom on stderr >&2; exit 3",
        fast(DaemonOptions::default()),
    )
    .await;
    let run = h.queue(&[]).await;
    let ended = h.ended(&run, Duration::from_secs(5)).await;
    assert_eq!(ended.status, RunStatus::Failure);
    assert_eq!(
        h.last_message(&run).await,
        "worker exited with code 3 before the run ended"
    );
    let events = h.store.list_events(run.id, None, 0).await.unwrap();
    assert!(
        events.iter().any(|e| matches!(&e.kind,
            EventKind::Log { message, .. } if message.contains("boom on stderr"))),
        "the worker's output is in the run's events: {events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_fails_the_run_naming_the_signal() {
    let h = Harness::start("sleep 30", fast(DaemonOptions::default())).await;
    let run = h.queue(&[]).await;
    let launched = h.started(&run).await;
    let killed_at = Instant::now();
    std::process::Command::new("kill")
        .args(["-9", &pid_of(&launched).to_string()])
        .status()
        .unwrap();
    let ended = h.ended(&run, Duration::from_secs(10)).await;
    assert_eq!(ended.status, RunStatus::Failure);
    assert_eq!(
        h.last_message(&run).await,
        "worker killed by signal 9 (SIGKILL) before the run ended"
    );
    assert!(
        killed_at.elapsed() < Duration::from_secs(2),
        "{:?}",
        killed_at.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_worker_fails_after_the_heartbeat_timeout_and_is_stopped() {
    let h = Harness::start(
        "sleep 30",
        fast(DaemonOptions {
            heartbeat_timeout: Duration::from_millis(700),
            ..DaemonOptions::default()
        }),
    )
    .await;
    let run = h.queue(&[]).await;
    let launched = h.started(&run).await;
    // Heartbeats keep it alive for a while...
    for _ in 0..10 {
        h.store.heartbeat(run.id).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        h.store.get_run(run.id).await.unwrap().status,
        RunStatus::Started
    );
    // ...and their absence ends it.
    let ended = h.ended(&run, Duration::from_secs(5)).await;
    assert_eq!(ended.status, RunStatus::Failure);
    assert_eq!(
        h.last_message(&run).await,
        "no heartbeat from the worker for 700ms"
    );
    wait_gone(&launched).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_past_its_max_runtime_is_terminated_and_fails() {
    let h = Harness::start("sleep 30", fast(DaemonOptions::default())).await;
    let run = h.queue(&[("orch/max_runtime", "600ms")]).await;
    let launched = h.started(&run).await;
    let started = Instant::now();
    let ended = h.ended(&run, Duration::from_secs(5)).await;
    assert!(started.elapsed() >= Duration::from_millis(550));
    assert_eq!(ended.status, RunStatus::Failure);
    assert_eq!(h.last_message(&run).await, "exceeded max runtime of 600ms");
    wait_gone(&launched).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_sends_sigterm_and_ends_canceled() {
    let h = Harness::start(
        // Exits on SIGTERM; `wait` lets the trap run at once.
        "trap 'exit 0' TERM; sleep 30 & wait",
        fast(DaemonOptions::default()),
    )
    .await;
    let run = h.queue(&[]).await;
    let launched = h.started(&run).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    h.store
        .transition_run(run.id, RunStatus::Canceling, None)
        .await
        .unwrap();
    let ended = h.ended(&run, Duration::from_secs(5)).await;
    assert_eq!(ended.status, RunStatus::Canceled);
    wait_gone(&launched).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_ignoring_sigterm_is_killed_after_the_grace() {
    let h = Harness::start(
        "trap '' TERM; while true; do sleep 0.05; done",
        fast(DaemonOptions {
            termination_grace: Duration::from_millis(400),
            ..DaemonOptions::default()
        }),
    )
    .await;
    let run = h.queue(&[]).await;
    let launched = h.started(&run).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked = Instant::now();
    h.store
        .transition_run(run.id, RunStatus::Canceling, None)
        .await
        .unwrap();
    let ended = h.ended(&run, Duration::from_secs(5)).await;
    assert_eq!(ended.status, RunStatus::Canceled);
    assert!(
        asked.elapsed() >= Duration::from_millis(400),
        "{:?}",
        asked.elapsed()
    );
    wait_gone(&launched).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_limit_holds_back_launches() {
    let h = Harness::start(
        "sleep 30",
        fast(DaemonOptions {
            limits: QueueLimits {
                max_concurrent_runs: Some(2),
                tag_limits: Vec::new(),
            },
            ..DaemonOptions::default()
        }),
    )
    .await;
    let runs = [h.queue(&[]).await, h.queue(&[]).await, h.queue(&[]).await];
    let first = h.launched(&runs[0]).await;
    h.launched(&runs[1]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        h.store.get_run(runs[2].id).await.unwrap().status,
        RunStatus::Queued
    );
    // A slot frees up: the third is launched at once.
    h.store
        .transition_run(runs[0].id, RunStatus::Canceling, None)
        .await
        .unwrap();
    h.ended(&runs[0], Duration::from_secs(5)).await;
    wait_gone(&first).await;
    h.launched(&runs[2]).await;
}
