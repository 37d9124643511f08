//! The freshness evaluator with a chosen clock on both backends: an asset with a max-lag policy
//! goes FRESH → WARN → OVERDUE and back to FRESH when it materializes, each change recorded once
//! however many replicas judge at the same instant; a never-materialized asset is UNKNOWN; the
//! pass says when the next verdict is due.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use orchestrator::daemon::FreshnessEvaluator;
use orchestrator::definitions::{AssetDef, AssetOutput, Definitions, FreshnessPolicy, JobDef};
use orchestrator::domain::{
    AssetKey, EventKind, FreshnessState, JobName, NewEvent, NewRun, RunStatus,
};
use orchestrator::storage::RunStorage;
use serde_json::{Map, json};

use crate::support;

support::both_backends!(max_lag_warns_then_goes_overdue_then_recovers_once_per_change,);

fn definitions() -> Definitions {
    let policy = FreshnessPolicy::max_lag(
        Duration::from_secs(7 * 3600),
        Some(Duration::from_secs(6 * 3600)),
    )
    .unwrap();
    let watched = AssetDef::builder("daily")
        .freshness(policy)
        .compute(|_| async { Ok(AssetOutput::default()) })
        .unwrap();
    let never = AssetDef::builder("never")
        .freshness(FreshnessPolicy::max_lag(Duration::from_secs(60), None).unwrap())
        .compute(|_| async { Ok(AssetOutput::default()) })
        .unwrap();
    let plain = AssetDef::builder("plain")
        .compute(|_| async { Ok(AssetOutput::default()) })
        .unwrap();
    let job = JobDef::new("job", "", vec![watched, never, plain], Map::new()).unwrap();
    Definitions::new(vec![job]).unwrap()
}

/// Materializes `daily` in a finished run; returns the materialization's time.
async fn materialize(store: &dyn RunStorage) -> DateTime<Utc> {
    let run = store
        .create_run(&NewRun::in_process(
            JobName::parse("job").unwrap(),
            json!({}),
            Default::default(),
        ))
        .await
        .unwrap();
    store
        .transition_run(run.id, RunStatus::Started, None)
        .await
        .unwrap();
    let key = AssetKey::parse("daily").unwrap();
    store
        .append_events(
            run.id,
            &[NewEvent::step(
                &key,
                EventKind::AssetMaterialization {
                    asset_key: key.clone(),
                    metadata: Default::default(),
                },
            )],
        )
        .await
        .unwrap();
    let assets = store.list_assets().await.unwrap();
    assets
        .iter()
        .find(|a| a.key == key)
        .unwrap()
        .latest
        .timestamp
}

async fn max_lag_warns_then_goes_overdue_then_recovers_once_per_change(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    let defs = definitions();
    let one = FreshnessEvaluator::new(first.clone(), &defs);
    let two = FreshnessEvaluator::new(second.clone(), &defs);
    assert_eq!(one.watched(), 2, "plain has no policy");
    let t0 = materialize(first.as_ref()).await;
    let hours = |h: i64| t0 + TimeDelta::hours(h);

    // Both replicas judge each instant; each change is recorded by exactly one of them.
    let mut seen = Vec::new();
    // The first pass also says the next verdict is due at the warning, 6 h after materializing
    // (`never`, UNKNOWN, changes only when it materializes).
    let first_pass = one.tick_once(hours(1)).await.unwrap();
    assert_eq!(first_pass.next_change, Some(hours(6)));
    seen.extend(first_pass.changed);
    for now in [hours(1), hours(6), hours(6), hours(7), hours(8)] {
        let (a, b) = tokio::join!(one.tick_once(now), two.tick_once(now));
        let (a, b) = (a.unwrap(), b.unwrap());
        seen.extend(a.changed.into_iter().chain(b.changed));
    }
    let daily = AssetKey::parse("daily").unwrap();
    let never = AssetKey::parse("never").unwrap();
    seen.sort_by_key(|(k, s)| (k.clone(), *s));
    assert_eq!(
        seen,
        vec![
            (daily.clone(), FreshnessState::Fresh),
            (daily.clone(), FreshnessState::Warn),
            (daily.clone(), FreshnessState::Overdue),
            (never.clone(), FreshnessState::Unknown),
        ]
    );
    let pass = one.tick_once(hours(9)).await.unwrap();
    assert_eq!(pass.changed, vec![]);
    assert_eq!(
        pass.next_change, None,
        "overdue: only a materialization changes it"
    );

    // A new materialization makes it fresh again at the next pass.
    let t1 = materialize(second.as_ref()).await;
    let pass = two.tick_once(t1 + TimeDelta::minutes(1)).await.unwrap();
    assert_eq!(pass.changed, vec![(daily.clone(), FreshnessState::Fresh)]);
    assert_eq!(pass.next_change, Some(t1 + TimeDelta::hours(6)));

    let history = first
        .list_freshness_changes(Some(&daily), None, 0)
        .await
        .unwrap();
    let states: Vec<_> = history.iter().map(|c| (c.previous, c.state)).collect();
    assert_eq!(
        states,
        vec![
            (Some(FreshnessState::Overdue), FreshnessState::Fresh),
            (Some(FreshnessState::Warn), FreshnessState::Overdue),
            (Some(FreshnessState::Fresh), FreshnessState::Warn),
            (None, FreshnessState::Fresh),
        ],
        "newest first"
    );
    assert!(
        history[1].reason.starts_with("last materialized 7h"),
        "{}",
        history[1].reason
    );
    let all = first.list_freshness_changes(None, None, 0).await.unwrap();
    assert_eq!(all.len(), 5);
    let page = first
        .list_freshness_changes(None, Some(all[1].id), 2)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![all[2].id, all[3].id]
    );
    let now = first.list_freshness().await.unwrap();
    assert_eq!(
        now.iter()
            .map(|f| (f.asset_key.clone(), f.state))
            .collect::<Vec<_>>(),
        vec![
            (daily, FreshnessState::Fresh),
            (never, FreshnessState::Unknown)
        ]
    );
}
