//! The worker riding out a database outage, on a PostgreSQL cluster of the test's own behind a
//! fault proxy: the connection is cut mid-step, the run goes on, its events wait in memory and
//! reach the database in order once it is back; past the buffer's bound the steps pause (a
//! command's output is not read) instead of dropping anything.

use std::sync::Mutex;

use orch_test_support::fault_proxy::FaultProxy;
use orch_test_support::pg_cluster::PgCluster;
use orchestrator::definitions::CommandSpec;
use orchestrator::storage::PgStore;

use super::*;

/// A store on a fresh cluster, through a proxy the test can cut.
struct Outage {
    _cluster: PgCluster,
    proxy: FaultProxy,
    store: Arc<dyn RunStorage>,
    dir: tempfile::TempDir,
}

async fn outage() -> Outage {
    let cluster = PgCluster::start().await.unwrap();
    cluster.create_database("orch").await.unwrap();
    let proxy = FaultProxy::start(cluster.addr().parse().unwrap())
        .await
        .unwrap();
    let options = StoreOptions {
        max_connections: 2,
        migrate: true,
    };
    let url = proxy.url_through(&cluster.url("orch"));
    let store: Arc<dyn RunStorage> = Arc::new(PgStore::connect(&url, &options).await.unwrap());
    store.migrate().await.unwrap();
    Outage {
        _cluster: cluster,
        proxy,
        store,
        dir: tempfile::tempdir().unwrap(),
    }
}

impl Outage {
    fn worker(&self, jobs: Vec<JobDef>) -> Worker {
        let io = IoManager::new(Arc::new(LocalStore::new(self.dir.path().join("storage"))));
        Worker::new(
            self.store.clone(),
            Arc::new(Definitions::new(jobs).unwrap()),
            io,
        )
    }

    async fn run(&self, job: &str) -> RunId {
        let new = NewRun::in_process(
            orchestrator::domain::JobName::parse(job).unwrap(),
            json!({}),
            Tags::new(),
        );
        self.store.create_run(&new).await.unwrap().id
    }
}

/// Every event emitted, in emission order (the observer sees them before any write).
fn recorder() -> (worker::EventObserver, Arc<Mutex<Vec<&'static str>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let observer: worker::EventObserver =
        Arc::new(move |e: &NewEvent| sink.lock().unwrap().push(e.kind.type_name()));
    (observer, seen)
}

/// Waits for what the test can only look at (test-support's one polling wait).
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    orch_test_support::wait::until(what, Duration::from_secs(30), async || done()).await
}

fn assert_in_order(events: &[EventRecord]) {
    assert!(
        events.windows(2).all(|w| w[0].id < w[1].id),
        "event ids do not increase"
    );
}

use orchestrator::domain::NewEvent;

