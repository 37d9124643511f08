//! `product_pipeline_job` from start to end: on PostgreSQL + S3, on the embedded default, and
//! through a flaky upstream.

use std::path::Path;

use chrono::Utc;
use serde_json::Value;

use crate::support::{
    JOB, Orch, Route, STEPS, TestBucket, TestDb, Upstream, assert_events_in_order,
    assert_object_key, assert_summary, events, events_of, init, steps_with,
};

/// Asserts a successful run: SUCCESS, the three steps succeeded in order with no failure, retry
/// or skip, the run-level events around them, and returns the metadata of the store_to_s3
/// materialization.
#[track_caller]
fn assert_succeeded(run: &Value, run_id: &str) -> Value {
    assert_eq!(run["id"], run_id);
    assert_eq!(run["job"], JOB);
    assert_eq!(run["status"], "SUCCESS", "{run:#}");
    assert_events_in_order(run);
    assert_eq!(steps_with(run, "STEP_SUCCESS"), STEPS, "{run:#}");
    for kind in ["STEP_FAILURE", "STEP_SKIPPED", "RUN_FAILURE"] {
        assert!(events_of(run, kind, None).is_empty(), "no {kind}: {run:#}");
    }
    let types: Vec<&str> = events(run)
        .iter()
        .filter(|e| e["step"].is_null())
        .map(|e| e["type"].as_str().expect("event type"))
        .collect();
    assert_eq!(types, ["RUN_STARTING", "RUN_START", "RUN_SUCCESS"]);
    let checks: Vec<(&Value, &Value)> =
        events_of(run, "ASSET_CHECK_EVALUATION", Some("fetch_data"))
            .iter()
            .map(|e| (&e["check"], &e["passed"]))
            .collect();
    assert_eq!(
        checks,
        [
            (&"has_posts".into(), &true.into()),
            (&"titles_present".into(), &true.into())
        ],
        "{run:#}"
    );
    assert_eq!(run["checks_failed"], 0);
    let materializations = events_of(run, "ASSET_MATERIALIZATION", Some("store_to_s3"));
    assert_eq!(materializations.len(), 1, "{run:#}");
    assert_eq!(materializations[0]["asset_key"], "store_to_s3");
    materializations[0]["metadata"].clone()
}

/// The names of the files directly under `dir`.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn pipeline_on_postgres_and_s3_stores_the_seed_summary_and_records_the_run() {
    init();
    let upstream = Upstream::start().await;
    let db = TestDb::create().await;
    let bucket = TestBucket::create().await;
    let orch = Orch::local().on_postgres(&db).on_bucket(&bucket);
    let source = format!("source_url={}", upstream.url(Route::Posts));

    let before = Utc::now();
    let out = orch.run(&["run", JOB, "--config", &source]).await;
    let after = Utc::now();

    out.assert_exit(0);
    let run_id = out.run_id();
    out.assert_says(&[&format!("run {run_id} SUCCESS")]);
    assert_eq!(upstream.hits(Route::Posts), 1);

    let keys = bucket.keys().await;
    assert_eq!(keys.len(), 1, "exactly one object: {keys:?}");
    let key = &keys[0];
    assert_object_key(key, before, after);
    let object = bucket.get(key).await;
    assert_eq!(object.content_type.as_deref(), Some("application/json"));
    assert_summary(&object.body);

    let run = orch.show(&run_id).await;
    assert_eq!(run["config"]["source_url"], upstream.url(Route::Posts));
    let metadata = assert_succeeded(&run, &run_id);
    assert_eq!(metadata["uri"], format!("s3://{}/{key}", bucket.name));
    assert_eq!(metadata["size_bytes"], object.body.len());
    assert_eq!(metadata["count"], 100);

    // The run lives in the PostgreSQL database, not in a fallback SQLite file, and the object
    // went to S3, not to ORCH_HOME.
    let mut conn = db.connect().await;
    let status: String = sqlx::query_scalar("SELECT status FROM runs WHERE id::text = $1")
        .bind(&run_id)
        .fetch_one(&mut conn)
        .await
        .expect("the run's row in PostgreSQL");
    assert_eq!(status, "SUCCESS");
    drop(conn);
    assert!(!orch.home().join("orch.db").exists());
    assert!(!orch.home().join("objects").exists());

    db.drop_database().await;
    bucket.delete().await;
}

#[tokio::test]
async fn pipeline_on_the_embedded_default_writes_the_object_under_orch_home() {
    init();
    let upstream = Upstream::start().await;
    let orch = Orch::local().env("PRODUCT_API_URL", upstream.url(Route::Posts));

    let before = Utc::now();
    let out = orch.run(&["run", JOB]).await;
    let after = Utc::now();

    out.assert_exit(0);
    let run_id = out.run_id();
    assert_eq!(upstream.hits(Route::Posts), 1);

    let objects = orch.home().join("objects");
    let names = files_in(&objects);
    assert_eq!(names.len(), 1, "exactly one object: {names:?}");
    let key = &names[0];
    assert_object_key(key, before, after);
    let body = std::fs::read(objects.join(key)).expect("read the object");
    assert_summary(&body);

    let run = orch.show(&run_id).await;
    assert_eq!(run["config"]["source_url"], upstream.url(Route::Posts));
    let metadata = assert_succeeded(&run, &run_id);
    assert_eq!(metadata["uri"], objects.join(key).display().to_string());
    assert_eq!(metadata["size_bytes"], body.len());
    assert_eq!(metadata["count"], 100);

    assert!(orch.home().join("orch.db").exists(), "the embedded store");
    let runs = orch
        .run(&["runs", "list", "--json"])
        .await
        .assert_exit(0)
        .json();
    let runs = runs.as_array().expect("an array of runs");
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["id"], run_id);
    assert_eq!(runs[0]["job"], JOB);
    assert_eq!(runs[0]["status"], "SUCCESS");
    assert!(runs[0]["duration_ms"].as_i64().is_some(), "{:#}", runs[0]);
}

#[tokio::test]
async fn flaky_upstream_is_retried_twice_then_the_run_succeeds() {
    init();
    let upstream = Upstream::start().await;
    let orch = Orch::local();
    let source = format!("source_url={}", upstream.url(Route::Flaky));

    let out = orch.run(&["run", JOB, "--config", &source]).await;

    out.assert_exit(0).assert_says(&["RETRY", "503"]);
    assert_eq!(upstream.hits(Route::Flaky), 3);
    let run_id = out.run_id();
    let run = orch.show(&run_id).await;
    assert_succeeded(&run, &run_id);

    let retries = events_of(&run, "STEP_UP_RETRY", None);
    assert_eq!(retries.len(), 2, "{run:#}");
    assert!(retries.iter().all(|e| e["step"] == "fetch_data"));
    let attempts: Vec<&Value> = retries.iter().map(|e| &e["attempt"]).collect();
    assert_eq!(attempts, [1, 2]);
    let delays: Vec<&Value> = retries.iter().map(|e| &e["delay_ms"]).collect();
    assert_eq!(delays, [500, 1000], "exponential from 500 ms");
    for retry in &retries {
        let error = retry["error"].as_str().expect("retry error");
        assert!(error.contains("503"), "{error}");
    }
    let starts: Vec<&Value> = events_of(&run, "STEP_START", Some("fetch_data"))
        .iter()
        .map(|e| &e["attempt"])
        .collect();
    assert_eq!(starts, [1, 2, 3]);

    let objects = orch.home().join("objects");
    let names = files_in(&objects);
    assert_eq!(names.len(), 1, "{names:?}");
    assert_summary(&std::fs::read(objects.join(&names[0])).expect("read the object"));
}
