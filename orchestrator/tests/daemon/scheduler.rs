//! The scheduler loop: two replicas launch each tick once; catch-up after downtime follows the
//! schedule's policy; a switched-off schedule launches nothing and a switch wakes the loop; a
//! tick that cannot launch is recorded as FAILURE with the reason.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use orchestrator::daemon::scheduler::{Pass, Scheduler, SchedulerOptions};
use orchestrator::definitions::{CatchUp, ScheduleDef};
use orchestrator::domain::{NewRun, RunStatus, ScheduleSwitch, TagKey, TickStatus, tick_tag_value};
use orchestrator::storage::RunStorage;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::{self, definitions, name, runs_of, ticks, utc};

support::both_backends!(
    two_schedulers_launch_each_tick_of_a_seconds_schedule_exactly_once,
    a_switched_off_schedule_launches_nothing_and_a_switch_wakes_the_loop,
    missed_ticks_are_skipped_and_the_tick_on_time_runs,
    catch_up_latest_runs_only_the_newest_missed_tick,
    after_a_long_downtime_only_the_latest_skipped_ticks_are_recorded,
    a_tick_of_an_unknown_job_or_a_refused_config_is_recorded_as_failure,
    a_partitioned_schedule_tick_runs_the_partition_that_just_closed,
);

const HOURLY: &str = "0 0 * * * *";

fn schedule(name: &str, cron: &str) -> ScheduleDef {
    ScheduleDef::builder(name, "job", cron).build().unwrap()
}

fn scheduler(store: Arc<dyn RunStorage>, schedules: Vec<ScheduleDef>) -> Scheduler {
    Scheduler::new(store, definitions(), schedules, SchedulerOptions::default())
}

/// Records `tick` of `schedule` as launched, as a scheduler running before the downtime did.
async fn seed_tick(store: &dyn RunStorage, schedule: &str, tick: DateTime<Utc>) {
    let name = name(schedule);
    let run = NewRun::for_tick(
        orchestrator::domain::JobName::parse("job").unwrap(),
        json!({"limit": 10}),
        Default::default(),
        &name,
        tick,
    );
    assert!(
        store
            .record_tick_run(&name, tick, &run)
            .await
            .unwrap()
            .is_some()
    );
}

/// The ticks of `schedule` as (time, status), oldest first.
async fn statuses(store: &dyn RunStorage, schedule: &str) -> Vec<(DateTime<Utc>, TickStatus)> {
    ticks(store, schedule)
        .await
        .iter()
        .map(|t| (t.tick_time, t.status))
        .collect()
}

/// Starts `scheduler.run` in a task; cancel the token to stop it.
fn spawn(scheduler: Scheduler) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(scheduler.run(shutdown.clone()));
    (shutdown, task)
}

async fn two_schedulers_launch_each_tick_of_a_seconds_schedule_exactly_once(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    let every_second = schedule("every_second", "* * * * * *");
    let (stop_a, a) = spawn(scheduler(first.clone(), vec![every_second.clone()]));
    let (stop_b, b) = spawn(scheduler(second.clone(), vec![every_second]));
    tokio::time::sleep(Duration::from_millis(5_500)).await;
    stop_a.cancel();
    stop_b.cancel();
    a.await.unwrap();
    b.await.unwrap();

    let ticks = ticks(first.as_ref(), "every_second").await;
    assert!(ticks.len() >= 4, "{} ticks in 5.5 s", ticks.len());
    assert!(
        ticks.iter().all(|t| t.status == TickStatus::Success),
        "{ticks:?}"
    );
    for pair in ticks.windows(2) {
        assert_eq!(
            pair[1].tick_time - pair[0].tick_time,
            TimeDelta::seconds(1),
            "no tick missed: {ticks:?}"
        );
    }
    let runs = runs_of(second.as_ref(), "every_second").await;
    assert_eq!(runs.len(), ticks.len(), "one run per tick, no more");
    let tick_tag = TagKey::parse("tick").unwrap();
    let tagged: BTreeSet<&str> = runs.iter().map(|r| r.tags[&tick_tag].as_str()).collect();
    assert_eq!(tagged.len(), runs.len(), "each run has its own tick");
    for (tick, run) in ticks.iter().zip(&runs) {
        assert_eq!(tick.run_id, Some(run.id));
        assert_eq!(run.tags[&tick_tag], tick_tag_value(tick.tick_time));
        assert_eq!(run.status, RunStatus::Queued);
        assert_eq!(run.launched_by.as_deref(), Some("schedule:every_second"));
        let late = run.created_at - tick.tick_time;
        assert!(
            late < TimeDelta::seconds(1),
            "run of tick {} created {late} late",
            tick.tick_time
        );
    }
}

