//! The partition status index: each change moves (job, asset, partition) rows in the change's
//! own transaction — a targeted run's creation makes them in progress, a materialization of a
//! partitioned run makes them materialized, the run's end settles what is left (failed, or as
//! it was when the run never started) — and the rows are listed by status with keyset paging.

use std::sync::Arc;

use orchestrator::domain::{PartitionRange, PartitionStatus, PartitionTargets, RunId, RunStatus};
use orchestrator::storage::RunStorage;
use serde_json::json;

use crate::support::{job, key, materialization, queued, storage_tests};

storage_tests!(
    a_newer_failure_after_an_older_success_is_failed_and_rematerializing_fixes_it,
    a_run_that_never_started_leaves_the_status_as_it_was,
    a_range_run_materializes_every_key_it_targets,
    keys_are_listed_by_status_with_keyset_paging,
);

fn targets(assets: &[&str], keys: &[&str]) -> PartitionTargets {
    PartitionTargets {
        assets: assets.iter().map(|a| key(a)).collect(),
        keys: keys.iter().map(|k| (*k).to_owned()).collect(),
    }
}

/// The status of every row of job `daily`, as (asset, key, status).
async fn statuses(store: &dyn RunStorage) -> Vec<(String, String, PartitionStatus)> {
    store
        .partition_statuses(&job("daily"), None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.asset_key, r.key, r.status))
        .collect()
}

fn row(asset: &str, k: &str, status: PartitionStatus) -> (String, String, PartitionStatus) {
    (asset.to_owned(), k.to_owned(), status)
}

/// Creates a run of `daily` over `keys` for `assets`; returns its id.
async fn start(store: &dyn RunStorage, assets: &[&str], keys: &[&str]) -> RunId {
    let range = PartitionRange {
        start: keys[0].to_owned(),
        end: keys[keys.len() - 1].to_owned(),
    };
    let run = store
        .create_targeted_run(
            &queued("daily").with_partition(range),
            &targets(assets, keys),
        )
        .await
        .unwrap();
    run.id
}

/// Moves a queued run to STARTED, as the daemon and the worker do.
async fn started(store: &dyn RunStorage, run: RunId) {
    store
        .transition_run(run, RunStatus::Starting, None)
        .await
        .unwrap();
    store
        .transition_run(run, RunStatus::Started, None)
        .await
        .unwrap();
}

async fn a_newer_failure_after_an_older_success_is_failed_and_rematerializing_fixes_it(
    store: Arc<dyn RunStorage>,
) {
    use PartitionStatus::*;
    let first = start(store.as_ref(), &["a", "b"], &["2026-03-01"]).await;
    assert_eq!(
        statuses(store.as_ref()).await,
        [
            row("a", "2026-03-01", InProgress),
            row("b", "2026-03-01", InProgress)
        ]
    );
    started(store.as_ref(), first).await;
    store
        .append_events(first, &[materialization("a", 1, json!({}))])
        .await
        .unwrap();
    // Materialized as soon as the event is stored, though the run goes on.
    assert_eq!(
        statuses(store.as_ref()).await,
        [
            row("a", "2026-03-01", Materialized),
            row("b", "2026-03-01", InProgress)
        ]
    );
    store
        .transition_run_with_events(
            first,
            RunStatus::Success,
            None,
            &[materialization("b", 2, json!({}))],
        )
        .await
        .unwrap();
    assert_eq!(
        statuses(store.as_ref()).await,
        [
            row("a", "2026-03-01", Materialized),
            row("b", "2026-03-01", Materialized)
        ]
    );

    let second = start(store.as_ref(), &["a", "b"], &["2026-03-01"]).await;
    started(store.as_ref(), second).await;
    store
        .append_events(second, &[materialization("a", 3, json!({}))])
        .await
        .unwrap();
    store
        .transition_run(second, RunStatus::Failure, Some("b failed"))
        .await
        .unwrap();
    // a was materialized again by the failed run; b's newer run failed on it.
    assert_eq!(
        statuses(store.as_ref()).await,
        [
            row("a", "2026-03-01", Materialized),
            row("b", "2026-03-01", Failed)
        ]
    );
    let rows = store
        .partition_statuses(&job("daily"), Some(&key("b")))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].run_id, Some(second));

    let third = start(store.as_ref(), &["b"], &["2026-03-01"]).await;
    started(store.as_ref(), third).await;
    store
        .transition_run_with_events(
            third,
            RunStatus::Success,
            None,
            &[materialization("b", 4, json!({}))],
        )
        .await
        .unwrap();
    assert_eq!(
        statuses(store.as_ref()).await,
        [
            row("a", "2026-03-01", Materialized),
            row("b", "2026-03-01", Materialized)
        ]
    );
}

