//! The worker against a real SQLite store and a local IO manager: ordering, concurrency,
//! retries, panics, skips, re-execution from failure and cancellation (`cancel.rs`), checked
//! through the recorded events.

// A failing unwrap is how a test reports a broken precondition.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use orchestrator::definitions::{
    AssetDef, AssetError, AssetOutput, Definitions, JobDef, RetryPolicy,
};
use orchestrator::domain::{AssetKey, EventKind, EventRecord, NewRun, RunId, RunStatus, Tags};
use orchestrator::storage::{RunStorage, SqliteStore, StoreOptions};
use serde_json::{Map, Value, json};
use worker::object_store::LocalStore;
use worker::{IoManager, Worker};

mod cancel;
mod checks;
mod command_checks;
mod commands;
mod outage;
mod partitions;
mod pipes;
mod selection;

struct Harness {
    _dir: tempfile::TempDir,
    store: Arc<dyn RunStorage>,
    worker: Worker,
}

async fn harness(jobs: Vec<JobDef>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("orch.db").display());
    let store: Arc<dyn RunStorage> = Arc::new(
        SqliteStore::connect(&url, &StoreOptions::default())
            .await
            .unwrap(),
    );
    store.migrate().await.unwrap();
    let io = IoManager::new(Arc::new(LocalStore::new(dir.path().join("storage"))));
    let defs = Arc::new(Definitions::new(jobs).unwrap());
    let worker = Worker::new(store.clone(), defs, io);
    Harness {
        _dir: dir,
        store,
        worker,
    }
}

impl Harness {
    async fn run(&self, job: &str) -> (RunStatus, Vec<EventRecord>) {
        let new = NewRun::in_process(
            orchestrator::domain::JobName::parse(job).unwrap(),
            json!({}),
            Tags::new(),
        );
        self.run_new(new).await
    }

    async fn run_new(&self, new: NewRun) -> (RunStatus, Vec<EventRecord>) {
        let run = self.store.create_run(&new).await.unwrap();
        let run = self.worker.execute(run.id, None).await.unwrap();
        (run.status, self.events(run.id).await)
    }

    /// Every event of the run, page by page.
    async fn events(&self, id: RunId) -> Vec<EventRecord> {
        let mut all: Vec<EventRecord> = Vec::new();
        loop {
            let after = all.last().map(|e| e.id);
            let page = self.store.list_events(id, after, 10_000).await.unwrap();
            if page.is_empty() {
                return all;
            }
            all.extend(page);
        }
    }
}

fn job(name: &str, assets: Vec<AssetDef>) -> JobDef {
    JobDef::new(name, "", assets, Map::new()).unwrap()
}

fn constant(key: &str, upstream: &[&str], value: Value) -> AssetDef {
    AssetDef::builder(key)
        .upstream(upstream)
        .compute(move |_| {
            let value = value.clone();
            async move { Ok(AssetOutput::new(value)) }
        })
        .unwrap()
}

fn types_of(events: &[EventRecord], step: &str) -> Vec<&'static str> {
    events
        .iter()
        .filter(|e| e.step.as_ref().map(AssetKey::as_str) == Some(step))
        .filter(|e| !matches!(e.kind, EventKind::Log { .. }))
        .map(|e| e.kind.type_name())
        .collect()
}

