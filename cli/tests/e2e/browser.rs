//! The web UI in a real browser: headless Chromium (Debian's, installed by scripts/browser.sh),
//! driven by playwright-core through `cli/tests/browser/launch_run.cjs`, against `orch dev` on
//! PostgreSQL with the fixture upstream and the S3 API server. With auth on: a Launch Run click
//! before logging in is refused, a bad config is shown on the form, and after logging in the
//! click launches `product_pipeline_job`, whose page follows the run to SUCCESS without a
//! reload; the asset page then shows the materialization. Screenshots are kept in
//! `$CARGO_TARGET_TMPDIR/browser/` (run.png, asset.png) as the test's artifacts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::support::{JOB, Orch, Route, TestBucket, TestDb, Upstream, init, served_at};

const TOKEN: &str = "browser-test-token";

/// Where the screenshots go: kept after the test, next to cargo's other test outputs.
pub(crate) fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn browser_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite through scripts/test.sh, or eval \"$(scripts/browser.sh)\" first")
    })
}

/// Runs the driver script against `base` and returns what it saw.
async fn drive(base: &str, shots: &Path) -> Value {
    drive_script(
        "launch_run.cjs",
        base,
        shots,
        &[("ORCH_ASSET", "store_to_s3"), ("ORCH_TOKEN", TOKEN)],
    )
    .await
}

/// Runs `cli/tests/browser/<script>` against `base` (the job `JOB`, screenshots to `shots`,
/// and `envs`) and returns the JSON object it printed.
pub(crate) async fn drive_script(
    script: &str,
    base: &str,
    shots: &Path,
    envs: &[(&str, &str)],
) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser")
        .join(script);
    let mut command = tokio::process::Command::new(browser_env("ORCH_NODE"));
    command
        .arg(&script)
        .env("NODE_PATH", browser_env("ORCH_BROWSER_NODE_PATH"))
        .env("ORCH_CHROMIUM", browser_env("ORCH_CHROMIUM"))
        .env("ORCH_BASE_URL", base)
        .env("ORCH_JOB", JOB)
        .env("ORCH_SCREENSHOT_DIR", shots)
        .kill_on_drop(true);
    for (name, value) in envs {
        command.env(name, value);
    }
    let out = tokio::time::timeout(Duration::from_secs(180), command.output())
        .await
        .expect("the browser script ends within 3 minutes")
        .expect("start node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser script failed ({}):\n{stderr}\n{stdout}",
        out.status
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("browser script output is not JSON ({e}): {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_launches_the_job_in_chromium_and_watches_it_succeed() {
    init();
    let db = TestDb::create().await;
    let bucket = TestBucket::create().await;
    let upstream = Upstream::start().await;
    let orch = Orch::local()
        .on_postgres(&db)
        .on_bucket(&bucket)
        .env("PRODUCT_API_URL", upstream.url(Route::Posts))
        .env("ORCH_WEB_ADDR", "127.0.0.1:0")
        .env("ORCH_AUTH_TOKEN", TOKEN)
        .env("ORCH_LOG", "info");
    let mut dev = orch.spawn(&["dev"], "dev.log");
    let base = format!(
        "http://{}",
        served_at(&orch, "dev.log", "orch dev: http://").await
    );
    let shots = artifacts_dir();

    let seen = drive(&base, &shots).await;
    let log = orch.log("dev.log");

    // Refused before logging in: sent to the login form, and nothing was launched then (the
    // one run in the store at the end is the one launched after logging in).
    let refused = seen["refused_url"].as_str().unwrap();
    assert!(
        refused.starts_with(&format!("{base}/login")),
        "a click without logging in was not refused: {seen}"
    );
    assert_eq!(seen["refused_has_login_form"], true, "{seen}");
    assert!(
        seen["after_login_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/jobs/{JOB}")),
        "login did not lead back to the job: {seen}"
    );
    // The form's prefilled config is the job's defaults, with the upstream from the env.
    let defaults: Value = serde_json::from_str(seen["default_config"].as_str().unwrap()).unwrap();
    assert_eq!(defaults["source_url"], upstream.url(Route::Posts), "{seen}");
    // A bad config is shown on the form, as typed, and creates no run.
    let error = seen["bad_config_error"].as_str().unwrap_or_default();
    assert!(error.contains("no_such_key"), "{seen}");
    assert_eq!(seen["bad_config_kept"], "{\"no_such_key\": 1}", "{seen}");

    // The launched run reached SUCCESS on its page, followed live (no reload).
    assert_eq!(seen["final_status"], "SUCCESS", "{seen}\n{log}");
    assert_eq!(seen["reloads_while_watching"], 0, "{seen}");
    assert!(seen["timeline_bars"].as_u64().unwrap() >= 3, "{seen}");
    // The facts and buttons followed too: a start time, and Re-execute now that it ended.
    assert_ne!(seen["started_text"], "—", "{seen}");
    assert_eq!(seen["reexecute_buttons"], 1, "{seen}");
    let run_id = seen["run_id"].as_str().unwrap();
    let runs = orch.list_ids(&[]).await;
    assert_eq!(runs, vec![run_id.to_owned()], "exactly one run was created");
    let run = orch.show(run_id).await;
    assert_eq!(run["status"], "SUCCESS");
    let events = seen["events_text"].as_str().unwrap();
    for step in ["fetch_data", "process_data", "store_to_s3"] {
        assert!(events.contains(step), "{step} missing from the event log");
    }

    // The asset page shows that run's materialization, with the object's s3:// URI.
    let keys = bucket.keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let uri = format!("s3://{}/{}", bucket.name, keys[0]);
    let latest = seen["latest_text"].as_str().unwrap();
    assert!(
        latest.contains(&uri),
        "{uri} not on the asset page: {latest}"
    );
    let links: Vec<&str> = seen["latest_links"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        links.contains(&format!("/runs/{run_id}").as_str()),
        "{links:?}"
    );
    for shot in ["run.png", "asset.png"] {
        let size = std::fs::metadata(shots.join(shot)).unwrap().len();
        assert!(size > 10_000, "{shot} is {size} bytes");
    }
    assert!(!log.contains(TOKEN), "the token was logged");

    dev.kill().await.unwrap();
    bucket.delete().await;
    db.drop_database().await;
}
