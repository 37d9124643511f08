//! Failed asset checks are counted on the run by the transaction that records their events
//! (appended in batches, or with the run's end), and run lists filter on the count.

use std::sync::Arc;

use orchestrator::domain::{CheckSeverity, EventKind, Metadata, NewEvent, RunFilter, RunStatus};
use orchestrator::storage::RunStorage;

use crate::support::{self, key, run_in};

support::storage_tests!(failed_checks_are_counted_on_the_run_and_filter_the_list);

fn evaluation(check: &str, passed: bool) -> NewEvent {
    NewEvent::step(
        &key("a"),
        EventKind::AssetCheckEvaluation {
            asset: key("a"),
            check: check.to_owned(),
            passed,
            severity: CheckSeverity::Warn,
            metadata: Metadata::new(),
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