fn run_failure_message(events: &[EventRecord]) -> String {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::RunFailure { message } => message.clone(),
            _ => None,
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn values_flow_downstream_in_dependency_order() {
    let sum = AssetDef::builder("sum")
        .upstream(&["a", "b"])
        .compute(|ctx| async move {
            let a: i64 = ctx.input("a")?;
            let b: i64 = ctx.input("b")?;
            Ok(AssetOutput::new(json!(a + b)).with_metadata("sum", a + b))
        })
        .unwrap();
    let h = harness(vec![job(
        "j",
        vec![
            sum,
            constant("a", &[], json!(2)),
            constant("b", &[], json!(40)),
        ],
    )])
    .await;
    let (status, events) = h.run("j").await;
    assert_eq!(status, RunStatus::Success);
    let materialized = events.iter().find_map(|e| match &e.kind {
        EventKind::AssetMaterialization {
            asset_key,
            metadata,
        } if asset_key.as_str() == "sum" => Some(metadata["sum"].clone()),
        _ => None,
    });
    assert_eq!(materialized, Some(json!(42)));
    let pos = |step: &str, t: &str| {
        events
            .iter()
            .position(|e| {
                e.step.as_ref().map(AssetKey::as_str) == Some(step) && e.kind.type_name() == t
            })
            .unwrap()
    };
    assert!(pos("a", "STEP_SUCCESS") < pos("sum", "STEP_START"));
    assert!(pos("b", "STEP_SUCCESS") < pos("sum", "STEP_START"));
    assert_eq!(h.store.list_assets().await.unwrap().len(), 3);
}

#[tokio::test]
async fn independent_assets_run_concurrently() {
    // Each of four roots waits until all four have started: serial execution would deadlock,
    // which the timeout turns into a failure.
    let started = Arc::new(AtomicU32::new(0));
    let roots: Vec<AssetDef> = (0..4)
        .map(|i| {
            let started = started.clone();
            AssetDef::builder(&format!("root{i}"))
                .compute(move |_| {
                    let started = started.clone();
                    async move {
                        started.fetch_add(1, Ordering::SeqCst);
                        let all = tokio::time::timeout(Duration::from_secs(5), async {
                            while started.load(Ordering::SeqCst) < 4 {
                                tokio::time::sleep(Duration::from_millis(5)).await;
                            }
                        })
                        .await;
                        all.map(|()| AssetOutput::new(json!(i)))
                            .map_err(|_| AssetError::fatal("siblings never started"))
                    }
                })
                .unwrap()
        })
        .collect();
    let h = harness(vec![job("fan", roots)]).await;
    let (status, events) = h.run("fan").await;
    assert_eq!(
        status,
        RunStatus::Success,
        "{}",
        run_failure_message(&events)
    );
}

#[tokio::test]
async fn retries_with_backoff_then_succeeds() {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let flaky = AssetDef::builder("flaky")
        .retry(RetryPolicy::exponential(3, Duration::from_millis(20)))
        .compute(move |ctx| {
            let counter = counter.clone();
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(AssetError::retryable(format!(
                        "boom on attempt {}",
                        ctx.attempt
                    )))
                } else {
                    Ok(AssetOutput::new(json!("ok")))
                }
            }
        })
        .unwrap();
    let h = harness(vec![job("j", vec![flaky])]).await;
    let (status, events) = h.run("j").await;
    assert_eq!(status, RunStatus::Success);
    assert_eq!(
        types_of(&events, "flaky"),
        [
            "STEP_START",
            "STEP_UP_RETRY",
            "STEP_START",
            "STEP_UP_RETRY",
            "STEP_START",
            "STEP_OUTPUT",
            "ASSET_MATERIALIZATION",
            "STEP_SUCCESS"
        ]
    );
    let delays: Vec<u64> = events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::StepUpRetry { delay_ms, .. } => Some(delay_ms),
            _ => None,
        })
        .collect();
    assert_eq!(delays, [20, 40]);
}

#[tokio::test]
async fn a_fatal_error_is_not_retried_and_downstream_is_skipped() {
    let bad = AssetDef::builder("bad")
        .retry(RetryPolicy::exponential(5, Duration::from_millis(1)))
        .compute(|_| async { Err(AssetError::fatal("the data is wrong")) })
        .unwrap();
    let h = harness(vec![job(
        "j",
        vec![
            bad,
            constant("mid", &["bad"], json!(1)),
            constant("leaf", &["mid"], json!(1)),
            constant("other", &[], json!(1)),
        ],
    )])
    .await;
    let (status, events) = h.run("j").await;
    assert_eq!(status, RunStatus::Failure);
    assert_eq!(types_of(&events, "bad"), ["STEP_START", "STEP_FAILURE"]);
    assert_eq!(types_of(&events, "mid"), ["STEP_SKIPPED"]);
    assert_eq!(types_of(&events, "leaf"), ["STEP_SKIPPED"]);
    assert_eq!(types_of(&events, "other").last(), Some(&"STEP_SUCCESS"));
    assert_eq!(
        run_failure_message(&events),
        "bad: the data is wrong (attempt 1 of 5)"
    );
}

