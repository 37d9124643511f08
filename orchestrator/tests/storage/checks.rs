//! Failed asset checks are counted on the run by the transaction that records their events
//! (appended in batches, or with the run's end), and run lists filter on the count.

use std::sync::Arc;

use orchestrator::domain::{CheckSeverity, EventKind, Metadata, NewEvent, RunFilter, RunStatus};
use orchestrator::storage::RunStorage;

use crate::support::{self, key, run_in};

support::storage_tests!(
    failed_checks_are_counted_on_the_run_and_filter_the_list,
    the_latest_verdict_of_each_check_is_kept_whatever_the_batches,
    a_partitioned_check_keeps_its_latest_verdict_per_partition,
);

fn evaluation(check: &str, passed: bool) -> NewEvent {
    partition_evaluation(check, passed, None)
}

fn partition_evaluation(check: &str, passed: bool, partition: Option<&str>) -> NewEvent {
    NewEvent::step(
        &key("a"),
        EventKind::AssetCheckEvaluation {
            asset: key("a"),
            check: check.to_owned(),
            passed,
            severity: CheckSeverity::Warn,
            metadata: Metadata::new(),
            partition: partition.map(str::to_owned),
        },
    )
}

async fn failed_checks_are_counted_on_the_run_and_filter_the_list(store: Arc<dyn RunStorage>) {
    let clean = run_in(store.as_ref(), RunStatus::Started).await;
    let checked = run_in(store.as_ref(), RunStatus::Started).await;
    store
        .append_events(clean.id, &[evaluation("ok", true)])
        .await
        .unwrap();
    store
        .append_events(
            checked.id,
            &[evaluation("one", false), evaluation("ok", true)],
        )
        .await
        .unwrap();
    let ended = store
        .transition_run_with_events(
            checked.id,
            RunStatus::Success,
            None,
            &[evaluation("two", false)],
        )
        .await
        .unwrap();
    assert_eq!(ended.checks_failed, 2);
    assert_eq!(store.get_run(clean.id).await.unwrap().checks_failed, 0);
    let filter = RunFilter {
        checks_failed: true,
        ..RunFilter::default()
    };
    let listed: Vec<_> = store
        .list_runs(&filter)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, vec![checked.id]);
    let kinds = crate::support::kinds_of(store.as_ref(), checked.id).await;
    assert!(
        kinds
            .iter()
            .any(|k| k.type_name() == "ASSET_CHECK_EVALUATION")
    );
}

async fn the_latest_verdict_of_each_check_is_kept_whatever_the_batches(store: Arc<dyn RunStorage>) {
    assert!(store.latest_checks().await.unwrap().is_empty());
    let first = run_in(store.as_ref(), RunStatus::Started).await;
    let second = run_in(store.as_ref(), RunStatus::Started).await;
    // One batch evaluating `rows` twice: the later verdict wins (and one statement writes it).
    store
        .append_events(
            first.id,
            &[
                evaluation("rows", true),
                evaluation("rows", false),
                evaluation("ok", true),
            ],
        )
        .await
        .unwrap();
    let latest = store.latest_checks().await.unwrap();
    let seen: Vec<_> = latest
        .iter()
        .map(|c| (c.check.as_str(), c.passed, c.run_id))
        .collect();
    assert_eq!(
        seen,
        vec![("ok", true, first.id), ("rows", false, first.id)]
    );
    // A later run's verdict replaces it.
    store
        .append_events(second.id, &[evaluation("rows", true)])
        .await
        .unwrap();
    let latest = store.latest_checks().await.unwrap();
    let rows = latest.iter().find(|c| c.check == "rows").unwrap();
    assert_eq!((rows.passed, rows.run_id), (true, second.id));
    assert_eq!(rows.severity, CheckSeverity::Warn);
    assert_eq!(rows.asset_key, key("a"));
}

async fn a_partitioned_check_keeps_its_latest_verdict_per_partition(store: Arc<dyn RunStorage>) {
    let first = run_in(store.as_ref(), RunStatus::Started).await;
    let second = run_in(store.as_ref(), RunStatus::Started).await;
    store
        .append_events(
            first.id,
            &[
                partition_evaluation("rows", false, Some("2026-03-01")),
                evaluation("rows", true),
            ],
        )
        .await
        .unwrap();
    store
        .append_events(
            second.id,
            &[partition_evaluation("rows", true, Some("2026-03-02"))],
        )
        .await
        .unwrap();
    // The payload keeps the partition.
    let kinds = crate::support::kinds_of(store.as_ref(), first.id).await;
    assert!(kinds.iter().any(|k| matches!(
        k,
        EventKind::AssetCheckEvaluation { partition: Some(p), passed: false, .. } if p == "2026-03-01"
    )));
    // Both partitions' verdicts are kept, the latest partition first, the unpartitioned last.
    let by_partition = store
        .latest_checks_by_partition(&key("a"), 100)
        .await
        .unwrap();
    let seen: Vec<_> = by_partition
        .iter()
        .map(|c| (c.partition.as_deref(), c.passed, c.run_id))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Some("2026-03-02"), true, second.id),
            (Some("2026-03-01"), false, first.id),
            (None, true, first.id),
        ]
    );
    assert_eq!(
        store
            .latest_checks_by_partition(&key("a"), 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .latest_checks_by_partition(&key("b"), 100)
            .await
            .unwrap()
            .is_empty()
    );
    // A re-run of 2026-03-01 replaces that partition's verdict only.
    store
        .append_events(
            second.id,
            &[partition_evaluation("rows", true, Some("2026-03-01"))],
        )
        .await
        .unwrap();
    let by_partition = store
        .latest_checks_by_partition(&key("a"), 100)
        .await
        .unwrap();
    assert_eq!(by_partition.len(), 3);
    assert!(by_partition.iter().all(|c| c.passed));
    // Health reads one verdict per check: the newest, whatever its partition.
    let latest = store.latest_checks().await.unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].partition.as_deref(), Some("2026-03-01"));
    assert_eq!(latest[0].run_id, second.id);
}
