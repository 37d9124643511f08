//! Command assets through the binary, from job files: the Python product job of
//! `examples/python-product-job` (the real `dagster-pipes` package, and boto3 for S3) writes the
//! same object with the same metadata and checks as the Rust seed, on local files and on the S3
//! API server; a cancel through `orch dev`'s daemon and the local launcher ends the whole process
//! tree of a command asset. (Rust and command assets in one job, both ways, are tested at the
//! worker: `worker::executor commands::outputs_flow_through_files_across_command_and_rust_assets`.)

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;

use crate::support::{
    Orch, Route, TestBucket, Upstream, alive, assert_object_key, assert_summary, events_of,
    eventually, init, served_at,
};

const PY_JOB: &str = "py_product_job";

fn example_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/python-product-job")
        .canonicalize()
        .expect("examples/python-product-job")
}

/// `python3` on PATH is the tools venv's, which has dagster-pipes and boto3 (scripts/py-tools.sh).
fn with_venv_python(orch: Orch) -> Orch {
    let python = std::env::var("ORCH_PYTHON")
        .expect("ORCH_PYTHON is not set: run `eval \"$(scripts/test-services.sh)\"` first");
    let bin = std::path::Path::new(&python)
        .parent()
        .expect("the venv's bin");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    orch.env("PATH", path)
}

/// (asset, metadata) of each materialization.
type Materializations = Vec<(String, Value)>;
/// (check, passed, metadata) of each check evaluation.
type Checks = Vec<(Value, Value, Value)>;

/// The materialization metadata of each step, and the checks of fetch_data.
fn metadata_and_checks(run: &Value) -> (Materializations, Checks) {
    let metadata = events_of(run, "ASSET_MATERIALIZATION", None)
        .iter()
        .map(|e| {
            (
                e["asset_key"].as_str().unwrap().to_owned(),
                e["metadata"].clone(),
            )
        })
        .collect();
    let checks = events_of(run, "ASSET_CHECK_EVALUATION", Some("fetch_data"))
        .iter()
        .map(|e| {
            (
                e["check"].clone(),
                e["passed"].clone(),
                e["metadata"].clone(),
            )
        })
        .collect();
    (metadata, checks)
}

/// Runs `job` with `orch`, returns the run and the time window of the run.
async fn run_job(
    orch: &Orch,
    job: &str,
    source: &str,
) -> (Value, chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    let before = Utc::now();
    let out = orch
        .run(&["run", job, "--config", &format!("source_url={source}")])
        .await;
    let after = Utc::now();
    out.assert_exit(0);
    (orch.show(&out.run_id()).await, before, after)
}

#[tokio::test]
async fn the_python_product_job_writes_the_seeds_object_and_metadata_on_local_files() {
    init();
    let upstream = Upstream::start().await;
    let source = upstream.url(Route::Posts);
    let orch =
        with_venv_python(Orch::local()).env("ORCH_JOBS_DIR", example_dir().display().to_string());

    let (python, before, after) = run_job(&orch, PY_JOB, &source).await;
    assert_eq!(python["status"], "SUCCESS", "{python:#}");
    let objects = orch.home().join("objects");
    let names: Vec<String> = std::fs::read_dir(&objects)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert_object_key(&names[0], before, after);
    assert_summary(&std::fs::read(objects.join(&names[0])).unwrap());

    // The Rust seed on the same posts: the same metadata (but the object's own name and
    // size, which depend on the second it ran) and the same checks.
    std::fs::remove_file(objects.join(&names[0])).unwrap();
    let (rust, _, _) = run_job(&orch, "product_pipeline_job", &source).await;
    let (py_meta, py_checks) = metadata_and_checks(&python);
    let (rust_meta, rust_checks) = metadata_and_checks(&rust);
    assert_eq!(py_checks, rust_checks);
    assert_eq!(py_checks.len(), 2);
    let keys = |m: &[(String, Value)]| -> Vec<(String, Vec<String>)> {
        m.iter()
            .map(|(a, v)| (a.clone(), v.as_object().unwrap().keys().cloned().collect()))
            .collect()
    };
    assert_eq!(keys(&py_meta), keys(&rust_meta));
    for ((asset, py), (_, rust)) in py_meta.iter().zip(&rust_meta) {
        for (key, value) in py.as_object().unwrap() {
            if key != "uri" {
                assert_eq!(value, &rust[key], "{asset}.{key}");
            }
        }
    }
    let uri = py_meta[2].1["uri"].as_str().unwrap();
    assert!(uri.ends_with(&format!("objects/{}", names[0])), "{uri}");
    assert!(
        std::path::Path::new(uri).is_absolute(),
        "ORCH_HOME reached the script absolute: {uri}"
    );
}

