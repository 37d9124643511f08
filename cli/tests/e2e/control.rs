//! `orch runs cancel`, `orch runs reexecute` and `orch runs prune`.

use std::time::Duration;

use orchestrator::domain::{JobName, NewRun, RunId, RunStatus, Tags};
use serde_json::{Value, json};

use crate::support::{
    JOB, Orch, Route, STEPS, TestBucket, TestDb, Upstream, assert_failed_at, assert_summary,
    events, events_of, init, steps_with,
};
use crate::worker::starting_run;

fn queued() -> NewRun {
    NewRun::queued(JobName::parse(JOB).unwrap(), json!({}), Tags::new())
}

/// The event types of a shown run.
fn types(run: &Value) -> Vec<&str> {
    events(run)
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn cancel_of_a_queued_run_ends_it_and_it_is_never_launched() {
    init();
    let orch = Orch::local();
    let store = orch.store().await;
    let run = store.create_run(&queued()).await.unwrap();
    let id = run.id.to_string();

    orch.run(&["runs", "cancel", &id])
        .await
        .assert_exit(0)
        .assert_says(&[&format!("run {id} CANCELED")]);

    let shown = orch.show(&id).await;
    assert_eq!(shown["status"], "CANCELED");
    assert_eq!(types(&shown), ["RUN_ENQUEUED", "RUN_CANCELED"]);
    // A worker started for it anyway refuses it.
    orch.run(&["worker", "--run-id", &id])
        .await
        .assert_exit(2)
        .assert_says(&["is CANCELED"]);
    assert_eq!(orch.show(&id).await, shown, "nothing changed");
}

#[tokio::test]
async fn cancel_of_a_finished_run_fails_and_changes_nothing() {
    init();
    let upstream = Upstream::start().await;
    let orch = Orch::local();
    let source = format!("source_url={}", upstream.url(Route::Posts));
    let id = orch
        .run(&["run", JOB, "--config", &source])
        .await
        .assert_exit(0)
        .run_id();
    let before = orch.show(&id).await;

    let out = orch.run(&["runs", "cancel", &id]).await;

    out.assert_exit(1).assert_says(&[&format!(
        "run {id} already ended SUCCESS; nothing to cancel"
    )]);
    assert_eq!(orch.show(&id).await, before, "nothing changed");
}

#[tokio::test]
async fn cancel_of_a_canceling_run_says_so_and_bad_ids_are_usage_errors() {
    init();
    let orch = Orch::local();
    let store = orch.store().await;
    let run = store
        .create_run(&NewRun::in_process(
            JobName::parse(JOB).unwrap(),
            json!({}),
            Tags::new(),
        ))
        .await
        .unwrap();
    let id = run.id.to_string();
    orch.run(&["runs", "cancel", &id])
        .await
        .assert_exit(0)
        .assert_says(&["CANCELING"]);
    let before = orch.show(&id).await;
    orch.run(&["runs", "cancel", &id])
        .await
        .assert_exit(0)
        .assert_says(&[&format!("run {id} is already CANCELING")]);
    assert_eq!(orch.show(&id).await, before);

    let unknown = RunId::new().to_string();
    orch.run(&["runs", "cancel", &unknown])
        .await
        .assert_exit(2)
        .assert_says(&[&format!("run {unknown} not found")]);
    orch.run(&["runs", "cancel", "42"])
        .await
        .assert_exit(2)
        .assert_says(&["'42' is not a run id"]);
}

#[tokio::test]
async fn reexecute_from_failure_runs_only_the_failed_step_and_reuses_the_others() {
    init();
    let upstream = Upstream::start().await;
    let db = TestDb::create().await;
    let bucket = TestBucket::missing().await;
    let orch = Orch::local().on_postgres(&db).on_bucket(&bucket);
    let source = format!("source_url={}", upstream.url(Route::Posts));

    // The parent fails at store_to_s3: its bucket does not exist yet.
    let parent = orch.run(&["run", JOB, "--config", &source]).await;
    parent.assert_exit(1);
    let parent_id = parent.run_id();
    assert_failed_at(
        &orch.show(&parent_id).await,
        "store_to_s3",
        &["NoSuchBucket"],
    );
    bucket.create_now().await;

    let out = orch
        .run(&[
            "runs",
            "reexecute",
            &parent_id,
            "--from-failure",
            "--tag",
            "why=retry",
        ])
        .await;
    out.assert_exit(0).assert_says(&["steps: store_to_s3"]);
    let child_id = out.stdout.lines().last().unwrap().to_owned();
    let child = orch.show(&child_id).await;
    assert_eq!(child["status"], "QUEUED");
    assert_eq!(child["parent_run_id"], parent_id);
    assert_eq!(child["step_selection"], json!(["store_to_s3"]));
    assert_eq!(child["config"]["source_url"], upstream.url(Route::Posts));
    assert_eq!(
        child["tags"],
        json!({"orch/parent_run_id": parent_id, "orch/root_run_id": parent_id, "why": "retry"})
    );

    // The daemon's claim, then its launcher's `orch worker`.
    let store = orch.store().await;
    let child_run = RunId::parse(&child_id).unwrap();
    store
        .transition_run(child_run, RunStatus::Starting, None)
        .await
        .unwrap();
    orch.run(&["worker", "--run-id", &child_id])
        .await
        .assert_exit(0);

    let child = orch.show(&child_id).await;
    assert_eq!(child["status"], "SUCCESS", "{child:#}");
    assert_eq!(
        steps_with(&child, "STEP_START"),
        ["store_to_s3"],
        "{child:#}"
    );
    assert_eq!(steps_with(&child, "STEP_SUCCESS"), ["store_to_s3"]);
    assert_eq!(steps_with(&child, "STEP_OUTPUT_REUSED"), ["process_data"]);
    let reused = &events_of(&child, "STEP_OUTPUT_REUSED", None)[0];
    assert_eq!(reused["from_run"], parent_id);
    assert_eq!(
        upstream.hits(Route::Posts),
        1,
        "fetch_data ran once, in the parent"
    );
    let keys = bucket.keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_summary(&bucket.get(&keys[0]).await.body);

    // What cannot be re-executed, and a chain keeps its root.
    orch.run(&["runs", "reexecute", &child_id, "--from-failure"])
        .await
        .assert_exit(1)
        .assert_says(&["ended SUCCESS", "no failure to re-execute from"]);
    let grandchild = orch.run(&["runs", "reexecute", &child_id]).await;
    grandchild.assert_exit(0);
    let grandchild = orch.show(grandchild.stdout.lines().last().unwrap()).await;
    assert_eq!(grandchild["tags"]["orch/root_run_id"], parent_id);
    assert_eq!(grandchild["tags"]["orch/parent_run_id"], child_id);
    orch.run(&["runs", "reexecute", grandchild["id"].as_str().unwrap()])
        .await
        .assert_exit(1)
        .assert_says(&["is QUEUED; only a finished run can be re-executed"]);
    orch.run(&["runs", "reexecute", &RunId::new().to_string()])
        .await
        .assert_exit(2)
        .assert_says(&["not found"]);

    drop(store);
    db.drop_database().await;
    bucket.delete().await;
}

#[tokio::test]
async fn prune_deletes_finished_runs_older_than_the_duration() {
    init();
    let upstream = Upstream::start().await;
    let orch = Orch::local();
    let ok = format!("source_url={}", upstream.url(Route::Posts));
    let bad = format!("source_url={}", upstream.url(Route::NotJson));
    let old_ok = [
        orch.run(&["run", JOB, "--config", &ok])
            .await
            .assert_exit(0)
            .run_id(),
        orch.run(&["run", JOB, "--config", &ok])
            .await
            .assert_exit(0)
            .run_id(),
    ];
    let old_failed = orch
        .run(&["run", JOB, "--config", &bad])
        .await
        .assert_exit(1)
        .run_id();
    let store = orch.store().await;
    let waiting = store.create_run(&queued()).await.unwrap().id.to_string();
    let running = starting_run(store.as_ref(), &upstream.url(Route::Posts)).await;
    // The runs above end over 4 s before the prunes below; `new_ok` well under 4 s (each orch
    // invocation takes tens of milliseconds).
    tokio::time::sleep(Duration::from_millis(4200)).await;
    let new_ok = orch
        .run(&["run", JOB, "--config", &ok])
        .await
        .assert_exit(0)
        .run_id();
    let all = || {
        let mut ids = vec![
            new_ok.clone(),
            waiting.clone(),
            running.to_string(),
            old_failed.clone(),
        ];
        ids.extend(old_ok.iter().cloned());
        ids
    };
    let mut listed = orch.list_ids(&[]).await;
    listed.sort();
    let mut expected = all();
    expected.sort();
    assert_eq!(listed, expected);

    let dry = orch
        .run(&[
            "runs",
            "prune",
            "--older-than",
            "4s",
            "--status",
            "success",
            "--dry-run",
        ])
        .await;
    dry.assert_exit(0).assert_says(&["would delete 2 runs"]);
    assert_eq!(
        orch.list_ids(&[]).await.len(),
        6,
        "a dry run deletes nothing"
    );

    orch.run(&["runs", "prune", "--older-than", "4s", "--status", "SUCCESS"])
        .await
        .assert_exit(0)
        .assert_says(&["deleted 2 runs"]);
    for id in &old_ok {
        orch.run(&["runs", "show", id])
            .await
            .assert_exit(2)
            .assert_says(&["not found"]);
    }
    assert_eq!(orch.list_ids(&[]).await.len(), 4);

    let out = orch.run(&["runs", "prune", "--older-than", "4s"]).await;
    out.assert_exit(0).assert_says(&["deleted 1 runs"]);
    let mut left = orch.list_ids(&[]).await;
    left.sort();
    let mut expected = vec![new_ok.clone(), waiting.clone(), running.to_string()];
    expected.sort();
    assert_eq!(left, expected, "unfinished and recent runs stay");
    let recent = orch.show(&new_ok).await;
    assert_eq!(steps_with(&recent, "STEP_SUCCESS"), STEPS, "events intact");

    orch.run(&["runs", "prune", "--older-than", "soon"])
        .await
        .assert_exit(2)
        .assert_says(&["'soon' is not a duration"]);
    orch.run(&["runs", "prune", "--older-than", "1d", "--status", "STARTED"])
        .await
        .assert_exit(2)
        .assert_says(&["only finished runs can be pruned"]);
    assert_eq!(
        orch.list_ids(&[]).await.len(),
        3,
        "nothing deleted by bad input"
    );
}