#[tokio::test]
async fn a_cut_mid_step_loses_no_event_and_the_run_succeeds() {
    let o = outage().await;
    let go = Arc::new(tokio::sync::Notify::new());
    let release = go.clone();
    let waiting = AssetDef::builder("waiting")
        .compute(move |ctx| {
            let go = release.clone();
            async move {
                ctx.info("before the cut");
                go.notified().await;
                for i in 0..100 {
                    ctx.info(format!("line {i}"));
                }
                Ok(AssetOutput::new(json!(1)))
            }
        })
        .unwrap();
    let after = constant("after", &["waiting"], json!(2));
    let worker = o.worker(vec![job("outage", vec![waiting, after])]);
    let id = o.run("outage").await;
    let (observer, seen) = recorder();
    let options = worker::ExecuteOptions {
        observer: Some(observer),
        ..Default::default()
    };
    let running = tokio::spawn(async move { worker.execute_with(id, options).await });
    until("the step logs", || seen.lock().unwrap().contains(&"LOG")).await;
    // Give the writer its linger to store the step's start: the cut is mid-step.
    tokio::time::sleep(Duration::from_millis(200)).await;
    o.proxy.cut();
    go.notify_one();
    // The step goes on without the database: its lines, its end and the next step's.
    until("the downstream step ends", || {
        seen.lock()
            .unwrap()
            .iter()
            .filter(|t| **t == "STEP_SUCCESS")
            .count()
            == 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    o.proxy.heal();
    let run = tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(run.status, RunStatus::Success);
    let events = o.store.list_events(id, None, 10_000).await.unwrap();
    assert_in_order(&events);
    let types: Vec<&str> = events.iter().map(|e| e.kind.type_name()).collect();
    let emitted = seen.lock().unwrap().clone();
    // Stored exactly as emitted (the run events around them are the store's own).
    let stored: Vec<&str> = types
        .iter()
        .copied()
        .filter(|t| !matches!(*t, "RUN_STARTING" | "RUN_START" | "RUN_SUCCESS"))
        .collect();
    assert_eq!(stored, emitted);
    let lines: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Log { message, .. } if message.starts_with("line ") => Some(message.clone()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
    assert_eq!(lines, expected);
}

#[tokio::test]
async fn past_the_buffer_bound_a_command_pauses_until_the_database_is_back() {
    let o = outage().await;
    let flag = o.dir.path().join("go");
    let script = format!(
        "while [ ! -f {} ]; do sleep 0.02; done; i=0; while [ $i -lt 300 ]; do echo line $i; i=$((i+1)); done",
        flag.display()
    );
    let chatty = AssetDef::command("chatty")
        .command(CommandSpec::new(["sh", "-c", script.as_str()]))
        .unwrap();
    const BUFFER: usize = 20;
    let worker = o
        .worker(vec![job("chatty", vec![chatty])])
        .with_event_buffer(BUFFER);
    let id = o.run("chatty").await;
    let (observer, seen) = recorder();
    let options = worker::ExecuteOptions {
        observer: Some(observer),
        ..Default::default()
    };
    let running = tokio::spawn(async move { worker.execute_with(id, options).await });
    until("the step starts", || {
        seen.lock().unwrap().contains(&"STEP_START")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    o.proxy.cut();
    let before_cut = seen.lock().unwrap().len();
    std::fs::write(&flag, b"").unwrap();
    // The command prints 300 lines at once; only up to the bound are taken while cut.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let paused = seen.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(seen.lock().unwrap().len(), paused, "the step did not pause");
    assert!(
        paused - before_cut <= BUFFER,
        "{} events emitted while cut, bound {BUFFER}",
        paused - before_cut
    );
    assert!(paused > before_cut, "nothing was buffered");
    o.proxy.heal();
    let run = tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(run.status, RunStatus::Success);
    let events = o.store.list_events(id, None, 10_000).await.unwrap();
    assert_in_order(&events);
    let lines: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Log { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = (0..300).map(|i| format!("line {i}")).collect();
    assert_eq!(lines, expected);
}

#[tokio::test]
async fn a_batch_whose_commit_answer_is_lost_is_stored_once() {
    let o = outage().await;
    const ROUNDS: usize = 5;
    let go = Arc::new(tokio::sync::Notify::new());
    let release = go.clone();
    let rounds = AssetDef::builder("rounds")
        .compute(move |ctx| {
            let go = release.clone();
            async move {
                for round in 0..ROUNDS {
                    go.notified().await;
                    for i in 0..10 {
                        ctx.info(format!("line {round}.{i}"));
                    }
                }
                Ok(AssetOutput::new(json!(1)))
            }
        })
        .unwrap();
    let worker = o.worker(vec![job("lost", vec![rounds])]);
    let id = o.run("lost").await;
    let (observer, seen) = recorder();
    let options = worker::ExecuteOptions {
        observer: Some(observer),
        ..Default::default()
    };
    let running = tokio::spawn(async move { worker.execute_with(id, options).await });
    until("the step starts", || {
        seen.lock().unwrap().contains(&"STEP_START")
    })
    .await;
    // Each round's lines go in a batch whose commit lands and whose answer never comes back:
    // the writer cannot tell, and writes the batch again on a new connection.
    for round in 0..ROUNDS {
        o.proxy.lose_answer_to(b"COMMIT");
        go.notify_one();
        until("a commit's answer is lost", || {
            o.proxy.answers_lost() == round + 1
        })
        .await;
    }
    let run = tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(run.status, RunStatus::Success);
    let events = o.store.list_events(id, None, 10_000).await.unwrap();
    assert_in_order(&events);
    let emitted = seen.lock().unwrap().clone();
    let stored: Vec<&str> = events
        .iter()
        .map(|e| e.kind.type_name())
        .filter(|t| !matches!(*t, "RUN_STARTING" | "RUN_START" | "RUN_SUCCESS"))
        .collect();
    assert_eq!(stored, emitted, "an event is missing or doubled");
    let lines: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Log { message, .. } if message.starts_with("line ") => Some(message.clone()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = (0..ROUNDS)
        .flat_map(|round| (0..10).map(move |i| format!("line {round}.{i}")))
        .collect();
    assert_eq!(lines, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_buffer_bound_a_rust_asset_logging_without_awaiting_pauses() {
    let o = outage().await;
    let go = Arc::new(tokio::sync::Notify::new());
    let release = go.clone();
    // 300 lines in a loop with no await between them: only `emit` itself can pause it.
    let tight = AssetDef::builder("tight")
        .compute(move |ctx| {
            let go = release.clone();
            async move {
                go.notified().await;
                for i in 0..300 {
                    ctx.info(format!("line {i}"));
                }
                Ok(AssetOutput::new(json!(1)))
            }
        })
        .unwrap();
    const BUFFER: usize = 20;
    let worker = o
        .worker(vec![job("tight", vec![tight])])
        .with_event_buffer(BUFFER);
    let id = o.run("tight").await;
    let (observer, seen) = recorder();
    let options = worker::ExecuteOptions {
        observer: Some(observer),
        ..Default::default()
    };
    let running = tokio::spawn(async move { worker.execute_with(id, options).await });
    until("the step starts", || {
        seen.lock().unwrap().contains(&"STEP_START")
    })
    .await;
    // Let the writer store the step's start: the backlog is empty when the cut comes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    o.proxy.cut();
    let before_cut = seen.lock().unwrap().len();
    go.notify_one();
    until("the asset logs", || seen.lock().unwrap().len() > before_cut).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let paused = seen.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        seen.lock().unwrap().len(),
        paused,
        "the asset did not pause"
    );
    assert!(
        paused - before_cut <= BUFFER,
        "{} events emitted while cut, bound {BUFFER}",
        paused - before_cut
    );
    o.proxy.heal();
    let run = tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(run.status, RunStatus::Success);
    let events = o.store.list_events(id, None, 10_000).await.unwrap();
    assert_in_order(&events);
    let lines: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Log { message, .. } if message.starts_with("line ") => Some(message.clone()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = (0..300).map(|i| format!("line {i}")).collect();
    assert_eq!(lines, expected);
}
