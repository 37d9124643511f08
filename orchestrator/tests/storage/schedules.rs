//! Schedule storage: on/off state that persists and is announced, ticks recorded exactly once
//! (with their run) however many processes race for them, keyset-paged tick lists, and pruning.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use orchestrator::domain::{
    NewRun, RunFilter, RunStatus, ScheduleName, ScheduleSwitch, TickStatus, tick_tag_value,
};
use orchestrator::storage::{Change, RunStorage};
use serde_json::json;

use crate::support::{self, at, job, tag};

support::storage_tests!(
    a_switch_persists_and_moves_updated_at_only_when_the_state_changes,
    a_switch_is_announced_to_subscribers,
    skipped_and_failed_ticks_are_recorded_once_and_never_get_a_run,
    ticks_list_newest_first_one_schedule_at_a_time_with_keyset_paging,
    prune_ticks_deletes_in_batches_and_keeps_each_schedules_latest_tick,
);

support::two_store_tests!(
    racing_schedulers_record_each_tick_and_its_run_exactly_once,
    a_switch_made_by_one_process_is_read_by_another,
);

fn name(s: &str) -> ScheduleName {
    ScheduleName::parse(s).unwrap()
}

/// The instant `secs` seconds after the suite's base time.
fn tick(secs: i64) -> DateTime<Utc> {
    at(secs * 1000)
}

/// The queued run a scheduler would create for `tick` of `schedule`.
fn tick_run(schedule: &ScheduleName, tick: DateTime<Utc>) -> NewRun {
    NewRun::for_tick(
        job("scheduled"),
        json!({"limit": 1}),
        Default::default(),
        schedule,
        tick,
    )
}

async fn a_switch_persists_and_moves_updated_at_only_when_the_state_changes(
    store: Arc<dyn RunStorage>,
) {
    let hourly = name("hourly");
    assert!(store.list_schedule_states().await.unwrap().is_empty());

    let on = store
        .switch_schedule(&hourly, ScheduleSwitch::On)
        .await
        .unwrap();
    assert!(on.enabled);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let again = store
        .switch_schedule(&hourly, ScheduleSwitch::On)
        .await
        .unwrap();
    assert_eq!(again, on, "switching on what is on changes nothing");

    tokio::time::sleep(Duration::from_millis(5)).await;
    let off = store
        .switch_schedule(&hourly, ScheduleSwitch::Off)
        .await
        .unwrap();
    assert!(!off.enabled);
    assert!(off.updated_at > on.updated_at);

    store
        .switch_schedule(&name("daily"), ScheduleSwitch::On)
        .await
        .unwrap();
    let states = store.list_schedule_states().await.unwrap();
    let listed: Vec<(&str, bool)> = states
        .iter()
        .map(|s| (s.name.as_str(), s.enabled))
        .collect();
    assert_eq!(listed, [("daily", true), ("hourly", false)]);
    assert_eq!(states[1], off);
}

async fn a_switch_is_announced_to_subscribers(store: Arc<dyn RunStorage>) {
    let mut changes = store.subscribe().await;
    // PostgreSQL's listener starts with the first subscription; a switch made before it
    // listens is not heard, so switch until one is.
    for attempt in 0..40 {
        let switch = if attempt % 2 == 0 {
            ScheduleSwitch::On
        } else {
            ScheduleSwitch::Off
        };
        store
            .switch_schedule(&name("hourly"), switch)
            .await
            .unwrap();
        let heard = tokio::time::timeout(Duration::from_millis(500), async {
            loop {
                match changes.recv().await {
                    Some(Change::Schedules) => return true,
                    Some(_) => continue,
                    None => return false,
                }
            }
        })
        .await;
        if heard == Ok(true) {
            return;
        }
    }
    panic!("no Change::Schedules after 40 switches");
}

async fn a_switch_made_by_one_process_is_read_by_another(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    let hourly = name("hourly");
    let off = first
        .switch_schedule(&hourly, ScheduleSwitch::Off)
        .await
        .unwrap();
    assert_eq!(second.list_schedule_states().await.unwrap(), [off]);
}

