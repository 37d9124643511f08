//! Backfills in a real browser (headless Chromium driving `orch dev` on PostgreSQL, through
//! `cli/tests/browser/backfill.cjs`): a backfill launched from a partitioned job's form runs
//! to its end (one key's command fails), and the job's partition health bar then shows the
//! mixed statuses as coloured ranges titled with their keys; the failed range links to the
//! key list of failed keys. Screenshots: backfill.png, partition-bar.png in
//! `$CARGO_TARGET_TMPDIR/browser/`.

use crate::browser::{artifacts_dir, drive_script};
use crate::support::{Orch, TestDb, init, served_at};

/// Ten days; the run of 2026-01-03 fails.
const DAILY: &str = r#"name = "daily_bar"
partitions = { daily = { start = "2026-01-01", end = "2026-01-11", timezone = "UTC" } }

[[assets]]
name = "day"
command = ["sh", "-c", "if [ \"$ORCH_PARTITION_KEY\" = 2026-01-03 ]; then exit 3; fi; echo '{}' > \"$ORCH_OUTPUT\""]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_launched_from_the_form_colours_the_health_bar_in_chromium() {
    init();
    let db = TestDb::create().await;
    let orch = Orch::local()
        .on_postgres(&db)
        .env("ORCH_WEB_ADDR", "127.0.0.1:0")
        .env("ORCH_LOG", "info");
    std::fs::create_dir_all(orch.home().join("jobs")).unwrap();
    std::fs::write(orch.home().join("jobs/daily_bar.toml"), DAILY).unwrap();
    let mut dev = orch.spawn(&["dev"], "dev.log");
    let base = format!(
        "http://{}",
        served_at(&orch, "dev.log", "orch dev: http://").await
    );
    let seen = drive_script(
        "backfill.cjs",
        &base,
        &artifacts_dir(),
        &[
            ("ORCH_JOB", "daily_bar"),
            ("ORCH_FROM", "2026-01-01"),
            ("ORCH_TO", "2026-01-05"),
        ],
    )
    .await;
    let log = orch.log("dev.log");
    assert_eq!(
        seen["ranges_before"],
        serde_json::json!(["missing"]),
        "{seen}"
    );
    assert_eq!(seen["backfill_status"], "FAILED", "{seen}\n{log}");
    assert_eq!(
        seen["counts"],
        serde_json::json!([["SUCCESS", "SUCCESS 4"], ["FAILURE", "FAILURE 1"]]),
        "{seen}"
    );
    let ranges = seen["ranges"].as_array().unwrap();
    let summary: Vec<(&str, &str)> = ranges
        .iter()
        .map(|r| (r["status"].as_str().unwrap(), r["title"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            ("materialized", "2026-01-01 … 2026-01-02: materialized (2)"),
            ("failed", "2026-01-03: failed (1)"),
            ("materialized", "2026-01-04 … 2026-01-05: materialized (2)"),
            ("missing", "2026-01-06 … 2026-01-10: missing (5)"),
        ],
        "{seen}"
    );
    let fills: Vec<&str> = ranges.iter().map(|r| r["fill"].as_str().unwrap()).collect();
    assert_ne!(
        fills[0], fills[1],
        "failed and materialized look alike: {seen}"
    );
    assert_ne!(
        fills[0], fills[3],
        "missing and materialized look alike: {seen}"
    );
    assert_eq!(
        seen["failed_keys"],
        serde_json::json!(["2026-01-03"]),
        "{seen}"
    );
    dev.kill().await.unwrap();
}
