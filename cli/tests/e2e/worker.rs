//! `orch worker --run-id`: executes a STARTING run as a launcher would start it, heartbeats,
//! and stops the run on SIGTERM or when the run becomes CANCELING; refuses runs it cannot
//! execute.

use std::time::{Duration, Instant};

use orchestrator::domain::{JobName, NewRun, RunId, RunStatus, Tags};
use orchestrator::storage::RunStorage;
use serde_json::{Value, json};

use crate::support::{
    JOB, Orch, Route, SLOW_DELAY, STEPS, TestDb, Upstream, events, events_of, eventually, init,
    steps_with,
};

/// A STARTING run of the job reading `source_url`, created as the daemon's claim leaves it.
pub async fn starting_run(store: &dyn RunStorage, source_url: &str) -> RunId {
    let config = json!({"source_url": source_url, "timeout_seconds": 30});
    let new = NewRun::in_process(JobName::parse(JOB).unwrap(), config, Tags::new());
    store.create_run(&new).await.unwrap().id
}

/// Whether the run has recorded the start of `step`.
async fn step_started(store: &dyn RunStorage, run: RunId, step: &str) -> bool {
    store
        .list_events(run, None, 1000)
        .await
        .unwrap()
        .iter()
        .any(|e| {
            e.kind.type_name() == "STEP_START" && e.step.as_ref().map(|s| s.as_str()) == Some(step)
        })
}

/// Run-level events as `TYPE` or `TYPE: message`.
fn run_events(run: &Value) -> Vec<String> {
    events(run)
        .iter()
        .filter(|e| e["step"].is_null())
        .map(|e| match e["message"].as_str() {
            Some(m) => format!("{}: {m}", e["type"].as_str().unwrap()),
            None => e["type"].as_str().unwrap().to_owned(),
        })
        .collect()
}

/// Asserts the run was canceled while `fetch_data` was in flight: that step canceled, no later
/// step started, CANCELED last.
#[track_caller]
fn assert_canceled_mid_fetch(run: &Value) {
    assert_eq!(run["status"], "CANCELED", "{run:#}");
    assert_eq!(steps_with(run, "STEP_START"), ["fetch_data"], "{run:#}");
    assert_eq!(steps_with(run, "STEP_CANCELED"), ["fetch_data"], "{run:#}");
    assert!(events_of(run, "STEP_SUCCESS", None).is_empty(), "{run:#}");
    assert_eq!(
        events(run).last().map(|e| &e["type"]),
        Some(&Value::from("RUN_CANCELED")),
        "{run:#}"
    );
}

#[tokio::test]
async fn worker_executes_a_starting_run_to_success_and_heartbeats() {
    init();
    let upstream = Upstream::start().await;
    let db = TestDb::create().await;
    let orch = Orch::local()
        .on_postgres(&db)
        .env("ORCH_HEARTBEAT_INTERVAL", "100ms");
    let store = orch.store().await;
    let id = starting_run(store.as_ref(), &upstream.url(Route::Posts)).await;

    let out = orch.run(&["worker", "--run-id", &id.to_string()]).await;

    out.assert_exit(0)
        .assert_says(&[&format!("run {id} SUCCESS")]);
    let run = orch.show(&id.to_string()).await;
    assert_eq!(run["status"], "SUCCESS", "{run:#}");
    assert_eq!(steps_with(&run, "STEP_SUCCESS"), STEPS);
    assert_eq!(upstream.hits(Route::Posts), 1);
    let stored = store.get_run(id).await.unwrap();
    let beat = stored.heartbeat_at.expect("the worker heartbeat");
    assert!(beat >= stored.started_at.unwrap() - chrono::Duration::seconds(1));
    drop(store);
    db.drop_database().await;
}

