//! Concurrent event writers. Appends of different runs materializing the same assets must all
//! commit (no deadlock between their catalog updates) and leave the catalog at the newest
//! materialization, never moving back. A reader tailing a run's log with `list_events(after =
//! last id seen)` while two writers append to that run (a worker's batches, the daemon's status
//! events) must see every event: an id it has passed must never commit later.

use std::collections::HashSet;
use std::sync::Arc;

use orchestrator::domain::RunStatus;
use orchestrator::storage::RunStorage;
use serde_json::json;

use crate::support::{self, events_of, key, log, materialization, run_in};

support::storage_tests!(
    concurrent_materializations_leave_the_newest_as_latest,
    batches_materializing_shared_assets_in_any_order_all_commit,
    a_tailing_reader_sees_every_event_of_concurrent_writers,
);

support::two_store_tests!(
    concurrent_materializations_from_two_processes_leave_the_newest_as_latest,
    a_tailing_reader_sees_every_event_written_by_two_processes,
);

async fn concurrent_materializations_leave_the_newest_as_latest(store: Arc<dyn RunStorage>) {
    materialize_concurrently(&[store]).await;
}

async fn concurrent_materializations_from_two_processes_leave_the_newest_as_latest(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    materialize_concurrently(&[first, second]).await;
}

/// Writers, each a run of its own, append batches that materialize one shared asset and then
/// keep their transaction open a little longer (a tail of log lines), so other writers queue on
/// the catalog row and commit in an order unrelated to their event ids. An observer meanwhile
/// checks that the catalog never moves back to an older materialization.
async fn materialize_concurrently(stores: &[Arc<dyn RunStorage>]) {
    const WRITERS: usize = 4;
    const BATCHES: usize = 10;
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = stores[w % stores.len()].clone();
        let run = run_in(store.as_ref(), RunStatus::Started).await.id;
        writers.push(tokio::spawn(async move {
            for b in 0..BATCHES {
                let n = w * BATCHES + b;
                let mut batch = vec![materialization(
                    "shared",
                    n as i64,
                    json!({"writer": w, "batch": b}),
                )];
                batch.extend((0..600).map(log));
                store.append_events(run, &batch).await.unwrap();
            }
        }));
    }
    let observer = {
        let store = stores[stores.len() - 1].clone();
        let writers_done = async move {
            for writer in writers {
                writer.await.unwrap();
            }
        };
        tokio::spawn(async move {
            tokio::pin!(writers_done);
            let mut seen = 0;
            loop {
                if let Some(asset) = store.list_assets().await.unwrap().first() {
                    let id = asset.latest.event_id;
                    assert!(
                        id >= seen,
                        "the catalog went back from event {seen} to {id}"
                    );
                    seen = id;
                }
                tokio::select! {
                    () = &mut writers_done => break,
                    () = tokio::time::sleep(std::time::Duration::from_millis(1)) => {}
                }
            }
        })
    };
    observer.await.unwrap();

    let history = stores[0]
        .asset_history(&key("shared"), None, 1000)
        .await
        .unwrap();
    assert_eq!(history.len(), WRITERS * BATCHES);
    for store in stores {
        let assets = store.list_assets().await.unwrap();
        assert_eq!(assets.len(), 1);
        assert_eq!(
            assets[0].latest, history[0],
            "the catalog's latest is the newest"
        );
    }
}

async fn a_tailing_reader_sees_every_event_of_concurrent_writers(store: Arc<dyn RunStorage>) {
    tail_while_writing(&[store]).await;
}

async fn a_tailing_reader_sees_every_event_written_by_two_processes(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    tail_while_writing(&[first, second]).await;
}

/// One writer appends large batches, another single events, to the same run, while a reader
/// pages through the log with `after` as a UI tailing it would.
async fn tail_while_writing(stores: &[Arc<dyn RunStorage>]) {
    let run = run_in(stores[0].as_ref(), RunStatus::Started).await.id;
    let batches = {
        let store = stores[0].clone();
        tokio::spawn(async move {
            for b in 0..20 {
                let batch: Vec<_> = (0..300).map(|n| log(b * 1000 + n)).collect();
                store.append_events(run, &batch).await.unwrap();
            }
        })
    };
    let singles = {
        let store = stores[stores.len() - 1].clone();
        tokio::spawn(async move {
            for n in 0..100 {
                store.append_events(run, &[log(100_000 + n)]).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        })
    };
    let writers = async move {
        batches.await.unwrap();
        singles.await.unwrap();
    };
    tokio::pin!(writers);

    let reader = stores[stores.len() - 1].as_ref();
    let mut seen = Vec::new();
    let mut after = None;
    let mut writers_done = false;
    loop {
        let page = reader.list_events(run, after, 100).await.unwrap();
        if let Some(last) = page.last() {
            after = Some(last.id);
            seen.extend(page);
        } else if writers_done {
            break;
        } else {
            tokio::select! {
                () = &mut writers => writers_done = true,
                () = tokio::time::sleep(std::time::Duration::from_millis(1)) => {}
            }
        }
    }
    let all = events_of(stores[0].as_ref(), run).await;
    assert_eq!(all.len(), 2 + 20 * 300 + 100);
    let seen_ids: HashSet<i64> = seen.iter().map(|e| e.id).collect();
    let missed = all.iter().filter(|e| !seen_ids.contains(&e.id)).count();
    assert_eq!(
        missed,
        0,
        "the tailing reader never saw {missed} of {} events",
        all.len()
    );
    assert_eq!(seen, all);
}

async fn batches_materializing_shared_assets_in_any_order_all_commit(store: Arc<dyn RunStorage>) {
    const WRITERS: usize = 4;
    const BATCHES: usize = 25;
    let assets = ["alpha", "beta", "gamma"];
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let store = store.clone();
        let run = run_in(store.as_ref(), RunStatus::Started).await.id;
        writers.push(tokio::spawn(async move {
            for b in 0..BATCHES {
                // Each writer walks the assets in its own rotation and direction.
                let mut order: Vec<&str> = assets.to_vec();
                order.rotate_left((w + b) % assets.len());
                if w % 2 == 1 {
                    order.reverse();
                }
                let batch: Vec<_> = order
                    .iter()
                    .map(|a| materialization(a, b as i64, json!({"writer": w, "batch": b})))
                    .collect();
                store
                    .append_events(run, &batch)
                    .await
                    .map_err(|e| format!("writer {w} batch {b}: {e}"))?;
            }
            Ok::<(), String>(())
        }));
    }
    let mut failures = Vec::new();
    for writer in writers {
        if let Err(e) = writer.await.unwrap() {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "appends failed: {failures:#?}");
    for asset in store.list_assets().await.unwrap() {
        let newest = store.asset_history(&asset.key, None, 1).await.unwrap();
        assert_eq!(newest, [asset.latest]);
    }
}
