//! The run queue's storage: claims honour the global and per-tag limits, oldest first, and two
//! processes claiming at once never claim the same run nor overrun a limit; heartbeats, worker
//! handles, runs in progress and change notifications.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use orchestrator::domain::{DaemonId, EventKind, QueueLimits, RunId, RunStatus, TagLimit};
use orchestrator::storage::{Change, RunStorage, StorageError};
use serde_json::json;

use crate::support::{self, kinds_of, queued, run_in, tag};

support::storage_tests!(
    claims_take_the_oldest_runs_up_to_the_global_limit,
    a_tag_limit_holds_back_only_the_runs_it_names,
    a_claimed_run_is_starting_with_its_event,
    heartbeats_record_the_time_and_report_the_status,
    worker_handles_are_kept_on_the_run,
    active_runs_and_unfinished_counts,
    created_and_changed_runs_are_announced,
);

support::two_store_tests!(two_processes_claiming_at_once_never_share_a_run_nor_overrun_the_limit);

fn limit(max: u32) -> QueueLimits {
    QueueLimits {
        max_concurrent_runs: Some(max),
        tag_limits: Vec::new(),
    }
}

async fn queue(store: &dyn RunStorage, n: usize) -> Vec<RunId> {
    let mut ids = Vec::new();
    for _ in 0..n {
        ids.push(store.create_run(&queued("q")).await.unwrap().id);
    }
    ids
}

async fn claims_take_the_oldest_runs_up_to_the_global_limit(store: Arc<dyn RunStorage>) {
    let ids = queue(store.as_ref(), 5).await;
    // One run already in progress takes one of the three slots.
    run_in(store.as_ref(), RunStatus::Started).await;
    let claimed: Vec<RunId> = store
        .claim_queued_runs(&limit(3), DaemonId::new())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(claimed, ids[..2]);
    assert!(
        store
            .claim_queued_runs(&limit(3), DaemonId::new())
            .await
            .unwrap()
            .is_empty()
    );
    // A finished run frees its slot.
    store
        .transition_run(claimed[0], RunStatus::Failure, Some("x"))
        .await
        .unwrap();
    let next = store
        .claim_queued_runs(&limit(3), DaemonId::new())
        .await
        .unwrap();
    assert_eq!(next.iter().map(|r| r.id).collect::<Vec<_>>(), ids[2..3]);
    // Unlimited takes the rest.
    let rest = store
        .claim_queued_runs(&QueueLimits::default(), DaemonId::new())
        .await
        .unwrap();
    assert_eq!(rest.iter().map(|r| r.id).collect::<Vec<_>>(), ids[3..]);
}

async fn a_tag_limit_holds_back_only_the_runs_it_names(store: Arc<dyn RunStorage>) {
    let weather = |n: usize| {
        let mut run = queued(&format!("w{n}"));
        run.tags.insert(tag("pipeline"), "weather".into());
        run
    };
    let w1 = store.create_run(&weather(1)).await.unwrap().id;
    let w2 = store.create_run(&weather(2)).await.unwrap().id;
    let other = store.create_run(&queued("other")).await.unwrap().id;
    let limits = QueueLimits {
        max_concurrent_runs: Some(10),
        tag_limits: vec![TagLimit {
            key: tag("pipeline"),
            value: Some("weather".into()),
            limit: 1,
        }],
    };
    let claimed: Vec<RunId> = store
        .claim_queued_runs(&limits, DaemonId::new())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(claimed, vec![w1, other]);
    // w1 in progress still blocks w2, across claims.
    store
        .transition_run(w1, RunStatus::Started, None)
        .await
        .unwrap();
    assert!(
        store
            .claim_queued_runs(&limits, DaemonId::new())
            .await
            .unwrap()
            .is_empty()
    );
    store
        .transition_run(w1, RunStatus::Success, None)
        .await
        .unwrap();
    let claimed = store
        .claim_queued_runs(&limits, DaemonId::new())
        .await
        .unwrap();
    assert_eq!(claimed.iter().map(|r| r.id).collect::<Vec<_>>(), vec![w2]);
}