#[tokio::test]
async fn sigterm_mid_step_cancels_the_step_and_the_run() {
    init();
    let upstream = Upstream::start().await;
    let db = TestDb::create().await;
    let orch = Orch::local().on_postgres(&db);
    let store = orch.store().await;
    let id = starting_run(store.as_ref(), &upstream.url(Route::Slow)).await;

    let worker = orch.start(&["worker", "--run-id", &id.to_string()]);
    eventually("fetch_data's request", Duration::from_secs(20), || async {
        upstream.hits(Route::Slow) == 1 && step_started(store.as_ref(), id, "fetch_data").await
    })
    .await;
    let sent = Instant::now();
    worker.signal("TERM");
    let out = worker.wait(Duration::from_secs(20)).await;

    out.assert_exit(1)
        .assert_says(&[&format!("run {id} CANCELED")]);
    assert!(
        sent.elapsed() < SLOW_DELAY,
        "the worker stopped the step instead of waiting for the slow upstream ({:?})",
        sent.elapsed()
    );
    let run = orch.show(&id.to_string()).await;
    assert_canceled_mid_fetch(&run);
    assert_eq!(
        run_events(&run),
        [
            "RUN_STARTING",
            "RUN_START",
            "RUN_CANCELING: worker received SIGTERM",
            "RUN_CANCELED: worker received SIGTERM",
        ]
    );
    drop(store);
    db.drop_database().await;
}

#[tokio::test]
async fn a_cancel_seen_by_the_heartbeat_stops_the_worker() {
    init();
    let upstream = Upstream::start().await;
    let db = TestDb::create().await;
    let orch = Orch::local()
        .on_postgres(&db)
        .env("ORCH_HEARTBEAT_INTERVAL", "100ms");
    let store = orch.store().await;
    let id = starting_run(store.as_ref(), &upstream.url(Route::Slow)).await;

    let worker = orch.start(&["worker", "--run-id", &id.to_string()]);
    eventually("fetch_data's start", Duration::from_secs(20), || async {
        step_started(store.as_ref(), id, "fetch_data").await
    })
    .await;
    let asked = Instant::now();
    orch.run(&["runs", "cancel", &id.to_string()])
        .await
        .assert_exit(0)
        .assert_says(&["CANCELING"]);
    let out = worker.wait(Duration::from_secs(20)).await;

    out.assert_exit(1);
    assert!(
        asked.elapsed() < SLOW_DELAY,
        "stopped in {:?}",
        asked.elapsed()
    );
    let run = orch.show(&id.to_string()).await;
    assert_canceled_mid_fetch(&run);
    assert_eq!(
        run_events(&run),
        [
            "RUN_STARTING",
            "RUN_START",
            "RUN_CANCELING: canceled with orch runs cancel",
            "RUN_CANCELED: the run was canceled",
        ]
    );
    drop(store);
    db.drop_database().await;
}

#[tokio::test]
async fn worker_refuses_runs_it_cannot_execute_and_changes_nothing() {
    init();
    let orch = Orch::local();
    let store = orch.store().await;
    let unknown = RunId::new().to_string();
    orch.run(&["worker", "--run-id", &unknown])
        .await
        .assert_exit(2)
        .assert_says(&[&format!("run {unknown} not found")]);
    orch.run(&["worker", "--run-id", "not-a-run"])
        .await
        .assert_exit(2)
        .assert_says(&["'not-a-run' is not a run id"]);

    let queued = NewRun::queued(JobName::parse(JOB).unwrap(), json!({}), Tags::new());
    let queued = store.create_run(&queued).await.unwrap();
    orch.run(&["worker", "--run-id", &queued.id.to_string()])
        .await
        .assert_exit(2)
        .assert_says(&["is QUEUED", "only a STARTING run"]);
    let after = store.get_run(queued.id).await.unwrap();
    assert_eq!(after.status, RunStatus::Queued);
    assert_eq!(after.heartbeat_at, None, "no heartbeat either");

    orch.run(&[
        "worker",
        "--run-id",
        &queued.id.to_string(),
        "--heartbeat-interval",
        "0s",
    ])
    .await
    .assert_exit(2)
    .assert_says(&["'0s' is zero"]);
}

