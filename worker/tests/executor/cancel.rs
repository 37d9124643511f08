//! Cancellation: a canceled run stops its steps in flight (each records STEP_CANCELED), starts
//! no other, and ends CANCELED — whether the cancel comes from the process (SIGTERM, through a
//! `Cancellation`) or from the store (CANCELING, seen by the heartbeat).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use orchestrator::definitions::{AssetDef, AssetOutput};
use orchestrator::domain::{EventKind, EventRecord, JobName, NewRun, Run, RunStatus, Tags};
use serde_json::json;
use tokio::sync::Notify;
use worker::{Cancellation, ExecuteOptions, Heartbeat, WorkerError};

use crate::{Harness, constant, harness, job, types_of};

/// Sets its flag when dropped: proves an asset's future was dropped, i.e. the step stopped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// An asset that announces its start, then waits `duration` (unless it is stopped first).
struct Slow {
    started: Arc<Notify>,
    dropped: Arc<AtomicBool>,
}

fn slow(key: &str, duration: Duration) -> (AssetDef, Slow) {
    let started = Arc::new(Notify::new());
    let dropped = Arc::new(AtomicBool::new(false));
    let (s, d) = (started.clone(), dropped.clone());
    let def = AssetDef::builder(key)
        .compute(move |_| {
            let (started, guard) = (s.clone(), DropFlag(d.clone()));
            async move {
                let _guard = guard;
                started.notify_one();
                tokio::time::sleep(duration).await;
                Ok(AssetOutput::new(json!("slow")))
            }
        })
        .unwrap();
    (def, Slow { started, dropped })
}

/// Counts its calls.
fn counted(key: &str, upstream: &[&str]) -> (AssetDef, Arc<AtomicU32>) {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let def = AssetDef::builder(key)
        .upstream(upstream)
        .compute(move |_| {
            c.fetch_add(1, Ordering::SeqCst);
            async { Ok(AssetOutput::new(json!(1))) }
        })
        .unwrap();
    (def, calls)
}

async fn starting_run(h: &Harness, job_name: &str) -> Run {
    let new = NewRun::in_process(JobName::parse(job_name).unwrap(), json!({}), Tags::new());
    h.store.create_run(&new).await.unwrap()
}

/// Run-level events as `TYPE` or `TYPE: message`.
fn run_events(events: &[EventRecord]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.step.is_none())
        .map(|e| match &e.kind {
            EventKind::RunCanceling { message: Some(m) }
            | EventKind::RunCanceled { message: Some(m) }
            | EventKind::RunFailure { message: Some(m) } => format!("{}: {m}", e.kind.type_name()),
            kind => kind.type_name().to_owned(),
        })
        .collect()
}

/// Executes `run` in a task with `cancellation`; the handle yields the stored run.
fn spawn_execute(
    h: &Harness,
    run: &Run,
    cancellation: &Cancellation,
) -> tokio::task::JoinHandle<Result<Run, WorkerError>> {
    let worker = h.worker.clone();
    let options = ExecuteOptions {
        observer: None,
        cancellation: cancellation.clone(),
    };
    let id = run.id;
    tokio::spawn(async move { worker.execute_with(id, options).await })
}

async fn within_5s<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not happen within 5 s"))
}

#[tokio::test]
async fn cancel_stops_the_step_in_flight_and_ends_the_run_canceled() {
    let (slow_def, slow) = slow("slow", Duration::from_secs(60));
    let (after_def, after_calls) = counted("after", &["slow"]);
    let h = harness(vec![job("j", vec![slow_def, after_def])]).await;
    let run = starting_run(&h, "j").await;
    let cancellation = Cancellation::new();
    let execution = spawn_execute(&h, &run, &cancellation);

    within_5s("the slow step's start", slow.started.notified()).await;
    cancellation.cancel("worker received SIGTERM");
    let ended = within_5s("the end of the run", execution)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(ended.status, RunStatus::Canceled);
    assert!(ended.ended_at.is_some());
    assert!(slow.dropped.load(Ordering::SeqCst), "the step was stopped");
    assert_eq!(
        after_calls.load(Ordering::SeqCst),
        0,
        "no step started after"
    );
    let events = h.events(run.id).await;
    assert_eq!(types_of(&events, "slow"), ["STEP_START", "STEP_CANCELED"]);
    assert!(types_of(&events, "after").is_empty());
    assert_eq!(
        run_events(&events),
        [
            "RUN_STARTING",
            "RUN_START",
            "RUN_CANCELING: worker received SIGTERM",
            "RUN_CANCELED: worker received SIGTERM",
        ]
    );
    assert_eq!(
        h.store.get_run(run.id).await.unwrap().status,
        RunStatus::Canceled
    );
}