async fn racing_schedulers_record_each_tick_and_its_run_exactly_once(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    const RACERS: usize = 10;
    const TICKS: i64 = 5;
    let schedule = name("every_second");
    let stores = [first, second];
    for t in 0..TICKS {
        let tick = tick(t);
        let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
        let tasks: Vec<_> = (0..RACERS)
            .map(|i| {
                let store = stores[i % 2].clone();
                let barrier = barrier.clone();
                let schedule = schedule.clone();
                tokio::spawn(async move {
                    let run = tick_run(&schedule, tick);
                    barrier.wait().await;
                    let created = store.record_tick_run(&schedule, tick, &run).await.unwrap();
                    (run.id, created)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (id, created) = task.await.unwrap();
            if let Some(run) = created {
                assert_eq!(run.id, id);
                assert_eq!(run.status, RunStatus::Queued);
                winners.push(id);
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "tick {t}: exactly one racer creates the run"
        );

        let tagged = RunFilter {
            tag: Some((tag("tick"), tick_tag_value(tick))),
            ..RunFilter::default()
        };
        for store in &stores {
            let runs = store.list_runs(&tagged).await.unwrap();
            assert_eq!(runs.len(), 1, "tick {t}: one run in the store");
            assert_eq!(runs[0].id, winners[0]);
            assert_eq!(runs[0].tags[&tag("schedule")], "every_second");
        }
    }
    let ticks = stores[1].list_ticks(&schedule, None, 100).await.unwrap();
    assert_eq!(ticks.len(), TICKS as usize);
    assert!(ticks.iter().all(|t| t.status == TickStatus::Success));
    let all = stores[0].list_runs(&RunFilter::default()).await.unwrap();
    assert_eq!(all.len(), TICKS as usize, "no run beside the winners'");
    for t in &ticks {
        let run = t.run_id.expect("a SUCCESS tick names its run");
        assert!(all.iter().any(|r| r.id == run), "tick {:?}", t.tick_time);
    }
}

async fn skipped_and_failed_ticks_are_recorded_once_and_never_get_a_run(
    store: Arc<dyn RunStorage>,
) {
    let schedule = name("hourly");
    let recorded = store
        .record_skipped_ticks(&schedule, &[tick(1), tick(2), tick(3)])
        .await
        .unwrap();
    assert_eq!(recorded, 3);
    let recorded = store
        .record_skipped_ticks(&schedule, &[tick(2), tick(3), tick(4)])
        .await
        .unwrap();
    assert_eq!(recorded, 1, "only the new tick");
    assert!(
        !store
            .record_failed_tick(&schedule, tick(4), "too late")
            .await
            .unwrap()
    );
    assert!(
        store
            .record_failed_tick(&schedule, tick(5), "job 'gone' is not defined\0")
            .await
            .unwrap()
    );
    let run = tick_run(&schedule, tick(5));
    assert_eq!(
        store
            .record_tick_run(&schedule, tick(5), &run)
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        store.get_run(run.id).await,
        Err(orchestrator::storage::StorageError::RunNotFound(_))
    ));

    let ticks = store.list_ticks(&schedule, None, 0).await.unwrap();
    let seen: Vec<(DateTime<Utc>, TickStatus)> =
        ticks.iter().map(|t| (t.tick_time, t.status)).collect();
    assert_eq!(
        seen,
        [
            (tick(5), TickStatus::Failure),
            (tick(4), TickStatus::Skipped),
            (tick(3), TickStatus::Skipped),
            (tick(2), TickStatus::Skipped),
            (tick(1), TickStatus::Skipped),
        ]
    );
    assert_eq!(
        ticks[0].error.as_deref(),
        Some("job 'gone' is not defined\u{FFFD}")
    );
    assert!(ticks.iter().all(|t| t.run_id.is_none()));

    // A long downtime's worth, more than one statement's chunk.
    let many: Vec<_> = (100..1_300).map(tick).collect();
    assert_eq!(
        store.record_skipped_ticks(&schedule, &many).await.unwrap(),
        1_200
    );
}

async fn ticks_list_newest_first_one_schedule_at_a_time_with_keyset_paging(
    store: Arc<dyn RunStorage>,
) {
    let hourly = name("hourly");
    let other = name("other");
    assert_eq!(store.latest_tick_time(&hourly).await.unwrap(), None);
    // Recorded out of order: listing is by tick time, not insertion.
    for t in [3, 1, 7, 5, 2, 6, 4] {
        store
            .record_tick_run(&hourly, tick(t), &tick_run(&hourly, tick(t)))
            .await
            .unwrap();
    }
    store
        .record_skipped_ticks(&other, &[tick(8), tick(9)])
        .await
        .unwrap();

    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let page = store.list_ticks(&hourly, before, 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        before = page.last().map(|t| t.tick_time);
        pages.push(
            page.iter()
                .map(|t| (t.tick_time - tick(0)).num_seconds())
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(pages, [vec![7, 6, 5], vec![4, 3, 2], vec![1]]);
    assert_eq!(
        store.latest_tick_time(&hourly).await.unwrap(),
        Some(tick(7))
    );
    assert_eq!(store.latest_tick_time(&other).await.unwrap(), Some(tick(9)));
}

async fn prune_ticks_deletes_in_batches_and_keeps_each_schedules_latest_tick(
    store: Arc<dyn RunStorage>,
) {
    let hourly = name("hourly");
    let other = name("other");
    let ticks: Vec<_> = (1..=7).map(tick).collect();
    store.record_skipped_ticks(&hourly, &ticks).await.unwrap();
    store
        .record_skipped_ticks(&other, &[tick(1), tick(2)])
        .await
        .unwrap();

    let long_ago = Utc::now() - TimeDelta::days(1);
    assert_eq!(store.prune_ticks(long_ago, 2).await.unwrap(), 0);

    let soon = Utc::now() + TimeDelta::seconds(1);
    assert_eq!(store.prune_ticks(soon, 2).await.unwrap(), 6 + 1);
    let left: Vec<_> = store
        .list_ticks(&hourly, None, 100)
        .await
        .unwrap()
        .iter()
        .map(|t| t.tick_time)
        .collect();
    assert_eq!(left, [tick(7)]);
    assert_eq!(store.latest_tick_time(&other).await.unwrap(), Some(tick(2)));
    assert_eq!(store.prune_ticks(soon, 2).await.unwrap(), 0);
}