#[tokio::test]
async fn the_worker_never_migrates_the_store() {
    use sqlx::Connection;
    init();
    let orch = Orch::local();
    let id = RunId::new().to_string();

    let out = orch.run(&["worker", "--run-id", &id]).await;

    // The daemon that launched it migrates; a worker on an unmigrated store finds no tables.
    out.assert_exit(1).assert_says(&["no such table: runs"]);
    let url = format!("sqlite://{}", orch.home().join("orch.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(tables, 0, "no migration was applied");
}

#[tokio::test]
async fn a_cancel_through_the_daemon_terminates_the_worker_which_records_it() {
    init();
    let upstream = Upstream::start().await;
    let db = TestDb::create().await;
    // The heartbeat is too slow to notice the cancel: only the daemon's SIGTERM can stop it.
    let orch = Orch::local()
        .on_postgres(&db)
        .env("ORCH_MONITOR_INTERVAL", "100ms")
        .env("ORCH_HEARTBEAT_INTERVAL", "1h");
    let store = orch.store().await;
    let queued = NewRun::queued(
        JobName::parse(JOB).unwrap(),
        json!({"source_url": upstream.url(Route::Slow), "timeout_seconds": 30}),
        Tags::new(),
    );
    let id = store.create_run(&queued).await.unwrap().id;
    let mut daemon = orch.spawn(&["daemon"], "daemon.log");
    eventually("fetch_data's request", Duration::from_secs(30), || async {
        upstream.hits(Route::Slow) == 1 && step_started(store.as_ref(), id, "fetch_data").await
    })
    .await;

    let asked = Instant::now();
    orch.run(&["runs", "cancel", &id.to_string()])
        .await
        .assert_exit(0)
        .assert_says(&["CANCELING"]);
    eventually("the end of the run", Duration::from_secs(20), || async {
        store.get_run(id).await.unwrap().status.is_terminal()
    })
    .await;

    assert!(
        asked.elapsed() < SLOW_DELAY,
        "stopped in {:?}",
        asked.elapsed()
    );
    let run = orch.show(&id.to_string()).await;
    assert_canceled_mid_fetch(&run);
    assert_eq!(
        run_events(&run),
        [
            "RUN_ENQUEUED",
            "RUN_STARTING",
            "RUN_START",
            "RUN_CANCELING: canceled with orch runs cancel",
            "RUN_CANCELED: worker received SIGTERM",
        ],
        "the worker itself recorded the end\n{}",
        orch.log("daemon.log")
    );
    daemon.kill().await.unwrap();
    drop(store);
    db.drop_database().await;
}

#[tokio::test]
async fn orch_run_heartbeats_and_ctrl_c_cancels_its_run() {
    init();
    let upstream = Upstream::start().await;
    let orch = Orch::local().env("ORCH_HEARTBEAT_INTERVAL", "100ms");
    let source = format!("source_url={}", upstream.url(Route::Slow));
    let running = orch.start(&["run", JOB, "--config", &source]);
    let store = orch.store().await;
    eventually(
        "a heartbeat of the in-process run",
        Duration::from_secs(20),
        || async {
            let runs = store.list_runs(&Default::default()).await.unwrap();
            upstream.hits(Route::Slow) == 1
                && runs.first().is_some_and(|r| r.heartbeat_at.is_some())
        },
    )
    .await;
    let id = store.list_runs(&Default::default()).await.unwrap()[0].id;
    running.signal("INT");
    let out = running.wait(Duration::from_secs(20)).await;

    out.assert_exit(1)
        .assert_says(&[&format!("run {id} CANCELED")]);
    let run = orch.show(&id.to_string()).await;
    assert_canceled_mid_fetch(&run);
    assert!(
        run_events(&run).contains(&"RUN_CANCELED: worker received SIGINT".to_owned()),
        "{run:#}"
    );
}
