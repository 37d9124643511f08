//! Retention: `prune_runs` deletes finished runs of one status that ended before a cutoff, with
//! their events and tags, a batch at a time, and nothing else; the daemon's retention loop keeps
//! each status for its own period.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use orchestrator::daemon::retention::{Keep, Retention, RetentionPolicy};
use orchestrator::domain::{NewRun, Run, RunFilter, RunStatus, Tags};
use orchestrator::storage::{RunStorage, StorageError};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::{self, events_of, key, log, materialization, run_in, tag};

support::storage_tests!(
    prune_deletes_only_finished_runs_of_the_status_that_ended_before_the_cutoff,
    prune_deletes_in_batches_oldest_first,
    prune_deletes_every_event_of_a_big_run,
    prune_refuses_statuses_that_are_not_terminal,
    retention_keeps_each_status_for_its_own_period,
);

/// A run ended in `status`, tagged `team=data`, with a log line and a materialization of
/// `asset` besides its run events.
async fn finished(store: &dyn RunStorage, status: RunStatus, asset: &str) -> Run {
    let mut tags = Tags::new();
    tags.insert(tag("team"), "data".into());
    let new = NewRun::in_process(support::job("walk"), json!({}), tags);
    let run = store.create_run(&new).await.unwrap();
    store
        .transition_run(run.id, RunStatus::Started, None)
        .await
        .unwrap();
    store
        .append_events(run.id, &[log(1), materialization(asset, 2, json!({}))])
        .await
        .unwrap();
    let path: &[RunStatus] = match status {
        RunStatus::Canceled => &[RunStatus::Canceling, RunStatus::Canceled],
        other => &[other],
    };
    let mut run = run;
    for &to in path {
        run = store.transition_run(run.id, to, None).await.unwrap();
    }
    run
}

/// An instant strictly between the runs created before and after it.
async fn cutoff() -> DateTime<Utc> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let at = Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    at
}

/// Asserts run `run` and everything of it are gone: the row, its events (also from the asset
/// history, which reads `events` alone) and its tags (re-creating the run with the same id and
/// tag would break the tag table's primary key if one were left).
async fn assert_gone(store: &dyn RunStorage, run: &Run, asset: &str) {
    match store.get_run(run.id).await {
        Err(StorageError::RunNotFound(id)) => assert_eq!(id, run.id),
        other => panic!("run {} should be gone, got {other:?}", run.id),
    }
    assert!(
        events_of(store, run.id).await.is_empty(),
        "events of {}",
        run.id
    );
    let history = store.asset_history(&key(asset), None, 100).await.unwrap();
    assert!(
        history.iter().all(|m| m.run_id != run.id),
        "materializations of {}",
        run.id
    );
    let mut again = NewRun::queued(support::job("walk"), json!({}), run.tags.clone());
    again.id = run.id;
    store.create_run(&again).await.unwrap();
}

