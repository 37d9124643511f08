//! Daemon registrations and the take-over of a dead replica's claims: only runs STARTING
//! without a worker whose claimer's lease expired are orphans; each is taken by exactly one of
//! two racing replicas; the worker handle is recorded only by the claim's holder.

use std::sync::Arc;
use std::time::Duration;

use orchestrator::domain::{DaemonId, QueueLimits, RunStatus};
use orchestrator::storage::RunStorage;
use serde_json::json;

use crate::support::{self, queued};

support::storage_tests!(
    registrations_beat_and_go,
    each_orphaned_claim_is_taken_over_exactly_once,
    only_the_holder_of_a_claim_records_its_worker,
);

const LEASE: Duration = Duration::from_secs(3);

async fn registrations_beat_and_go(store: Arc<dyn RunStorage>) {
    let id = DaemonId::new();
    assert!(!store.beat_daemon(id).await.unwrap(), "not registered yet");
    store.register_daemon(id, "host-a", 42).await.unwrap();
    let before = store.list_daemons().await.unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!((before[0].host.as_str(), before[0].pid), ("host-a", 42));
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(store.beat_daemon(id).await.unwrap());
    store
        .record_daemon_action(id, "launched run x")
        .await
        .unwrap();
    let after = store.list_daemons().await.unwrap();
    assert!(after[0].heartbeat_at > before[0].heartbeat_at);
    assert_eq!(after[0].last_action.as_deref(), Some("launched run x"));
    store.deregister_daemon(id).await.unwrap();
    assert!(store.list_daemons().await.unwrap().is_empty());
}

async fn each_orphaned_claim_is_taken_over_exactly_once(store: Arc<dyn RunStorage>) {
    let (dead, alive) = (DaemonId::new(), DaemonId::new());
    store.register_daemon(alive, "h", 1).await.unwrap();
    for _ in 0..6 {
        store.create_run(&queued("j")).await.unwrap();
    }
    let limits = |n| QueueLimits {
        max_concurrent_runs: Some(n),
        tag_limits: Vec::new(),
    };
    // Four claimed by a daemon that is gone, two by a live one; one of the dead one's got a
    // worker before it died and is not an orphan.
    let dead_claims = store.claim_queued_runs(&limits(4), dead).await.unwrap();
    let live_claims = store.claim_queued_runs(&limits(6), alive).await.unwrap();
    assert_eq!((dead_claims.len(), live_claims.len()), (4, 2));
    store
        .set_worker(dead_claims[0].id, &json!({"kind": "local", "pid": 1}))
        .await
        .unwrap();
    let orphans = store.orphaned_claims(LEASE).await.unwrap();
    let expected: Vec<_> = dead_claims[1..].iter().map(|r| (r.id, dead)).collect();
    assert_eq!(orphans, expected);

    let (a, b) = (DaemonId::new(), DaemonId::new());
    let mut taken = 0;
    for (run, from) in orphans {
        let (x, y) = tokio::join!(
            store.take_over_claim(run, from, a),
            store.take_over_claim(run, from, b)
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        assert!(
            x.is_some() != y.is_some(),
            "exactly one replica takes {run}"
        );
        let run = x.or(y).unwrap();
        assert_eq!(run.status, RunStatus::Starting);
        taken += 1;
    }
    assert_eq!(taken, 3);
    // The takers are not registered either: their claims are orphans in turn, but the old
    // claimer's name no longer takes them.
    for (run, from) in store.orphaned_claims(LEASE).await.unwrap() {
        assert_ne!(from, dead);
        assert!(
            store
                .take_over_claim(run, dead, alive)
                .await
                .unwrap()
                .is_none()
        );
    }
}

async fn only_the_holder_of_a_claim_records_its_worker(store: Arc<dyn RunStorage>) {
    let (first, second) = (DaemonId::new(), DaemonId::new());
    store.create_run(&queued("j")).await.unwrap();
    let run = store
        .claim_queued_runs(&QueueLimits::default(), first)
        .await
        .unwrap()
        .remove(0);
    assert!(
        store
            .take_over_claim(run.id, first, second)
            .await
            .unwrap()
            .is_some()
    );
    let handle = json!({"kind": "local", "pid": 7});
    assert!(!store.set_worker_as(run.id, &handle, first).await.unwrap());
    assert_eq!(store.get_run(run.id).await.unwrap().worker, None);
    assert!(store.set_worker_as(run.id, &handle, second).await.unwrap());
    assert_eq!(store.get_run(run.id).await.unwrap().worker, Some(handle));
}
