//! `orch daemon` with the Kubernetes launcher, end to end: the daemon (a real `orch` process)
//! talks through kube-rs to k8s-sim, the stand-in API server in this test process; the
//! simulated kubelet runs each run's pod as the real `orch worker` binary with the pod's
//! environment (orch.toml `env` and a Secret through `envFrom`), against PostgreSQL, moto's S3
//! server and the fixture upstream.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_sim::{KubeSim, SimImage, SimOptions};
use orchestrator::domain::{JobName, NewRun, RunId, Tags};
use serde_json::{Value, json};

use crate::support::{
    JOB, Orch, Route, TestBucket, TestDb, Upstream, alive, assert_summary, eventually, init,
    orch_bin, region, required_env,
};

const NS: &str = "orch-runs";
const IMAGE: &str = "registry.example/orch:e2e";

/// A simulated cluster whose image `IMAGE` is this build's `orch`, a Secret with the worker's
/// credentials, and an `orch` whose orch.toml selects the Kubernetes launcher.
async fn cluster(db: &TestDb, bucket: &TestBucket) -> (KubeSim, Orch) {
    let orch = Orch::local()
        .on_postgres(db)
        .env("ORCH_MONITOR_INTERVAL", "100ms")
        .env("ORCH_TERMINATION_GRACE", "5s");
    let sim = KubeSim::start(SimOptions::new(orch.home())).await.unwrap();
    sim.register_image(
        IMAGE,
        SimImage::new([orch_bin().display().to_string()]).env("PATH", "/usr/bin:/bin"),
    );
    sim.put_secret(
        NS,
        "orch-run-env",
        BTreeMap::from([
            ("DATABASE_URL".to_owned(), db.url.clone()),
            (
                "AWS_ACCESS_KEY_ID".to_owned(),
                required_env("AWS_ACCESS_KEY_ID"),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                required_env("AWS_SECRET_ACCESS_KEY"),
            ),
        ]),
    );
    let kubeconfig = sim
        .write_kubeconfig(&orch.home().join("kubeconfig"), NS)
        .unwrap();
    let toml = format!(
        r#"[launcher]
kind = "kubernetes"

[launcher.kubernetes]
namespace = "{NS}"
image = "{IMAGE}"
image_pull_policy = "IfNotPresent"
service_account = "orch-run"
env_from_secrets = ["orch-run-env"]
env = {{ S3_BUCKET_NAME = "{bucket}", AWS_ENDPOINT_URL = "{endpoint}", AWS_REGION = "{region}", AWS_EC2_METADATA_DISABLED = "true", ORCH_HEARTBEAT_INTERVAL = "1s", ORCH_COMMAND_GRACE = "500ms" }}
resources = {{ requests = {{ cpu = "250m", memory = "256Mi" }}, limits = {{ memory = "1Gi" }} }}
node_selector = {{ "karpenter.sh/capacity-type" = "spot" }}
ttl_seconds_after_finished = 3600
"#,
        bucket = bucket.name,
        endpoint = bucket.endpoint,
        region = region(),
    );
    std::fs::write(orch.home().join("orch.toml"), toml).unwrap();
    let orch = orch.env("KUBECONFIG", kubeconfig.display().to_string());
    (sim, orch)
}