async fn prune_deletes_only_finished_runs_of_the_status_that_ended_before_the_cutoff(
    store: Arc<dyn RunStorage>,
) {
    let s = store.as_ref();
    let old_ok = [
        finished(s, RunStatus::Success, "old_ok").await,
        finished(s, RunStatus::Success, "old_ok").await,
    ];
    let old_failed = finished(s, RunStatus::Failure, "old_failed").await;
    let old_canceled = finished(s, RunStatus::Canceled, "old_canceled").await;
    let unfinished = [
        run_in(s, RunStatus::Queued).await,
        run_in(s, RunStatus::Starting).await,
        run_in(s, RunStatus::Started).await,
        run_in(s, RunStatus::Canceling).await,
    ];
    let cutoff = cutoff().await;
    let new_ok = finished(s, RunStatus::Success, "new_ok").await;

    assert_eq!(
        s.count_prunable_runs(RunStatus::Success, cutoff)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        s.prune_runs(RunStatus::Success, cutoff, 100).await.unwrap(),
        2
    );
    // Everything else is intact, events and tags included.
    for run in [&old_failed, &old_canceled, &new_ok]
        .into_iter()
        .chain(&unfinished)
    {
        let stored = s.get_run(run.id).await.unwrap();
        assert_eq!(stored.status, run.status);
        assert!(
            !events_of(s, run.id).await.is_empty(),
            "events of {}",
            run.id
        );
    }
    let tagged = s
        .list_runs(&RunFilter {
            tag: Some((tag("team"), "data".into())),
            ..RunFilter::default()
        })
        .await
        .unwrap();
    let mut ids: Vec<_> = tagged.iter().map(|r| r.id).collect();
    ids.sort();
    let mut expected = vec![old_failed.id, old_canceled.id, new_ok.id];
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(
        s.asset_history(&key("new_ok"), None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    for run in &old_ok {
        assert_gone(s, run, "old_ok").await;
    }

    // The other statuses, each on its own.
    assert_eq!(
        s.prune_runs(RunStatus::Failure, cutoff, 100).await.unwrap(),
        1
    );
    assert_gone(s, &old_failed, "old_failed").await;
    assert_eq!(
        s.prune_runs(RunStatus::Canceled, cutoff, 100)
            .await
            .unwrap(),
        1
    );
    assert_gone(s, &old_canceled, "old_canceled").await;
    // Pruning again finds nothing.
    assert_eq!(
        s.prune_runs(RunStatus::Success, cutoff, 100).await.unwrap(),
        0
    );
    for run in &unfinished {
        assert_eq!(s.get_run(run.id).await.unwrap().status, run.status);
    }
}

async fn prune_deletes_in_batches_oldest_first(store: Arc<dyn RunStorage>) {
    let s = store.as_ref();
    let mut runs = Vec::new();
    for _ in 0..5 {
        runs.push(finished(s, RunStatus::Success, "a").await);
    }
    let cutoff = cutoff().await;
    assert_eq!(
        s.prune_runs(RunStatus::Success, cutoff, 2).await.unwrap(),
        2
    );
    // The two oldest went first.
    for run in &runs[..2] {
        assert!(s.get_run(run.id).await.is_err());
    }
    for run in &runs[2..] {
        assert!(s.get_run(run.id).await.is_ok());
    }
    assert_eq!(
        s.prune_runs(RunStatus::Success, cutoff, 2).await.unwrap(),
        2
    );
    assert_eq!(
        s.prune_runs(RunStatus::Success, cutoff, 2).await.unwrap(),
        1
    );
    assert_eq!(
        s.prune_runs(RunStatus::Success, cutoff, 2).await.unwrap(),
        0
    );
    assert!(s.list_runs(&RunFilter::default()).await.unwrap().is_empty());
}

async fn prune_deletes_every_event_of_a_big_run(store: Arc<dyn RunStorage>) {
    let s = store.as_ref();
    let run = run_in(s, RunStatus::Started).await;
    // More than two chunks of EVENT_CHUNK (5 000), so several delete statements are needed.
    let lines: Vec<_> = (0..12_345).map(log).collect();
    s.append_events(run.id, &lines).await.unwrap();
    s.transition_run(run.id, RunStatus::Failure, Some("boom"))
        .await
        .unwrap();
    assert_eq!(
        count_events(s, &run).await,
        12_345 + 3,
        "with RUN_STARTING, RUN_START, RUN_FAILURE"
    );
    let cutoff = cutoff().await;
    assert_eq!(
        s.prune_runs(RunStatus::Failure, cutoff, 10).await.unwrap(),
        1
    );
    assert_eq!(count_events(s, &run).await, 0);
    assert!(s.get_run(run.id).await.is_err());
}

/// All events of `run`, counted page by page (a page holds at most 10 000).
async fn count_events(store: &dyn RunStorage, run: &Run) -> usize {
    let mut count = 0;
    let mut after = None;
    loop {
        let page = store.list_events(run.id, after, 10_000).await.unwrap();
        count += page.len();
        match page.last() {
            Some(last) => after = Some(last.id),
            None => return count,
        }
    }
}

async fn prune_refuses_statuses_that_are_not_terminal(store: Arc<dyn RunStorage>) {
    let s = store.as_ref();
    let running = run_in(s, RunStatus::Started).await;
    let future = Utc::now() + chrono::Duration::days(1);
    for status in [
        RunStatus::Queued,
        RunStatus::Starting,
        RunStatus::Started,
        RunStatus::Canceling,
    ] {
        let err = s.prune_runs(status, future, 100).await.unwrap_err();
        assert!(
            matches!(err, StorageError::NotTerminal(st) if st == status),
            "{err:?}"
        );
        assert!(s.count_prunable_runs(status, future).await.is_err());
    }
    assert_eq!(
        s.get_run(running.id).await.unwrap().status,
        RunStatus::Started
    );
}

async fn retention_keeps_each_status_for_its_own_period(store: Arc<dyn RunStorage>) {
    let s = store.as_ref();
    let ok = finished(s, RunStatus::Success, "a").await;
    let failed = finished(s, RunStatus::Failure, "a").await;
    let canceled = finished(s, RunStatus::Canceled, "a").await;
    let running = run_in(s, RunStatus::Started).await;
    const DAY: u64 = 24 * 60 * 60;
    let policy = RetentionPolicy {
        canceled: Keep::Forever,
        batch_size: 1,
        batch_pause: Duration::from_millis(1),
        ..RetentionPolicy::default()
    };
    let retention = Retention::new(store.clone(), policy);
    let shutdown = CancellationToken::new();
    let days_later = |days: u64| Utc::now() + Duration::from_secs(days * DAY);

    // A day later nothing is old enough.
    let pruned = retention.tick_once(days_later(1), &shutdown).await.unwrap();
    assert!(pruned.values().all(|n| *n == 0), "{pruned:?}");
    // 31 days later the success is past its 30 days; the failure keeps its 90.
    let pruned = retention
        .tick_once(days_later(31), &shutdown)
        .await
        .unwrap();
    assert_eq!(pruned.get(&RunStatus::Success), Some(&1));
    assert_eq!(pruned.get(&RunStatus::Failure), Some(&0));
    assert_eq!(pruned.get(&RunStatus::Canceled), None, "kept forever");
    assert!(s.get_run(ok.id).await.is_err());
    assert!(s.get_run(failed.id).await.is_ok());
    // 91 days later the failure goes; the canceled run and the running one stay for ever.
    let pruned = retention
        .tick_once(days_later(91), &shutdown)
        .await
        .unwrap();
    assert_eq!(pruned.get(&RunStatus::Failure), Some(&1));
    assert!(s.get_run(failed.id).await.is_err());
    assert!(s.get_run(canceled.id).await.is_ok());
    assert!(s.get_run(running.id).await.is_ok());

    // The loop itself: prunes at once, then stops when told.
    let policy = RetentionPolicy {
        canceled: Keep::For(Duration::ZERO),
        ..RetentionPolicy::default()
    };
    let looping = tokio::spawn(Retention::new(store.clone(), policy).run(shutdown.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while s.get_run(canceled.id).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the loop never pruned"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), looping)
        .await
        .expect("the loop stops on shutdown")
        .unwrap();
    assert!(s.get_run(running.id).await.is_ok());
}
