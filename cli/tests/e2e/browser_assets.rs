//! The asset graph in a real browser (headless Chromium driving `orch dev` on PostgreSQL + S3,
//! through `cli/tests/browser/materialize_selected.cjs`): nodes coloured unknown before any run
//! and healthy after one (its checks passed), an asset clicked in the job graph and
//! "Materialize selected" — refused with the missing upstream named before the first run, then
//! a run of that asset alone (its `step_selection`) that reuses the upstream outputs and
//! succeeds; the asset page's health and lineage colours. Screenshots: job-graph.png,
//! lineage.png in `$CARGO_TARGET_TMPDIR/browser/`.

use serde_json::Value;

use crate::browser::{artifacts_dir, drive_script};
use crate::support::{Orch, Route, TestBucket, TestDb, Upstream, init, served_at};

const ASSET: &str = "store_to_s3";

fn classes(seen: &Value, field: &str) -> Vec<(String, String)> {
    seen[field]
        .as_array()
        .unwrap_or_else(|| panic!("{field} missing: {seen}"))
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn materialize_selected_from_the_job_graph_and_health_colours_in_chromium() {
    init();
    let db = TestDb::create().await;
    let bucket = TestBucket::create().await;
    let upstream = Upstream::start().await;
    let orch = Orch::local()
        .on_postgres(&db)
        .on_bucket(&bucket)
        .env("PRODUCT_API_URL", upstream.url(Route::Posts))
        .env("ORCH_WEB_ADDR", "127.0.0.1:0")
        .env("ORCH_LOG", "info");
    let mut dev = orch.spawn(&["dev"], "dev.log");
    let base = format!(
        "http://{}",
        served_at(&orch, "dev.log", "orch dev: http://").await
    );
    let seen = drive_script(
        "materialize_selected.cjs",
        &base,
        &artifacts_dir(),
        &[("ORCH_ASSET", ASSET)],
    )
    .await;
    let log = orch.log("dev.log");

    let before = classes(&seen, "classes_before");
    assert_eq!(before.len(), 3, "{seen}");
    assert!(
        before.iter().all(|(_, c)| c.contains("health-unknown")),
        "before any run every asset is unknown: {before:?}"
    );
    assert_eq!(seen["selected_value"], ASSET, "{seen}");
    assert!(
        seen["selected_class"]
            .as_str()
            .unwrap()
            .contains("node-selected"),
        "{seen}"
    );
    let refused = seen["refused_error"].as_str().unwrap_or_default();
    assert!(
        refused.contains("process_data"),
        "the refusal names the upstream never materialized: {seen}"
    );

    assert_eq!(seen["full_status"], "SUCCESS", "{seen}\n{log}");
    let after = classes(&seen, "classes_after");
    assert!(
        after.iter().all(|(_, c)| c.contains("health-healthy")),
        "after a successful run whose checks passed every asset is healthy: {after:?}"
    );
    assert_eq!(seen["selected_value_after"], ASSET, "{seen}");
    assert_eq!(seen["selection_status"], "SUCCESS", "{seen}\n{log}");
    let run = orch.show(seen["selection_run_id"].as_str().unwrap()).await;
    assert_eq!(run["step_selection"], serde_json::json!([ASSET]), "{run}");
    assert_eq!(seen["asset_health"], "healthy", "{seen}");
    let lineage = classes(&seen, "lineage_classes");
    assert_eq!(lineage.len(), 3, "{seen}");
    assert!(
        lineage
            .iter()
            .any(|(k, c)| k == ASSET && c.contains("node-focus") && c.contains("health-healthy")),
        "{lineage:?}"
    );

    dev.kill().await.unwrap();
    bucket.delete().await;
    db.drop_database().await;
}
