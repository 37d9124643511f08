//! Hand-over between daemon replicas: a daemon that dies after claiming a run and before its
//! worker is recorded leaves a claim whose lease runs out; a live replica takes it over within
//! seconds and launches it exactly once, adopting the worker if the dead one had started it.
//! Both replicas share one SQLite file, as two processes would; "dying" is aborting the
//! daemon's task, which, like kill -9, runs no shutdown code (no deregistration).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use orch_test_support::stores::{open_sqlite, queue};
use orch_test_support::wait::run_where;
use orchestrator::daemon::{Daemon, DaemonOptions};
use orchestrator::domain::{DaemonId, EventKind, QueueLimits, Run, RunId, RunStatus};
use orchestrator::launcher::{
    LaunchError, Launcher, LocalLauncher, LocalLauncherOptions, WorkerExit, WorkerHandle,
    WorkerState,
};
use orchestrator::storage::RunStorage;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::loops::definitions;

/// A launcher that never returns from `launch`: its daemon is stuck between claim and launch,
/// where the test kills it. It says when a launch began.
#[derive(Debug)]
struct Stuck(Arc<Notify>);

#[async_trait]
impl Launcher for Stuck {
    fn kind(&self) -> &'static str {
        "stuck"
    }
    async fn launch(&self, _run: &Run) -> Result<WorkerHandle, LaunchError> {
        self.0.notify_one();
        std::future::pending().await
    }
    async fn terminate(&self, _: RunId, _: &WorkerHandle, _: Duration) -> Result<(), LaunchError> {
        Ok(())
    }
    async fn inspect(&self, _: RunId, _: &WorkerHandle) -> WorkerState {
        WorkerState::Unknown
    }
    fn exits(&self) -> Option<mpsc::UnboundedReceiver<WorkerExit>> {
        None
    }
}

const SCRIPT: &str = "sleep 30";

fn local(dir: &std::path::Path) -> LocalLauncher {
    LocalLauncher::new(LocalLauncherOptions {
        program: "sh".into(),
        args: vec!["-c".into(), SCRIPT.into(), "worker".into()],
        env: Vec::new(),
        log_dir: dir.join("logs"),
    })
}

async fn takeover_messages(store: &dyn RunStorage, run: RunId) -> Vec<String> {
    store
        .list_events(run, None, 0)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Log { message, .. } if message.contains("took over the claim") => {
                Some(message)
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_claimed_by_a_daemon_killed_before_launch_is_launched_by_another_within_5s() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(dir.path()).await;
    let began = Arc::new(Notify::new());
    let doomed = Daemon::new(
        store.clone(),
        definitions(),
        Arc::new(Stuck(began.clone())),
        DaemonOptions::default(),
    );
    let doomed_id = doomed.id();
    let doomed_task = tokio::spawn(doomed.run(CancellationToken::new()));
    let run = queue(store.as_ref(), "job", &[]).await;
    began.notified().await;
    let claimed = store.get_run(run.id).await.unwrap();
    assert_eq!(claimed.status, RunStatus::Starting);
    assert_eq!(claimed.worker, None);
    doomed_task.abort();
    let killed_at = Instant::now();

    let shutdown = CancellationToken::new();
    let survivor = Daemon::new(
        store.clone(),
        definitions(),
        Arc::new(local(dir.path())),
        DaemonOptions::default(),
    );
    let survivor_id = survivor.id();
    tokio::spawn(survivor.run(shutdown.clone()));
    let launched = run_where(store.as_ref(), run.id, Duration::from_secs(10), |r| {
        r.worker.is_some()
    })
    .await;
    let took = killed_at.elapsed();
    assert!(took <= Duration::from_secs(5), "taken over after {took:?}");
    assert_eq!(launched.worker.as_ref().unwrap()["kind"], "local");
    let messages = takeover_messages(store.as_ref(), run.id).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].contains(&doomed_id.to_string()), "{messages:?}");
    let daemons = store.list_daemons().await.unwrap();
    let survivor_row = daemons.iter().find(|d| d.id == survivor_id).unwrap();
    assert_eq!(
        survivor_row.last_action.as_deref(),
        Some(format!("launched run {}", run.id).as_str())
    );
    assert!(
        daemons.iter().any(|d| d.id == doomed_id),
        "the dead replica stays visible"
    );
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_the_dead_daemon_started_is_adopted_not_started_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(dir.path()).await;
    // A claim under a daemon that is not registered (died, forgotten), whose worker runs.
    let run = queue(store.as_ref(), "job", &[]).await;
    let claimed = store
        .claim_queued_runs(&QueueLimits::default(), DaemonId::new())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let mut worker = tokio::process::Command::new("sh")
        .args(["-c", SCRIPT, "worker", &run.id.to_string()])
        .spawn()
        .unwrap();
    let pid = worker.id().unwrap();

    let shutdown = CancellationToken::new();
    let survivor = Daemon::new(
        store.clone(),
        definitions(),
        Arc::new(local(dir.path())),
        DaemonOptions::default(),
    );
    tokio::spawn(survivor.run(shutdown.clone()));
    let launched = run_where(store.as_ref(), run.id, Duration::from_secs(10), |r| {
        r.worker.is_some()
    })
    .await;
    assert_eq!(
        launched.worker.as_ref().unwrap()["pid"].as_u64(),
        Some(u64::from(pid)),
        "the running worker was adopted"
    );
    shutdown.cancel();
    worker.kill().await.unwrap();
}