async fn a_switched_off_schedule_launches_nothing_and_a_switch_wakes_the_loop(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    let every_second = ScheduleDef::builder("every_second", "job", "* * * * * *")
        .default_switch(ScheduleSwitch::Off)
        .build()
        .unwrap();
    let (stop, task) = spawn(scheduler(first.clone(), vec![every_second]));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(ticks(first.as_ref(), "every_second").await.is_empty());

    // Switched by another process: a notification on PostgreSQL, the fallback poll on SQLite.
    let on = second
        .switch_schedule(&name("every_second"), ScheduleSwitch::On)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let launched = ticks(first.as_ref(), "every_second").await;
    assert!(
        !launched.is_empty(),
        "nothing launched 2.5 s after the switch"
    );
    assert!(launched.iter().all(|t| t.tick_time > on.updated_at));

    let off = second
        .switch_schedule(&name("every_second"), ScheduleSwitch::Off)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    stop.cancel();
    task.await.unwrap();
    let after_off: Vec<_> = ticks(first.as_ref(), "every_second")
        .await
        .into_iter()
        .filter(|t| t.tick_time > off.updated_at + TimeDelta::seconds(1))
        .collect();
    assert!(
        after_off.is_empty(),
        "launched after the switch off: {after_off:?}"
    );
    assert_eq!(
        runs_of(first.as_ref(), "every_second").await.len(),
        ticks(first.as_ref(), "every_second").await.len()
    );
}

async fn missed_ticks_are_skipped_and_the_tick_on_time_runs(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    seed_tick(first.as_ref(), "hourly", utc("2026-05-01T05:00:00Z")).await;
    let mut replica = scheduler(first.clone(), vec![schedule("hourly", HOURLY)]);

    let pass = replica
        .tick_once(utc("2026-05-01T10:00:05Z"))
        .await
        .unwrap();
    assert_eq!(
        pass,
        Pass {
            launched: 1,
            skipped: 4,
            failed: 0,
            next_tick: Some(utc("2026-05-01T11:00:00Z")),
        }
    );
    use TickStatus::*;
    assert_eq!(
        statuses(first.as_ref(), "hourly").await,
        [
            (utc("2026-05-01T05:00:00Z"), Success),
            (utc("2026-05-01T06:00:00Z"), Skipped),
            (utc("2026-05-01T07:00:00Z"), Skipped),
            (utc("2026-05-01T08:00:00Z"), Skipped),
            (utc("2026-05-01T09:00:00Z"), Skipped),
            (utc("2026-05-01T10:00:00Z"), Success),
        ]
    );
    let runs = runs_of(first.as_ref(), "hourly").await;
    assert_eq!(runs.len(), 2);
    let latest = &runs[1];
    assert_eq!(
        latest.tags[&TagKey::parse("tick").unwrap()],
        "2026-05-01T10:00:00Z"
    );
    assert_eq!(latest.config, json!({"limit": 10}));

    // Nothing twice: not from this replica, not from another one starting now.
    let again = replica
        .tick_once(utc("2026-05-01T10:00:30Z"))
        .await
        .unwrap();
    assert_eq!((again.launched, again.skipped), (0, 0));
    let mut other = scheduler(second.clone(), vec![schedule("hourly", HOURLY)]);
    let fresh = other.tick_once(utc("2026-05-01T10:00:40Z")).await.unwrap();
    assert_eq!((fresh.launched, fresh.skipped), (0, 0));
    assert_eq!(ticks(second.as_ref(), "hourly").await.len(), 6);
}

