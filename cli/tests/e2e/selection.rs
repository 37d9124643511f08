//! `--select`: a run of some assets of `product_pipeline_job` reads the unselected upstream
//! outputs from their latest materialization through the IO manager (step outputs in
//! ORCH_HOME, and on the S3 API server), without calling the upstream API again; a selection
//! whose upstream was never materialized, or that names an unknown asset, is refused with exit
//! 2 and no run.

use crate::support::{JOB, Orch, Route, TestBucket, Upstream, events_of, init};

/// Runs the whole job, then `--select store_to_s3`, and checks that the second run reused
/// process_data's output from the first.
async fn select_reuses_the_latest_upstream_output(orch: &Orch, upstream: &Upstream) {
    let source = format!("source_url={}", upstream.url(Route::Posts));
    let first = orch.run(&["run", JOB, "--config", &source]).await;
    first.assert_exit(0);
    let first = first.run_id();

    let out = orch
        .run(&["run", JOB, "--config", &source, "--select", "store_to_s3"])
        .await;
    out.assert_exit(0);
    assert_eq!(
        upstream.hits(Route::Posts),
        1,
        "fetch_data did not run again"
    );
    let run = orch.show(&out.run_id()).await;
    assert_eq!(run["status"], "SUCCESS", "{run:#}");
    assert_eq!(run["step_selection"], serde_json::json!(["store_to_s3"]));
    let reused = events_of(&run, "STEP_OUTPUT_REUSED", Some("process_data"));
    assert_eq!(reused.len(), 1, "{run:#}");
    assert_eq!(reused[0]["from_run"], first.as_str());
    assert!(events_of(&run, "STEP_START", Some("fetch_data")).is_empty());
    assert_eq!(
        events_of(&run, "STEP_SUCCESS", Some("store_to_s3")).len(),
        1
    );
    let stored = events_of(&run, "ASSET_MATERIALIZATION", Some("store_to_s3"));
    assert_eq!(stored[0]["metadata"]["count"], 100);
}

#[tokio::test]
async fn a_selection_reuses_upstream_outputs_on_local_files() {
    init();
    let upstream = Upstream::start().await;
    let orch = Orch::local();
    select_reuses_the_latest_upstream_output(&orch, &upstream).await;
    assert!(
        orch.home().join("storage").exists(),
        "outputs under ORCH_HOME"
    );
}

#[tokio::test]
async fn a_selection_reuses_upstream_outputs_on_s3() {
    init();
    let upstream = Upstream::start().await;
    let bucket = TestBucket::create().await;
    let orch = Orch::local()
        .on_bucket(&bucket)
        .env("ORCH_IO_BUCKET", bucket.name.clone());
    select_reuses_the_latest_upstream_output(&orch, &upstream).await;
    let keys = bucket.keys().await;
    assert!(
        keys.iter().any(|k| k.contains("process_data")),
        "step outputs on S3: {keys:?}"
    );
    assert!(!orch.home().join("storage").exists());
    bucket.delete().await;
}

#[tokio::test]
async fn selections_without_materialized_upstream_or_with_unknown_assets_are_refused() {
    init();
    let orch = Orch::local();
    let out = orch.run(&["run", JOB, "--select", "store_to_s3"]).await;
    out.assert_exit(2).assert_says(&[
        "the selection needs the outputs of process_data, which were never materialized",
    ]);
    let out = orch
        .run(&["launch", JOB, "--select", "fetch_data+,nope"])
        .await;
    out.assert_exit(2)
        .assert_says(&["unknown assets: nope", "known assets: fetch_data"]);
    let out = orch.run(&["launch", JOB, "--select", "a+b"]).await;
    out.assert_exit(2).assert_says(&["'a+b' is not valid"]);
    let runs = orch
        .run(&["runs", "list", "--json"])
        .await
        .assert_exit(0)
        .json();
    assert_eq!(runs, serde_json::json!([]), "no run was created");
}

#[tokio::test]
async fn assets_materialize_queues_a_selection_in_the_job_that_has_them() {
    init();
    let orch = Orch::local();
    let out = orch
        .run(&["assets", "materialize", "fetch_data", "process_data"])
        .await;
    out.assert_exit(0);
    let run_id = out.stdout.lines().last().expect("launch prints the run id");
    let run = orch.show(run_id).await;
    assert_eq!(run["job"], JOB);
    assert_eq!(run["status"], "QUEUED");
    assert_eq!(
        run["step_selection"],
        serde_json::json!(["fetch_data", "process_data"])
    );
    orch.run(&["assets", "materialize", "fetch_data", "nope"])
        .await
        .assert_exit(2)
        .assert_says(&["no job defines all of fetch_data, nope"]);
    orch.run(&["assets", "materialize", "store_to_s3"])
        .await
        .assert_exit(2)
        .assert_says(&["outputs of process_data, which were never materialized"]);
}
