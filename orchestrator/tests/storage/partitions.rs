//! Partitioned runs and dynamic partition keys: the run's partition is stored in its own columns
//! (a single key indexed for run lists) with its tags, and dynamic keys are added once, removed,
//! and listed in the order they were added with keyset paging.

use std::sync::Arc;

use orchestrator::domain::{PartitionRange, RunFilter};
use orchestrator::storage::RunStorage;

use crate::support::{queued, storage_tests};

storage_tests!(
    a_partitioned_run_keeps_its_key_range_and_tags,
    runs_are_listed_by_partition_key,
    dynamic_keys_are_added_once_removed_and_paged_in_order,
);

async fn a_partitioned_run_keeps_its_key_range_and_tags(store: Arc<dyn RunStorage>) {
    let single = store
        .create_run(&queued("daily").with_partition(PartitionRange::single("2026-03-01")))
        .await
        .unwrap();
    let read = store.get_run(single.id).await.unwrap();
    assert_eq!(read.partition, Some(PartitionRange::single("2026-03-01")));
    assert_eq!(read.partition_key(), Some("2026-03-01"));
    assert_eq!(
        read.tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
        [("orch/partition", "2026-03-01")]
    );

    let range = PartitionRange {
        start: "2026-03-01".to_owned(),
        end: "2026-03-31".to_owned(),
    };
    let ranged = store
        .create_run(&queued("daily").with_partition(range.clone()))
        .await
        .unwrap();
    let read = store.get_run(ranged.id).await.unwrap();
    assert_eq!(read.partition, Some(range));
    assert_eq!(read.partition_key(), None);
    assert_eq!(
        read.tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
        [
            ("orch/partition_range_end", "2026-03-31"),
            ("orch/partition_range_start", "2026-03-01")
        ]
    );

    let plain = store.create_run(&queued("daily")).await.unwrap();
    assert_eq!(store.get_run(plain.id).await.unwrap().partition, None);
}

async fn runs_are_listed_by_partition_key(store: Arc<dyn RunStorage>) {
    let mut march = Vec::new();
    for key in ["2026-03-01", "2026-03-02", "2026-03-01"] {
        let run = store
            .create_run(&queued("daily").with_partition(PartitionRange::single(key)))
            .await
            .unwrap();
        if key == "2026-03-01" {
            march.push(run.id);
        }
    }
    store.create_run(&queued("daily")).await.unwrap();
    // A range that starts at the key is not a run of that key.
    store
        .create_run(&queued("daily").with_partition(PartitionRange {
            start: "2026-03-01".to_owned(),
            end: "2026-03-02".to_owned(),
        }))
        .await
        .unwrap();
    let listed: Vec<_> = store
        .list_runs(&RunFilter {
            partition: Some("2026-03-01".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    march.reverse();
    assert_eq!(
        listed, march,
        "newest first, only single-key runs of the key"
    );
    let none = store
        .list_runs(&RunFilter {
            partition: Some("2026-04-01".to_owned()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

async fn dynamic_keys_are_added_once_removed_and_paged_in_order(store: Arc<dyn RunStorage>) {
    let keys = |list: &[&str]| list.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
    let added = store
        .add_dynamic_partitions("customers", &keys(&["globex", "acme", "initech"]))
        .await
        .unwrap();
    assert_eq!(added, 3);
    let again = store
        .add_dynamic_partitions("customers", &keys(&["acme", "umbrella"]))
        .await
        .unwrap();
    assert_eq!(again, 1, "acme was there already");
    store
        .add_dynamic_partitions("regions", &keys(&["eu"]))
        .await
        .unwrap();

    let all = store
        .list_dynamic_partitions("customers", None, 0)
        .await
        .unwrap();
    assert_eq!(all, ["globex", "acme", "initech", "umbrella"]);
    let page = store
        .list_dynamic_partitions("customers", Some("acme"), 1)
        .await
        .unwrap();
    assert_eq!(page, ["initech"]);

    assert!(
        store
            .remove_dynamic_partition("customers", "acme")
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_dynamic_partition("customers", "acme")
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .list_dynamic_partitions("customers", None, 0)
            .await
            .unwrap(),
        ["globex", "initech", "umbrella"]
    );
    assert_eq!(
        store
            .list_dynamic_partitions("regions", None, 0)
            .await
            .unwrap(),
        ["eu"]
    );
}