#[tokio::test]
async fn the_python_product_job_writes_the_seeds_object_to_s3() {
    init();
    let upstream = Upstream::start().await;
    let bucket = TestBucket::create().await;
    let orch = with_venv_python(Orch::local())
        .on_bucket(&bucket)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("ORCH_JOBS_DIR", example_dir().display().to_string());
    let (run, before, after) = run_job(&orch, PY_JOB, &upstream.url(Route::Posts)).await;
    assert_eq!(run["status"], "SUCCESS", "{run:#}");
    let keys = bucket.keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_object_key(&keys[0], before, after);
    let object = bucket.get(&keys[0]).await;
    assert_eq!(object.content_type.as_deref(), Some("application/json"));
    assert_summary(&object.body);
    let (metadata, _) = metadata_and_checks(&run);
    assert_eq!(
        metadata[2].1["uri"],
        format!("s3://{}/{}", bucket.name, keys[0])
    );
    assert_eq!(metadata[2].1["size_bytes"], object.body.len());
    assert_eq!(metadata[2].1["count"], 100);
    bucket.delete().await;
}

/// A job whose one asset starts a grandchild that ignores SIGTERM, writes its pid, then waits.
const TREE_JOB: &str = r#"name = "tree_job"
[[assets]]
name = "tree"
command = ["sh", "-c", "sh -c 'trap \"\" TERM; sleep 120' & echo $! > \"$PID_FILE\"; sleep 120"]
"#;

#[tokio::test]
async fn a_cancel_through_the_daemon_ends_the_whole_tree_of_a_command_asset() {
    init();
    let jobs = tempfile::tempdir().unwrap();
    std::fs::write(jobs.path().join("tree.toml"), TREE_JOB).unwrap();
    let pid_file = jobs.path().join("grandchild.pid");
    let orch = Orch::local()
        .env("ORCH_WEB_ADDR", "127.0.0.1:0")
        .env("ORCH_JOBS_DIR", jobs.path().display().to_string())
        .env("ORCH_COMMAND_GRACE", "500ms")
        .env("PID_FILE", pid_file.display().to_string());
    let mut dev = orch.spawn(&["dev", "--launch", "tree_job"], "dev.log");
    let page = served_at(&orch, "dev.log", "; open ").await;
    let id = page.rsplit('/').next().unwrap().to_owned();
    let mut grandchild = 0;
    eventually("the grandchild starts", Duration::from_secs(20), || {
        let read = std::fs::read_to_string(&pid_file).ok();
        if let Some(pid) = read.and_then(|s| s.trim().parse().ok()) {
            grandchild = pid;
        }
        async move { grandchild != 0 }
    })
    .await;
    assert!(alive(grandchild));
    orch.run(&["runs", "cancel", &id]).await.assert_exit(0);
    eventually("the run ends CANCELED", Duration::from_secs(20), || async {
        orch.show(&id).await["status"] == "CANCELED"
    })
    .await;
    assert!(
        !alive(grandchild),
        "grandchild {grandchild} outlived the cancel\n{}",
        orch.log("dev.log")
    );
    let run = orch.show(&id).await;
    assert_eq!(
        events_of(&run, "STEP_CANCELED", Some("tree")).len(),
        1,
        "{run:#}"
    );
    dev.kill().await.unwrap();
}
