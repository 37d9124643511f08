//! Waiting for runs: the one implementation every suite uses. It wakes on the store's change
//! notifications (PostgreSQL LISTEN/NOTIFY across processes; in-process on SQLite) and re-reads
//! only then, or at the store's fallback poll (short on SQLite, where other processes' writes
//! are not announced), so a test neither sleeps a fixed time nor hammers the database.
//! A deadline that passes fails the test with what the runs were doing.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use orchestrator::domain::{Run, RunId, RunStatus};
use orchestrator::storage::{Change, RunStorage};
use tokio::time::Instant;

/// How often to re-read at most, whatever the store's fallback poll (a notification may be
/// lost; SQLite announces only its own process's writes).
const POLL: Duration = Duration::from_millis(100);

/// Waits until run `id` has a status `wanted` accepts; panics after `within`.
pub async fn run_status(
    store: &dyn RunStorage,
    id: RunId,
    within: Duration,
    wanted: impl Fn(RunStatus) -> bool,
) -> Run {
    let mut runs = runs_where(store, &[id], within, |run| wanted(run.status)).await;
    runs.remove(0)
}

/// Waits until `check` holds for run `id` (its status, its worker, …); panics after `within`.
pub async fn run_where(
    store: &dyn RunStorage,
    id: RunId,
    within: Duration,
    check: impl Fn(&Run) -> bool,
) -> Run {
    runs_where(store, &[id], within, check).await.remove(0)
}

/// Waits until run `id` has ended (SUCCESS, FAILURE or CANCELED); panics after `within`.
pub async fn run_ended(store: &dyn RunStorage, id: RunId, within: Duration) -> Run {
    run_status(store, id, within, RunStatus::is_terminal).await
}

/// Waits until every run of `ids` has ended; returns them in the order of `ids`.
pub async fn runs_ended(store: &dyn RunStorage, ids: &[RunId], within: Duration) -> Vec<Run> {
    runs_where(store, ids, within, |run| run.status.is_terminal()).await
}

/// Waits until every run of `ids` satisfies `done`; returns them in the order of `ids`. A run is
/// read again when a notification names it, and all open runs at each poll.
pub async fn runs_where(
    store: &dyn RunStorage,
    ids: &[RunId],
    within: Duration,
    done: impl Fn(&Run) -> bool,
) -> Vec<Run> {
    let deadline = Instant::now() + within;
    let mut changes = store.subscribe().await;
    let mut finished: BTreeMap<RunId, Run> = BTreeMap::new();
    let mut open: BTreeMap<RunId, Option<Run>> = ids.iter().map(|id| (*id, None)).collect();
    let mut to_read: BTreeSet<RunId> = ids.iter().copied().collect();
    loop {
        for id in std::mem::take(&mut to_read) {
            match store.get_run(id).await {
                Ok(run) if done(&run) => {
                    open.remove(&id);
                    finished.insert(id, run);
                }
                Ok(run) => {
                    open.insert(id, Some(run));
                }
                // A database restarting under the test: read again at the next poll.
                Err(e) if e.is_unavailable() => {}
                Err(e) => panic!("cannot read run {id}: {e}"),
            }
        }
        if open.is_empty() {
            return ids.iter().map(|id| finished[id].clone()).collect();
        }
        let now = Instant::now();
        if now >= deadline {
            let waiting: Vec<String> = open
                .iter()
                .map(|(id, run)| match run {
                    Some(run) => format!("{id} {}", run.status),
                    None => format!("{id} (unread)"),
                })
                .collect();
            panic!(
                "{} of {} runs not done within {within:?}: {}",
                waiting.len(),
                ids.len(),
                waiting.join(", ")
            );
        }
        let wake_by = deadline.min(now + POLL);
        loop {
            match tokio::time::timeout_at(wake_by, changes.recv()).await {
                Ok(Some(Change::Run(id, _))) => {
                    if open.contains_key(&id) {
                        to_read.insert(id);
                        break;
                    }
                }
                Ok(Some(Change::Schedules)) => {}
                // A poll, a possibly missed notification, or the store gone: read them all.
                Ok(Some(Change::Resync)) | Ok(None) | Err(_) => {
                    to_read.extend(open.keys().copied());
                    break;
                }
            }
        }
    }
}

/// How often [`until`] and [`until_some`] look again.
const PROBE_EVERY: Duration = Duration::from_millis(20);

/// Waits until `check` holds, looking every 20 ms, for what the store cannot announce (a
/// process's answer, a file, a stand-in's requests); panics naming `what` after `within`. Run
/// statuses have [`run_where`], which wakes on the store's notifications instead.
pub async fn until(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) {
    until_some(what, within, async || check().await.then_some(())).await
}

/// Waits until `probe` gives a value and returns it, looking every 20 ms; panics naming `what`
/// after `within`.
pub async fn until_some<T>(
    what: &str,
    within: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(PROBE_EVERY).await;
    }
}