async fn a_run_that_never_started_leaves_the_status_as_it_was(store: Arc<dyn RunStorage>) {
    use PartitionStatus::*;
    let failed = start(store.as_ref(), &["a"], &["2026-03-01", "2026-03-02"]).await;
    started(store.as_ref(), failed).await;
    store
        .transition_run(failed, RunStatus::Failure, None)
        .await
        .unwrap();
    assert_eq!(
        statuses(store.as_ref()).await,
        [
            row("a", "2026-03-01", Failed),
            row("a", "2026-03-02", Failed)
        ]
    );
    let queued_only = start(
        store.as_ref(),
        &["a"],
        &["2026-03-01", "2026-03-02", "2026-03-03"],
    )
    .await;
    assert_eq!(
        statuses(store.as_ref())
            .await
            .iter()
            .filter(|r| r.2 == InProgress)
            .count(),
        3
    );
    store
        .transition_run(queued_only, RunStatus::Canceled, None)
        .await
        .unwrap();
    // Failed stays failed, never-tried goes back to missing: the cancel ran nothing.
    assert_eq!(
        statuses(store.as_ref()).await,
        [
            row("a", "2026-03-01", Failed),
            row("a", "2026-03-02", Failed),
            row("a", "2026-03-03", Missing),
        ]
    );
    // A run that started and was canceled did try: its keys are failed.
    let canceled = start(store.as_ref(), &["a"], &["2026-03-03"]).await;
    started(store.as_ref(), canceled).await;
    store
        .transition_run(canceled, RunStatus::Canceling, None)
        .await
        .unwrap();
    store
        .transition_run(canceled, RunStatus::Canceled, None)
        .await
        .unwrap();
    assert_eq!(
        statuses(store.as_ref()).await[2],
        row("a", "2026-03-03", Failed)
    );
}

async fn a_range_run_materializes_every_key_it_targets(store: Arc<dyn RunStorage>) {
    use PartitionStatus::*;
    let keys = ["2026-03-01", "2026-03-02", "2026-03-03"];
    let run = start(store.as_ref(), &["a", "b"], &keys).await;
    started(store.as_ref(), run).await;
    store
        .transition_run_with_events(
            run,
            RunStatus::Success,
            None,
            &[materialization("a", 1, json!({}))],
        )
        .await
        .unwrap();
    let all = statuses(store.as_ref()).await;
    // a materialized over the whole range; b, not materialized by a successful run, is as it
    // was: missing.
    for k in keys {
        assert!(all.contains(&row("a", k, Materialized)), "{all:?}");
        assert!(all.contains(&row("b", k, Missing)), "{all:?}");
    }
    // An unpartitioned run's materializations leave the index alone.
    let plain = store.create_run(&queued("daily")).await.unwrap();
    store
        .append_events(plain.id, &[materialization("a", 2, json!({}))])
        .await
        .unwrap();
    assert_eq!(statuses(store.as_ref()).await.len(), 6);
}

async fn keys_are_listed_by_status_with_keyset_paging(store: Arc<dyn RunStorage>) {
    use PartitionStatus::*;
    let keys: Vec<String> = (1..=9).map(|d| format!("2026-03-0{d}")).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let failed = start(store.as_ref(), &["a"], &key_refs).await;
    started(store.as_ref(), failed).await;
    store
        .transition_run(failed, RunStatus::Failure, None)
        .await
        .unwrap();
    // Every other key materialized again by a single-key run without targets.
    for k in keys.iter().step_by(2) {
        let run = store
            .create_run(&queued("daily").with_partition(PartitionRange::single(k)))
            .await
            .unwrap();
        store
            .append_events(run.id, &[materialization("a", 1, json!({}))])
            .await
            .unwrap();
    }
    let list = |status, after: Option<String>, limit| {
        let store = store.clone();
        async move {
            store
                .list_partitions_by_status(
                    &job("daily"),
                    &key("a"),
                    status,
                    after.as_deref(),
                    limit,
                )
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.key)
                .collect::<Vec<_>>()
        }
    };
    let first = list(Materialized, None, 2).await;
    assert_eq!(first, ["2026-03-01", "2026-03-03"]);
    let second = list(Materialized, first.last().cloned(), 2).await;
    assert_eq!(second, ["2026-03-05", "2026-03-07"]);
    let third = list(Materialized, second.last().cloned(), 2).await;
    assert_eq!(third, ["2026-03-09"]);
    assert_eq!(
        list(Failed, None, 0).await,
        ["2026-03-02", "2026-03-04", "2026-03-06", "2026-03-08"]
    );
    assert!(list(InProgress, None, 0).await.is_empty());
}