#[tokio::test]
async fn a_run_canceling_in_the_store_is_stopped_through_the_heartbeat() {
    let (slow_def, slow) = slow("slow", Duration::from_secs(60));
    let h = harness(vec![job(
        "j",
        vec![slow_def, constant("quick", &[], json!(1))],
    )])
    .await;
    let run = starting_run(&h, "j").await;
    let cancellation = Cancellation::new();
    let heartbeat = Heartbeat::spawn(
        h.store.clone(),
        run.id,
        Duration::from_millis(20),
        cancellation.clone(),
    );
    let execution = spawn_execute(&h, &run, &cancellation);
    within_5s("the slow step's start", slow.started.notified()).await;
    // What `orch runs cancel` does.
    h.store
        .transition_run(run.id, RunStatus::Canceling, Some("canceled by a test"))
        .await
        .unwrap();
    let ended = within_5s("the end of the run", execution)
        .await
        .unwrap()
        .unwrap();
    heartbeat.stop().await;

    assert_eq!(ended.status, RunStatus::Canceled);
    assert!(ended.heartbeat_at.is_some(), "the heartbeat was recorded");
    assert_eq!(cancellation.reason(), Some("the run was canceled"));
    let events = h.events(run.id).await;
    assert_eq!(types_of(&events, "slow"), ["STEP_START", "STEP_CANCELED"]);
    assert_eq!(
        run_events(&events),
        [
            "RUN_STARTING",
            "RUN_START",
            "RUN_CANCELING: canceled by a test",
            "RUN_CANCELED: the run was canceled",
        ]
    );
}

#[tokio::test]
async fn a_run_canceled_before_its_steps_start_runs_none() {
    let (a, a_calls) = counted("a", &[]);
    let h = harness(vec![job("j", vec![a])]).await;
    let run = starting_run(&h, "j").await;
    let cancellation = Cancellation::new();
    cancellation.cancel("worker received SIGTERM");
    let ended = spawn_execute(&h, &run, &cancellation)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.status, RunStatus::Canceled);
    assert_eq!(a_calls.load(Ordering::SeqCst), 0);
    let events = h.events(run.id).await;
    assert!(types_of(&events, "a").is_empty(), "{events:?}");
}

#[tokio::test]
async fn a_run_found_canceling_at_start_ends_canceled_without_starting() {
    let (a, a_calls) = counted("a", &[]);
    let h = harness(vec![job("j", vec![a])]).await;
    let run = starting_run(&h, "j").await;
    h.store
        .transition_run(run.id, RunStatus::Canceling, Some("canceled before launch"))
        .await
        .unwrap();
    let ended = h.worker.execute(run.id, None).await.unwrap();
    assert_eq!(ended.status, RunStatus::Canceled);
    assert_eq!(ended.started_at, None);
    assert_eq!(a_calls.load(Ordering::SeqCst), 0);
    assert_eq!(
        run_events(&h.events(run.id).await),
        [
            "RUN_STARTING",
            "RUN_CANCELING: canceled before launch",
            "RUN_CANCELED: canceled before its worker started it",
        ]
    );
}

#[tokio::test]
async fn only_a_starting_run_is_executed() {
    let h = harness(vec![job("j", vec![constant("a", &[], json!(1))])]).await;
    let queued = NewRun::queued(JobName::parse("j").unwrap(), json!({}), Tags::new());
    let queued = h.store.create_run(&queued).await.unwrap();
    let err = h.worker.execute(queued.id, None).await.unwrap_err();
    assert!(
        matches!(
            err,
            WorkerError::NotStarting {
                status: RunStatus::Queued,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("is QUEUED"), "{err}");
    assert_eq!(
        h.store.get_run(queued.id).await.unwrap().status,
        RunStatus::Queued,
        "nothing changed"
    );
}

#[tokio::test]
async fn steps_that_end_while_the_run_is_canceling_end_it_canceled() {
    // The step finishes after the run became CANCELING but before any heartbeat told the
    // worker (there is none here): the cancellation still wins.
    let go = Arc::new(Notify::new());
    let started = Arc::new(Notify::new());
    let (g, s) = (go.clone(), started.clone());
    let gated = AssetDef::builder("gated")
        .compute(move |_| {
            let (go, started) = (g.clone(), s.clone());
            async move {
                started.notify_one();
                go.notified().await;
                Ok(AssetOutput::new(json!(1)))
            }
        })
        .unwrap();
    let h = harness(vec![job("j", vec![gated])]).await;
    let run = starting_run(&h, "j").await;
    let execution = spawn_execute(&h, &run, &Cancellation::new());
    within_5s("the step's start", started.notified()).await;
    h.store
        .transition_run(run.id, RunStatus::Canceling, Some("canceled by a test"))
        .await
        .unwrap();
    go.notify_one();
    let ended = within_5s("the end of the run", execution)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.status, RunStatus::Canceled);
    let events = h.events(run.id).await;
    assert_eq!(types_of(&events, "gated").last(), Some(&"STEP_SUCCESS"));
    assert_eq!(
        run_events(&events).last().map(String::as_str),
        Some("RUN_CANCELED: canceled while its steps were ending (they ended SUCCESS)")
    );
}
