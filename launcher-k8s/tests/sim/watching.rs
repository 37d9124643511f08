//! What the launcher learns from its watches: the pod's environment and settings as launched,
//! inspect from the watched state, another replica's view, and the clean-up of orphaned Jobs.

use std::collections::BTreeMap;
use std::time::Duration;

use launcher_k8s::{ClusterAccess, KubernetesLauncher, KubernetesLauncherOptions};
use orchestrator::domain::RunStatus;
use orchestrator::launcher::{Launcher, WorkerHandle, WorkerState};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::{Harness, NS, definitions, settings};
use orch_test_support::wait::until_some;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pod_runs_with_the_configured_env_and_the_job_and_run_overrides() {
    // The operator lets runs pick the image and env here (not the default list).
    let h = Harness::start(json!({"namespace": NS, "image": "sleeper:1",
        "env": {"FROM_ENV": "default"}, "env_from_secrets": ["run-env"],
        "node_selector": {"karpenter.sh/capacity-type": "spot"},
        "run_overridable": ["image", "env", "node_selector"]}))
    .await;
    h.sim.put_secret(
        NS,
        "run-env",
        BTreeMap::from([("FROM_SECRET".to_owned(), "s3cret".to_owned())]),
    );
    let run = h
        .queue(&[(
            "orch/k8s_config",
            r#"{"image": "env:1", "env": {"FROM_ENV": "tag"}}"#,
        )])
        .await;
    let job = h.job_of(&run).await;
    let pod = h.running_pod(&job).await;
    let log = until_some("the pod logs its env", Duration::from_secs(5), async || {
        h.sim.pod_log(NS, &pod).filter(|l| l.contains("FROM_ENV"))
    })
    .await;
    assert!(
        log.contains("FROM_ENV=tag FROM_SECRET=s3cret HOME_DIR_OK=yes"),
        "{log}"
    );
    let stored = h
        .sim
        .jobs(NS)
        .into_iter()
        .find(|j| j["metadata"]["name"] == job.as_str())
        .unwrap();
    let spec = &stored["spec"]["template"]["spec"];
    assert_eq!(
        spec["nodeSelector"]["karpenter.sh/capacity-type"], "on-demand",
        "the job's setting wins"
    );
    assert_eq!(
        spec["containers"][0]["image"], "env:1",
        "the run's tag wins"
    );
    assert_eq!(
        stored["metadata"]["labels"]["orch/run-id"],
        run.id.to_string()
    );
    let handle = WorkerHandle(h.store.get_run(run.id).await.unwrap().worker.unwrap());
    assert_eq!(
        h.launcher.inspect(run.id, &handle).await,
        WorkerState::Running
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_the_default_run_overridable_allows_reaches_the_job_manifest() {
    let h = Harness::start(json!({"namespace": NS, "image": "sleeper:1",
        "resources": {"limits": {"memory": "1Gi"}}}))
    .await;
    let run = h
        .queue(&[(
            "orch/k8s_config",
            r#"{"resources": {"limits": {"memory": "2Gi"}}, "labels": {"team": "data"},
                "tolerations": [{"key": "orch.io/runs", "operator": "Exists"}]}"#,
        )])
        .await;
    let job = h.job_of(&run).await;
    let stored = h
        .sim
        .jobs(NS)
        .into_iter()
        .find(|j| j["metadata"]["name"] == job.as_str())
        .unwrap();
    let spec = &stored["spec"]["template"]["spec"];
    assert_eq!(
        spec["containers"][0]["resources"]["limits"]["memory"], "2Gi",
        "the run's resources win: {spec}"
    );
    assert_eq!(spec["tolerations"][0]["key"], "orch.io/runs", "{spec}");
    assert_eq!(spec["containers"][0]["image"], "sleeper:1");
    assert_eq!(stored["metadata"]["labels"]["team"], "data", "{stored}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_replica_sees_the_job_through_its_own_watch() {
    let h = Harness::start(json!({"namespace": NS, "image": "crash:1"})).await;
    let run = h.queue(&[]).await;
    h.job_of(&run).await;
    h.ended(&run).await;
    let handle = WorkerHandle(h.store.get_run(run.id).await.unwrap().worker.unwrap());
    let shutdown = CancellationToken::new();
    let client = launcher_k8s::connect(&ClusterAccess::Url(h.sim.url()))
        .await
        .unwrap();
    let options = KubernetesLauncherOptions::new(
        settings(json!({"namespace": NS, "image": "x"})),
        definitions(),
    );
    let replica = KubernetesLauncher::start(client, options, shutdown.clone());
    assert!(replica.wait_synced(Duration::from_secs(10)).await);
    match replica.inspect(run.id, &handle).await {
        WorkerState::Gone { reason } => assert!(reason.contains("exited with code 3"), "{reason}"),
        other => panic!("expected Gone, got {other:?}"),
    }
    let foreign = WorkerHandle(json!({"kind": "local", "pid": 1}));
    assert_eq!(
        replica.inspect(run.id, &foreign).await,
        WorkerState::Unknown
    );
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_of_a_run_that_ended_elsewhere_is_cleaned_up() {
    let h = Harness::start_with(
        json!({"namespace": NS, "image": "sleeper:1", "run_overridable": ["image"]}),
        |_| {},
        |mut o| {
            o.cleanup_interval = Duration::from_millis(500);
            o
        },
    )
    .await;
    let run = h.queue(&[]).await;
    let job = h.job_of(&run).await;
    h.running_pod(&job).await;
    // The run ends without its pod (say a daemon failed it and crashed before deleting the Job).
    h.store
        .transition_run(run.id, RunStatus::Failure, Some("ended elsewhere"))
        .await
        .unwrap();
    h.job_gone(&job).await;
    // Background propagation: the pod goes after its Job, once its process has ended.
    until_some(
        "the Job's pods are gone",
        Duration::from_secs(10),
        async || h.sim.pods_of_job(NS, &job).is_empty().then_some(()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_that_expire_and_relist_keep_a_running_pod_running_and_still_see_its_end() {
    // Watches end every 300 ms; after each compaction, a watcher behind the head gets 410
    // Expired and relists, as after a long disconnection from a real API server.
    let h = Harness::start_with(
        json!({"namespace": NS, "image": "sleeper:1", "run_overridable": ["image"]}),
        |sim| sim.max_watch = Some(Duration::from_millis(300)),
        |o| o,
    )
    .await;
    let run = h.queue(&[]).await;
    let job = h.job_of(&run).await;
    let pod = h.running_pod(&job).await;
    // Churn (another run comes and goes, so resourceVersions move on), then compaction, until
    // a watcher behind the head has been told 410 Expired and relisted.
    for _ in 0..3 {
        let other = h
            .queue(&[("orch/k8s_config", r#"{"image": "crash:1"}"#)])
            .await;
        h.ended(&other).await;
        h.sim.compact();
        tokio::time::sleep(Duration::from_millis(700)).await;
        if h.sim.expired_watches() > 0 {
            break;
        }
    }
    assert!(h.sim.expired_watches() > 0, "no watch was ever expired");
    // The relist (after kube-rs's backoff) lists the running pod again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let handle = WorkerHandle(h.store.get_run(run.id).await.unwrap().worker.unwrap());
    assert_eq!(
        h.launcher.inspect(run.id, &handle).await,
        WorkerState::Running
    );
    assert!(!h.store.get_run(run.id).await.unwrap().status.is_terminal());

    h.sim.oom_kill_pod(NS, &pod).unwrap();
    let ended = h.ended(&run).await;
    assert_eq!(ended.status, RunStatus::Failure);
    let message = h.end_message(&run).await;
    assert!(
        message.contains(&format!("pod {pod} was OOMKilled")),
        "{message}"
    );
}
