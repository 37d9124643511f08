//! Backfills: created with their chunks, each chunk submitted once even when two stores (two
//! daemons) race for it, counted by their runs' status, moved only from the status seen.

use std::sync::Arc;

use orchestrator::domain::{
    BackfillChunk, BackfillId, BackfillMode, BackfillStatus, NewBackfill, PartitionRange,
    PartitionTargets, RunStatus,
};
use orchestrator::storage::RunStorage;

use crate::support::{job, key, queued, storage_tests, two_store_tests};

storage_tests!(a_backfill_is_stored_counted_and_moved_only_from_the_status_seen,);
two_store_tests!(
    two_stores_racing_submit_each_chunk_exactly_once,
    two_stores_racing_in_batches_submit_each_chunk_exactly_once,
);

fn new_backfill(chunks: u32) -> NewBackfill {
    NewBackfill {
        id: BackfillId::new(),
        job: job("daily"),
        mode: BackfillMode::Missing,
        step_selection: Some(vec![key("a")]),
        max_concurrent: 2,
        parent: None,
        chunks: (0..chunks)
            .map(|i| BackfillChunk {
                position: i,
                start: format!("k{i:05}"),
                end: format!("k{i:05}"),
                keys: 1,
            })
            .collect(),
    }
}

fn run_of(chunk: &BackfillChunk) -> orchestrator::domain::NewRun {
    queued("daily").with_partition(PartitionRange::single(&chunk.start))
}

async fn a_backfill_is_stored_counted_and_moved_only_from_the_status_seen(
    store: Arc<dyn RunStorage>,
) {
    let planned = new_backfill(1500);
    let created = store.create_backfill(&planned).await.unwrap();
    assert_eq!(created.status, BackfillStatus::Requested);
    assert_eq!(created.partitions, 1500);
    assert_eq!(created.step_selection, Some(vec![key("a")]));
    assert_eq!(
        store.get_backfill(created.id).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(store.active_backfills().await.unwrap().len(), 1);

    let next = store.next_backfill_chunks(created.id, 2).await.unwrap();
    assert_eq!(next, planned.chunks[..2]);
    let targets = PartitionTargets {
        assets: vec![key("a")],
        keys: vec![next[0].start.clone()],
    };
    let run = store
        .submit_backfill_chunk(created.id, 0, &run_of(&next[0]), &targets)
        .await
        .unwrap()
        .unwrap();
    // The same chunk again: refused, nothing written.
    assert!(
        store
            .submit_backfill_chunk(created.id, 0, &run_of(&next[0]), &targets)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.next_backfill_chunks(created.id, 1).await.unwrap()[0].position,
        1
    );
    store
        .transition_run(run.id, RunStatus::Canceled, None)
        .await
        .unwrap();
    let counts = store.backfill_counts(created.id).await.unwrap();
    assert_eq!(counts.pending, 1499);
    assert_eq!(counts.runs.get(&RunStatus::Canceled), Some(&1));
    assert_eq!(counts.unsuccessful(), 1);
    assert_eq!(
        store.backfill_failed_chunks(created.id).await.unwrap(),
        planned.chunks[..1]
    );
    assert!(
        store
            .backfill_runs_in_flight(created.id)
            .await
            .unwrap()
            .is_empty()
    );

    use BackfillStatus::*;
    assert!(
        !store
            .set_backfill_status(created.id, &[Running], Completed)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_backfill_status(created.id, &[Requested, Running], Canceling)
            .await
            .unwrap()
    );
    assert!(
        store
            .set_backfill_status(created.id, &[Canceling], Canceled)
            .await
            .unwrap()
    );
    assert!(store.active_backfills().await.unwrap().is_empty());
    let listed = store.list_backfills(None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, Canceled);
}

async fn two_stores_racing_submit_each_chunk_exactly_once(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    let planned = new_backfill(40);
    let created = first.create_backfill(&planned).await.unwrap();
    let race = |store: Arc<dyn RunStorage>| {
        let chunks = planned.chunks.clone();
        async move {
            let mut won = 0;
            for chunk in &chunks {
                if store
                    .submit_backfill_chunk(
                        created.id,
                        chunk.position,
                        &run_of(chunk),
                        &Default::default(),
                    )
                    .await
                    .unwrap()
                    .is_some()
                {
                    won += 1;
                }
            }
            won
        }
    };
    let (a, b) = tokio::join!(race(first.clone()), race(second.clone()));
    assert_eq!(a + b, 40, "every chunk submitted once: {a} + {b}");
    let counts = first.backfill_counts(created.id).await.unwrap();
    assert_eq!(counts.pending, 0);
    assert_eq!(counts.runs.get(&RunStatus::Queued), Some(&40));
    // One run per chunk in the runs table too.
    let runs = first
        .list_runs(&orchestrator::domain::RunFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 40);
}

/// The daemon's path: batches of chunks in one transaction each, two stores over the same
/// pending chunks in the same order.
async fn two_stores_racing_in_batches_submit_each_chunk_exactly_once(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    let planned = new_backfill(60);
    let created = first.create_backfill(&planned).await.unwrap();
    let race = |store: Arc<dyn RunStorage>| {
        let chunks = planned.chunks.clone();
        async move {
            let mut won = Vec::new();
            for batch in chunks.chunks(15) {
                let batch: Vec<_> = batch
                    .iter()
                    .map(|c| (c.position, run_of(c), PartitionTargets::default()))
                    .collect();
                won.extend(
                    store
                        .submit_backfill_chunks(created.id, &batch)
                        .await
                        .unwrap(),
                );
            }
            won
        }
    };
    let (a, b) = tokio::join!(race(first.clone()), race(second.clone()));
    assert_eq!(a.len() + b.len(), 60, "every chunk submitted once");
    let counts = first.backfill_counts(created.id).await.unwrap();
    assert_eq!(counts.pending, 0);
    assert_eq!(counts.runs.get(&RunStatus::Queued), Some(&60));
    let runs = first
        .list_runs(&orchestrator::domain::RunFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 60);
    // Submitting a claimed batch again creates nothing.
    let again: Vec<_> = planned.chunks[..5]
        .iter()
        .map(|c| (c.position, run_of(c), PartitionTargets::default()))
        .collect();
    assert!(
        second
            .submit_backfill_chunks(created.id, &again)
            .await
            .unwrap()
            .is_empty()
    );
}