fn job_of(sim: &KubeSim, run: &str) -> Option<Value> {
    sim.jobs(NS)
        .into_iter()
        .find(|j| j["metadata"]["labels"]["orch/run-id"] == run)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_runs_product_pipeline_job_as_a_kubernetes_job() {
    init();
    let upstream = Upstream::start().await;
    let db = TestDb::create().await;
    let bucket = TestBucket::create().await;
    let (sim, orch) = cluster(&db, &bucket).await;
    let mut daemon = orch.spawn(&["daemon"], "daemon.log");

    let source = format!("source_url={}", upstream.url(Route::Posts));
    let out = orch
        .run(&["launch", JOB, "--config", &source, "--wait"])
        .await;
    out.assert_exit(0);
    let id = out
        .stdout
        .split_whitespace()
        .find(|w| RunId::parse(w).is_ok())
        .unwrap_or_else(|| panic!("no run id in {out}\n{}", orch.log("daemon.log")))
        .to_owned();
    let run = orch.show(&id).await;
    assert_eq!(
        run["status"],
        "SUCCESS",
        "{run:#}\n{}",
        orch.log("daemon.log")
    );
    assert_eq!(upstream.hits(Route::Posts), 1);
    let keys = bucket.keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_summary(&bucket.get(&keys[0]).await.body);

    let job = job_of(&sim, &id).expect("the run's Job");
    let name = job["metadata"]["name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("orch-product-pipeline-job-"), "{name}");
    assert_eq!(run["worker"]["kind"], "kubernetes", "{run:#}");
    assert_eq!(run["worker"]["job"], name.as_str());
    let pod_spec = &job["spec"]["template"]["spec"];
    assert_eq!(pod_spec["serviceAccountName"], "orch-run");
    assert_eq!(
        pod_spec["nodeSelector"]["karpenter.sh/capacity-type"],
        "spot"
    );
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert!(
        job["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Complete")
    );
    let pods = sim.pods_of_job(NS, &name);
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0]["status"]["phase"], "Succeeded");
    assert_eq!(
        pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        0
    );

    daemon.kill().await.unwrap();
    db.drop_database().await;
    bucket.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_deletes_the_run_job_and_the_worker_records_canceled() {
    init();
    let upstream = Upstream::start().await;
    let db = TestDb::create().await;
    let bucket = TestBucket::create().await;
    let (sim, orch) = cluster(&db, &bucket).await;
    let store = orch.store().await;
    let queued = NewRun::queued(
        JobName::parse(JOB).unwrap(),
        json!({"source_url": upstream.url(Route::Slow), "timeout_seconds": 30}),
        Tags::new(),
    );
    let id = store.create_run(&queued).await.unwrap().id;
    let mut daemon = orch.spawn(&["daemon"], "daemon.log");
    eventually(
        "fetch_data's request from the pod",
        Duration::from_secs(30),
        || async { upstream.hits(Route::Slow) == 1 },
    )
    .await;
    let name = job_of(&sim, &id.to_string()).unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_owned();

    orch.run(&["runs", "cancel", &id.to_string()])
        .await
        .assert_exit(0)
        .assert_says(&["CANCELING"]);
    eventually("the end of the run", Duration::from_secs(20), || async {
        store.get_run(id).await.unwrap().status.is_terminal()
    })
    .await;
    eventually("the Job's deletion", Duration::from_secs(20), || async {
        sim.jobs(NS)
            .iter()
            .all(|j| j["metadata"]["name"] != name.as_str())
    })
    .await;
    let run = orch.show(&id.to_string()).await;
    assert_eq!(
        run["status"],
        "CANCELED",
        "{run:#}\n{}",
        orch.log("daemon.log")
    );
    assert!(
        sim.pods_of_job(NS, &name).is_empty(),
        "the pod went with its Job"
    );

    daemon.kill().await.unwrap();
    drop(store);
    db.drop_database().await;
    bucket.delete().await;
}

/// A job file whose one asset starts a grandchild that ignores SIGTERM and writes its pid.
fn tree_job(pid_file: &std::path::Path) -> String {
    format!(
        r#"name = "tree_job"
[[assets]]
name = "tree"
command = ["sh", "-c", "sh -c 'trap \"\" TERM; sleep 120' & echo $! > \"$PID_FILE\"; sleep 120"]
env = {{ PID_FILE = "{}" }}
"#,
        pid_file.display()
    )
}

/// A cancel reaches a command asset in a run pod: the daemon deletes the Job, the kubelet sends
/// the pod's `orch worker` SIGTERM, and the worker ends the command's whole process group
/// (SIGTERM, SIGKILL after ORCH_COMMAND_GRACE) before its own grace runs out, so the grandchild
/// that ignores SIGTERM is gone too. (k8s-sim's kubelet, unlike a real one, does not kill the
/// rest of the container after the grace: only the worker's own work can pass this.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_in_a_run_pod_ends_the_whole_tree_of_a_command_asset() {
    init();
    let db = TestDb::create().await;
    let bucket = TestBucket::create().await;
    let (sim, orch) = cluster(&db, &bucket).await;
    let jobs = orch.home().join("jobs");
    std::fs::create_dir_all(&jobs).unwrap();
    let pid_file = orch.home().join("grandchild.pid");
    std::fs::write(jobs.join("tree.toml"), tree_job(&pid_file)).unwrap();
    let mut daemon = orch.spawn(&["daemon"], "daemon.log");
    let out = orch.run(&["launch", "tree_job"]).await;
    out.assert_exit(0);
    let id = out.stdout.trim().to_owned();
    let mut grandchild = 0;
    eventually(
        "the grandchild starts in the pod",
        Duration::from_secs(30),
        || {
            let read = std::fs::read_to_string(&pid_file).ok();
            if let Some(pid) = read.and_then(|s| s.trim().parse().ok()) {
                grandchild = pid;
            }
            async move { grandchild != 0 }
        },
    )
    .await;
    assert!(alive(grandchild));
    let name = job_of(&sim, &id).expect("the run's Job")["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_owned();

    orch.run(&["runs", "cancel", &id]).await.assert_exit(0);
    eventually("the run ends", Duration::from_secs(30), || async {
        let status = orch.show(&id).await["status"].clone();
        status == "CANCELED" || status == "FAILURE"
    })
    .await;
    let run = orch.show(&id).await;
    assert_eq!(
        run["status"],
        "CANCELED",
        "{run:#}\n{}",
        orch.log("daemon.log")
    );
    eventually("the grandchild's end", Duration::from_secs(10), || async {
        !alive(grandchild)
    })
    .await;
    eventually("the Job's deletion", Duration::from_secs(20), || async {
        sim.jobs(NS)
            .iter()
            .all(|j| j["metadata"]["name"] != name.as_str())
    })
    .await;
    daemon.kill().await.unwrap();
    db.drop_database().await;
    bucket.delete().await;
}