#[tokio::test]
async fn a_panic_in_asset_code_is_a_step_failure_with_its_message() {
    let boom = AssetDef::builder("boom")
        .compute(|_| async {
            let items: Vec<u8> = Vec::new();
            if items.is_empty() {
                panic!("index out of range in boom");
            }
            Ok(AssetOutput::default())
        })
        .unwrap();
    let h = harness(vec![job("j", vec![boom])]).await;
    let (status, events) = h.run("j").await;
    assert_eq!(status, RunStatus::Failure);
    assert!(
        run_failure_message(&events).contains("panicked: index out of range in boom"),
        "{}",
        run_failure_message(&events)
    );
}

#[tokio::test]
async fn many_log_lines_are_all_recorded_in_order() {
    let chatty = AssetDef::builder("chatty")
        .compute(|ctx| async move {
            for i in 0..5_000 {
                ctx.info(format!("line {i}"));
            }
            Ok(AssetOutput::new(json!(null)))
        })
        .unwrap();
    let h = harness(vec![job("j", vec![chatty])]).await;
    let (status, events) = h.run("j").await;
    assert_eq!(status, RunStatus::Success);
    let lines: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Log { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(lines.len(), 5_000);
    assert!(
        lines
            .iter()
            .enumerate()
            .all(|(i, l)| *l == format!("line {i}"))
    );
}

#[tokio::test]
async fn re_execution_from_failure_reuses_the_parent_outputs() {
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let fail_once = AssetDef::builder("second")
        .upstream(&["first"])
        .compute(move |ctx| {
            let counter = counter.clone();
            async move {
                let first: i64 = ctx.input("first")?;
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Err(AssetError::fatal("first try fails"));
                }
                Ok(AssetOutput::new(json!(first * 10)))
            }
        })
        .unwrap();
    let first_calls = Arc::new(AtomicU32::new(0));
    let first_counter = first_calls.clone();
    let first = AssetDef::builder("first")
        .compute(move |_| {
            let c = first_counter.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                Ok(AssetOutput::new(json!(7)))
            }
        })
        .unwrap();
    let h = harness(vec![job("j", vec![first, fail_once])]).await;
    let (status, _) = h.run("j").await;
    assert_eq!(status, RunStatus::Failure);
    let parent = h.store.list_runs(&Default::default()).await.unwrap()[0].id;

    let mut child = NewRun::in_process(
        orchestrator::domain::JobName::parse("j").unwrap(),
        json!({}),
        Tags::new(),
    );
    child.parent_run_id = Some(parent);
    child.step_selection = Some(vec![AssetKey::parse("second").unwrap()]);
    let (status, events) = h.run_new(child).await;
    assert_eq!(
        status,
        RunStatus::Success,
        "{}",
        run_failure_message(&events)
    );
    assert_eq!(
        first_calls.load(Ordering::SeqCst),
        1,
        "first must not run again"
    );
    assert_eq!(types_of(&events, "first"), ["STEP_OUTPUT_REUSED"]);
    let value = events.iter().find_map(|e| match &e.kind {
        EventKind::StepOutput { location }
            if e.step.as_ref().map(AssetKey::as_str) == Some("second") =>
        {
            Some(std::fs::read_to_string(location).unwrap())
        }
        _ => None,
    });
    assert_eq!(value.as_deref(), Some("70"));
}

#[tokio::test]
async fn a_run_of_a_job_this_build_does_not_define_fails_with_a_clear_message() {
    let h = harness(vec![job("j", vec![constant("a", &[], json!(1))])]).await;
    let (status, events) = h.run("gone_job").await;
    assert_eq!(status, RunStatus::Failure);
    assert_eq!(
        run_failure_message(&events),
        "job 'gone_job' is not defined in this build of orch"
    );
}