async fn catch_up_latest_runs_only_the_newest_missed_tick(
    first: Arc<dyn RunStorage>,
    _second: Arc<dyn RunStorage>,
) {
    seed_tick(first.as_ref(), "hourly", utc("2026-05-01T05:00:00Z")).await;
    let latest = ScheduleDef::builder("hourly", "job", HOURLY)
        .catch_up(CatchUp::Latest)
        .build()
        .unwrap();
    let mut replica = scheduler(first.clone(), vec![latest]);

    let pass = replica
        .tick_once(utc("2026-05-01T10:30:00Z"))
        .await
        .unwrap();
    assert_eq!((pass.launched, pass.skipped), (1, 4));
    use TickStatus::*;
    assert_eq!(
        statuses(first.as_ref(), "hourly").await,
        [
            (utc("2026-05-01T05:00:00Z"), Success),
            (utc("2026-05-01T06:00:00Z"), Skipped),
            (utc("2026-05-01T07:00:00Z"), Skipped),
            (utc("2026-05-01T08:00:00Z"), Skipped),
            (utc("2026-05-01T09:00:00Z"), Skipped),
            (utc("2026-05-01T10:00:00Z"), Success),
        ]
    );
}

async fn after_a_long_downtime_only_the_latest_skipped_ticks_are_recorded(
    first: Arc<dyn RunStorage>,
    _second: Arc<dyn RunStorage>,
) {
    seed_tick(first.as_ref(), "hourly", utc("2026-04-30T00:00:00Z")).await;
    let mut replica = Scheduler::new(
        first.clone(),
        definitions(),
        vec![schedule("hourly", HOURLY)],
        SchedulerOptions {
            max_skipped: 2,
            ..SchedulerOptions::default()
        },
    );
    // 34 ticks missed (2026-04-30T01:00 … 2026-05-01T10:00).
    let pass = replica
        .tick_once(utc("2026-05-01T10:30:00Z"))
        .await
        .unwrap();
    assert_eq!((pass.launched, pass.skipped), (0, 2));
    use TickStatus::*;
    assert_eq!(
        statuses(first.as_ref(), "hourly").await,
        [
            (utc("2026-04-30T00:00:00Z"), Success),
            (utc("2026-05-01T09:00:00Z"), Skipped),
            (utc("2026-05-01T10:00:00Z"), Skipped),
        ]
    );
    assert_eq!(pass.next_tick, Some(utc("2026-05-01T11:00:00Z")));
}