async fn a_claimed_run_is_starting_with_its_event(store: Arc<dyn RunStorage>) {
    let id = queue(store.as_ref(), 1).await[0];
    let claimed = store
        .claim_queued_runs(&limit(1), DaemonId::new())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].status, RunStatus::Starting);
    assert_eq!(store.get_run(id).await.unwrap().status, RunStatus::Starting);
    assert_eq!(
        kinds_of(store.as_ref(), id).await,
        vec![EventKind::RunEnqueued, EventKind::RunStarting]
    );
    // A canceled queued run is never claimed.
    let canceled = queue(store.as_ref(), 1).await[0];
    store
        .transition_run(canceled, RunStatus::Canceled, None)
        .await
        .unwrap();
    assert!(
        store
            .claim_queued_runs(&QueueLimits::default(), DaemonId::new())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn heartbeats_record_the_time_and_report_the_status(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Started).await;
    assert_eq!(run.heartbeat_at, None);
    assert_eq!(store.heartbeat(run.id).await.unwrap(), RunStatus::Started);
    let first = store.get_run(run.id).await.unwrap().heartbeat_at.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    store
        .transition_run(run.id, RunStatus::Canceling, None)
        .await
        .unwrap();
    assert_eq!(store.heartbeat(run.id).await.unwrap(), RunStatus::Canceling);
    let second = store.get_run(run.id).await.unwrap().heartbeat_at.unwrap();
    assert!(second > first, "{second} must be after {first}");
    let unknown = RunId::new();
    assert!(matches!(
        store.heartbeat(unknown).await,
        Err(StorageError::RunNotFound(id)) if id == unknown
    ));
}

async fn worker_handles_are_kept_on_the_run(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Starting).await;
    let handle = json!({"kind": "local", "host": "h", "pid": 42, "log": "/tmp/x.log"});
    store.set_worker(run.id, &handle).await.unwrap();
    assert_eq!(
        store.get_run(run.id).await.unwrap().worker,
        Some(handle.clone())
    );
    assert!(matches!(
        store.set_worker(RunId::new(), &handle).await,
        Err(StorageError::RunNotFound(_))
    ));
}

async fn active_runs_and_unfinished_counts(store: Arc<dyn RunStorage>) {
    let mut expected = Vec::new();
    for status in RunStatus::ALL {
        let run = run_in(store.as_ref(), status).await;
        if matches!(
            status,
            RunStatus::Starting | RunStatus::Started | RunStatus::Canceling
        ) {
            expected.push(run.id);
        }
    }
    let active: Vec<RunId> = store
        .list_active_runs()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(active, expected);
    let counts = store.count_unfinished().await.unwrap();
    let mut statuses: Vec<RunStatus> = counts.iter().map(|(s, _)| *s).collect();
    statuses.sort();
    assert_eq!(
        statuses,
        vec![
            RunStatus::Queued,
            RunStatus::Starting,
            RunStatus::Started,
            RunStatus::Canceling
        ]
    );
    assert!(counts.iter().all(|(_, n)| *n == 1));
}

async fn created_and_changed_runs_are_announced(store: Arc<dyn RunStorage>) {
    let mut changes = store.subscribe().await;
    let run = store.create_run(&queued("n")).await.unwrap();
    store
        .transition_run(run.id, RunStatus::Canceled, None)
        .await
        .unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match tokio::time::timeout(Duration::from_secs(5), changes.recv()).await {
            Ok(Some(Change::Run(id, status))) if id == run.id => seen.push(status),
            Ok(Some(Change::Resync)) => {}
            other => panic!("expected the run's changes, got {other:?} after {seen:?}"),
        }
    }
    assert_eq!(seen, vec![RunStatus::Queued, RunStatus::Canceled]);
}

async fn two_processes_claiming_at_once_never_share_a_run_nor_overrun_the_limit(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    const RUNS: usize = 60;
    const MAX: u32 = 4;
    let ids = queue(first.as_ref(), RUNS).await;
    let limits = limit(MAX);
    let mut claimed_by_all = HashSet::new();
    while claimed_by_all.len() < RUNS {
        let (a, b) = tokio::join!(
            first.claim_queued_runs(&limits, DaemonId::new()),
            second.claim_queued_runs(&limits, DaemonId::new())
        );
        let batch: Vec<RunId> = a
            .unwrap()
            .into_iter()
            .chain(b.unwrap())
            .map(|r| r.id)
            .collect();
        assert!(
            batch.len() <= MAX as usize,
            "{} runs claimed with {MAX} slots",
            batch.len()
        );
        assert!(!batch.is_empty(), "free slots but nothing claimed");
        for id in batch {
            assert!(claimed_by_all.insert(id), "run {id} claimed twice");
            first
                .transition_run(id, RunStatus::Failure, Some("done"))
                .await
                .unwrap();
        }
    }
    assert_eq!(claimed_by_all, ids.into_iter().collect());
}
