//! The asset catalog: each materialization becomes the asset's latest (unless a newer one is
//! recorded), history lists them newest first in pages, and metadata survives as given.

use std::sync::Arc;

use orchestrator::domain::{EventKind, Materialization, Metadata, NewEvent, RunId, RunStatus};
use orchestrator::storage::RunStorage;
use serde_json::{Value, json};

use crate::support::{self, events_of, key, log, materialization, run_in};

support::storage_tests!(
    materializations_fill_the_catalog,
    a_later_materialization_replaces_the_latest,
    asset_history_is_newest_first_in_pages,
    metadata_round_trips_exactly,
);

/// The stored materializations of `run`, as the catalog should report them.
async fn materializations_of(store: &dyn RunStorage, run: RunId) -> Vec<Materialization> {
    events_of(store, run)
        .await
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::AssetMaterialization {
                asset_key,
                metadata,
            } => Some(Materialization {
                asset_key,
                run_id: e.run_id,
                event_id: e.id,
                timestamp: e.timestamp,
                metadata,
            }),
            _ => None,
        })
        .collect()
}

fn metadata(value: Value) -> Metadata {
    serde_json::from_value(value).unwrap()
}

async fn materializations_fill_the_catalog(store: Arc<dyn RunStorage>) {
    assert!(store.list_assets().await.unwrap().is_empty());
    let run = run_in(store.as_ref(), RunStatus::Started).await;
    store
        .append_events(
            run.id,
            &[
                log(1),
                materialization(
                    "products",
                    2,
                    json!({"uri": "s3://bucket/products.json", "count": 20}),
                ),
                log(3),
                materialization("customers", 4, json!({"count": 7})),
            ],
        )
        .await
        .unwrap();

    let assets = store.list_assets().await.unwrap();
    let stored = materializations_of(store.as_ref(), run.id).await;
    let keys: Vec<&str> = assets.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["customers", "products"], "by key");
    assert_eq!(assets[0].latest, stored[1]);
    assert_eq!(assets[1].latest, stored[0]);
    assert_eq!(assets[1].latest.run_id, run.id);
    assert_eq!(
        assets[1].latest.metadata,
        metadata(json!({"uri": "s3://bucket/products.json", "count": 20}))
    );
    assert!(assets.iter().all(|a| a.key == a.latest.asset_key));
}

async fn a_later_materialization_replaces_the_latest(store: Arc<dyn RunStorage>) {
    let first = run_in(store.as_ref(), RunStatus::Started).await;
    let second = run_in(store.as_ref(), RunStatus::Started).await;
    store
        .append_events(
            first.id,
            &[
                materialization("orders", 1, json!({"v": 1})),
                materialization("users", 2, json!({"v": 1})),
            ],
        )
        .await
        .unwrap();
    let users_before = store.list_assets().await.unwrap()[1].clone();

    store
        .append_events(second.id, &[materialization("orders", 3, json!({"v": 2}))])
        .await
        .unwrap();
    let assets = store.list_assets().await.unwrap();
    assert_eq!(assets.len(), 2);
    assert_eq!(
        assets[0].latest,
        materializations_of(store.as_ref(), second.id).await[0]
    );
    assert_eq!(assets[0].latest.metadata, metadata(json!({"v": 2})));
    assert_eq!(assets[1], users_before, "other assets are untouched");

    // Within one batch the last materialization wins, even with a later timestamp earlier on.
    store
        .append_events(
            first.id,
            &[
                materialization("orders", 99, json!({"v": 3})),
                log(5),
                materialization("orders", 4, json!({"v": 4})),
            ],
        )
        .await
        .unwrap();
    let latest = store.list_assets().await.unwrap()[0].latest.clone();
    assert_eq!(
        (latest.run_id, latest.metadata),
        (first.id, metadata(json!({"v": 4})))
    );
    assert_eq!(
        Some(&latest.event_id),
        events_of(store.as_ref(), first.id)
            .await
            .iter()
            .map(|e| &e.id)
            .max()
    );
}

async fn asset_history_is_newest_first_in_pages(store: Arc<dyn RunStorage>) {
    let runs = [
        run_in(store.as_ref(), RunStatus::Started).await,
        run_in(store.as_ref(), RunStatus::Started).await,
    ];
    for n in 0..12 {
        let batch = [
            materialization("orders", n, json!({"n": n})),
            materialization("orders_archive", n, json!({"n": n})),
        ];
        store
            .append_events(runs[n as usize % 2].id, &batch)
            .await
            .unwrap();
    }
    let mut all: Vec<Materialization> = Vec::new();
    for run in &runs {
        all.extend(materializations_of(store.as_ref(), run.id).await);
    }
    all.retain(|m| m.asset_key.as_str() == "orders");
    all.sort_by_key(|m| std::cmp::Reverse(m.event_id));
    assert_eq!(all.len(), 12);

    let orders = key("orders");
    let mut pages: Vec<Vec<Materialization>> = Vec::new();
    let mut before = None;
    loop {
        let page = store.asset_history(&orders, before, 5).await.unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.event_id);
        pages.push(page);
        assert!(pages.len() < 10, "paging does not end");
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [5, 5, 2]);
    assert_eq!(pages.concat(), all);
    assert_eq!(all[0].metadata, metadata(json!({"n": 11})));
    assert_eq!(store.list_assets().await.unwrap()[0].latest, all[0]);

    assert!(
        store
            .asset_history(&key("never_built"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn metadata_round_trips_exactly(store: Arc<dyn RunStorage>) {
    let run = run_in(store.as_ref(), RunStatus::Started).await;
    let rich = json!({
        "uri": "s3://my-bucket/path with spaces/ünï.json",
        "quote": "she said \"hi\"\\n and left\n\ttab",
        "emoji": "😀 ✓ 中文",
        "count": 42,
        "negative": -9_223_372_036_854_775_808_i64,
        "huge": u64::MAX,
        "ratio": 0.1,
        "tiny": 1.5e-7,
        "float_whole": 3.0,
        "yes": true,
        "nothing": null,
        "empty_string": "",
        "list": [1, "two", [3.5, {"four": null}], {}],
        "nested": {"schema": {"columns": [{"name": "id", "type": "int"}], "primary_key": ["id"]}},
    });
    let event = materialization("rich", 1, rich.clone());
    store
        .append_events(run.id, std::slice::from_ref(&event))
        .await
        .unwrap();

    let expected = metadata(rich);
    let latest = store.list_assets().await.unwrap().remove(0).latest;
    assert_eq!(latest.metadata, expected);
    let history = store.asset_history(&key("rich"), None, 10).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0], latest);
    let NewEvent { timestamp, .. } = event;
    assert_eq!(latest.timestamp, timestamp);
}