async fn a_tick_of_an_unknown_job_or_a_refused_config_is_recorded_as_failure(
    first: Arc<dyn RunStorage>,
    _second: Arc<dyn RunStorage>,
) {
    let schedules = vec![
        // The scheduler is handed schedules checked against other definitions than its own
        // (a job removed since): it must not panic.
        ScheduleDef::builder("orphan", "gone", HOURLY)
            .build()
            .unwrap(),
        ScheduleDef::builder("unknown_key", "job", HOURLY)
            .config("nope", 1)
            .build()
            .unwrap(),
        ScheduleDef::builder("wrong_type", "job", HOURLY)
            .config("limit", "ten")
            .build()
            .unwrap(),
    ];
    let mut replica = scheduler(first.clone(), schedules);
    // First seen just before the hour, then the hour comes.
    let first_pass = replica
        .tick_once(utc("2026-05-01T09:59:59Z"))
        .await
        .unwrap();
    assert_eq!(first_pass.next_tick, Some(utc("2026-05-01T10:00:00Z")));
    let pass = replica
        .tick_once(utc("2026-05-01T10:00:01Z"))
        .await
        .unwrap();
    assert_eq!((pass.launched, pass.failed), (0, 3));

    for (schedule, reason) in [
        ("orphan", "job 'gone' is not defined in this build"),
        (
            "unknown_key",
            "run config refused: job 'job' has no config key 'nope' (known keys: limit)",
        ),
        (
            "wrong_type",
            "run config refused: job 'job': config key 'limit' must be a number, not a string",
        ),
    ] {
        let ticks = ticks(first.as_ref(), schedule).await;
        assert_eq!(ticks.len(), 1, "{schedule}");
        assert_eq!(ticks[0].status, TickStatus::Failure);
        assert_eq!(ticks[0].tick_time, utc("2026-05-01T10:00:00Z"));
        assert_eq!(ticks[0].error.as_deref(), Some(reason));
        assert!(runs_of(first.as_ref(), schedule).await.is_empty());
    }
}

/// A schedule of a daily-partitioned job: each tick runs the day that just closed, once, even
/// with a second scheduler; a tick before the first day closes fails with the reason.
async fn a_partitioned_schedule_tick_runs_the_partition_that_just_closed(
    first: Arc<dyn RunStorage>,
    second: Arc<dyn RunStorage>,
) {
    use orchestrator::definitions::{AssetDef, AssetOutput, Definitions, JobDef, PartitionsDef};
    let asset = AssetDef::builder("day")
        .compute(|_ctx| async { Ok(AssetOutput::default()) })
        .unwrap();
    let job = JobDef::new("daily", "daily", vec![asset], Default::default())
        .unwrap()
        .with_partitions(PartitionsDef::daily("2026-05-01", "Europe/Paris").unwrap())
        .unwrap();
    let definitions = Arc::new(Definitions::new(vec![job]).unwrap());
    // 01:00 in Paris each day (23:00 UTC the evening before, in summer time).
    let schedules = vec![
        ScheduleDef::builder("nightly", "daily", "0 0 1 * * *")
            .timezone("Europe/Paris")
            .build()
            .unwrap(),
    ];
    let make = |store: Arc<dyn RunStorage>| {
        Scheduler::new(
            store,
            definitions.clone(),
            schedules.clone(),
            SchedulerOptions::default(),
        )
    };
    let mut replica = make(first.clone());
    // Started just before the first tick: the schedule's cursor begins here.
    replica
        .tick_once(utc("2026-04-30T22:59:00Z"))
        .await
        .unwrap();
    // The first tick (2026-05-01 01:00 Paris): no day has closed yet.
    replica
        .tick_once(utc("2026-04-30T23:00:05Z"))
        .await
        .unwrap();
    assert_eq!(
        statuses(first.as_ref(), "nightly").await,
        [(utc("2026-04-30T23:00:00Z"), TickStatus::Failure)]
    );
    let pass = replica
        .tick_once(utc("2026-05-01T23:00:05Z"))
        .await
        .unwrap();
    assert_eq!(pass.launched, 1);
    let mut other = make(second.clone());
    assert_eq!(
        other
            .tick_once(utc("2026-05-01T23:00:10Z"))
            .await
            .unwrap()
            .launched,
        0
    );
    let runs = runs_of(first.as_ref(), "nightly").await;
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].partition_key(), Some("2026-05-01"));
    assert_eq!(
        runs[0].tags[&TagKey::parse("orch/partition").unwrap()],
        "2026-05-01"
    );
    let pass = replica
        .tick_once(utc("2026-05-02T23:00:05Z"))
        .await
        .unwrap();
    assert_eq!(pass.launched, 1);
    let runs = runs_of(first.as_ref(), "nightly").await;
    assert_eq!(runs[1].partition_key(), Some("2026-05-02"));
}
