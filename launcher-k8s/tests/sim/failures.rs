//! Every way a run's pod can end badly ends the run FAILURE with that reason in words.

use std::time::Duration;

use orchestrator::domain::{EventKind, RunStatus};
use orchestrator::run_control::cancel_run;
use serde_json::json;

use crate::support::{Harness, NS};
use orch_test_support::wait::until;

fn failed(run: &orchestrator::domain::Run) {
    assert_eq!(run.status, RunStatus::Failure, "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_that_exits_with_an_error_fails_the_run_with_its_exit_code() {
    let h = Harness::start(json!({"namespace": NS, "image": "crash:1"})).await;
    let run = h.queue(&[]).await;
    let job = h.job_of(&run).await;
    failed(&h.ended(&run).await);
    let message = h.end_message(&run).await;
    assert!(
        message.contains(&format!("pod {job}-")) && message.contains("exited with code 3"),
        "{message}"
    );
    let pod = h.sim.pods_of_job(NS, &job).pop().unwrap();
    assert_eq!(pod["status"]["phase"], "Failed");
    let pod = pod["metadata"]["name"].as_str().unwrap();
    let log = h.sim.pod_log(NS, pod).unwrap();
    assert!(log.contains("boom"), "{log}");
    // The pod's last lines are copied into the run's events.
    let expected = format!("last lines of the worker's output (pod {pod}):\nboom");
    until(
        "a LOG event with the pod's output",
        Duration::from_secs(5),
        async || {
            let events = h.store.list_events(run.id, None, 0).await.unwrap();
            events
                .iter()
                .any(|e| matches!(&e.kind, EventKind::Log { message, .. } if *message == expected))
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oom_killed_pod_fails_the_run_saying_so() {
    let h = Harness::start(json!({"namespace": NS, "image": "sleeper:1"})).await;
    let run = h.queue(&[]).await;
    let job = h.job_of(&run).await;
    let pod = h.running_pod(&job).await;
    h.sim.oom_kill_pod(NS, &pod).unwrap();
    failed(&h.ended(&run).await);
    let message = h.end_message(&run).await;
    assert!(
        message.contains(&format!("pod {pod} was OOMKilled (exit code 137)")),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_cannot_be_pulled_fails_the_run_after_the_grace_and_deletes_the_job() {
    let h = Harness::start(
        json!({"namespace": NS, "image": "nowhere/missing:1", "image_pull_grace": "1s"}),
    )
    .await;
    let run = h.queue(&[]).await;
    let job = h.job_of(&run).await;
    failed(&h.ended(&run).await);
    let message = h.end_message(&run).await;
    assert!(message.contains("could not start for 1s"), "{message}");
    assert!(message.contains("for image nowhere/missing:1"), "{message}");
    h.job_gone(&job).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_env_secret_is_reported_like_a_pull_error() {
    let h = Harness::start(json!({"namespace": NS, "image": "sleeper:1",
        "env_from_secrets": ["absent"], "image_pull_grace": "1s"}))
    .await;
    let run = h.queue(&[]).await;
    failed(&h.ended(&run).await);
    let message = h.end_message(&run).await;
    assert!(
        message.contains("CreateContainerConfigError")
            && message.contains("secret \"absent\" not found"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_deleted_mid_run_fails_the_run() {
    let h = Harness::start(json!({"namespace": NS, "image": "sleeper:1"})).await;
    let run = h.queue(&[]).await;
    let job = h.job_of(&run).await;
    let pod = h.running_pod(&job).await;
    h.sim.delete_pod(NS, &pod).unwrap();
    failed(&h.ended(&run).await);
    let message = h.end_message(&run).await;
    assert!(
        message.contains(&format!("pod {pod} was deleted before it finished")),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_deleted_from_outside_fails_the_run() {
    let h = Harness::start(json!({"namespace": NS, "image": "sleeper:1"})).await;
    let run = h.queue(&[]).await;
    let job = h.job_of(&run).await;
    h.running_pod(&job).await;
    // As `kubectl delete job` does (background propagation).
    h.sim.delete_job(NS, &job, Some("Background")).unwrap();
    failed(&h.ended(&run).await);
    let message = h.end_message(&run).await;
    assert!(
        message.contains(&format!("Job {job} was deleted"))
            || message.contains("was deleted before it finished"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_node_fails_the_run_as_a_disruption() {
    let h = Harness::start(json!({"namespace": NS, "image": "sleeper:1"})).await;
    let run = h.queue(&[]).await;
    let job = h.job_of(&run).await;
    let pod = h.running_pod(&job).await;
    assert_eq!(h.sim.lose_node(), 1);
    failed(&h.ended(&run).await);
    let message = h.end_message(&run).await;
    assert!(
        message.contains(&format!(
            "pod {pod} was disrupted (DeletionByPodGC: PodGC: node no longer exists)"
        )),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evicted_pod_fails_the_run() {
    let h = Harness::start(json!({"namespace": NS, "image": "sleeper:1"})).await;
    let run = h.queue(&[]).await;
    let job = h.job_of(&run).await;
    let pod = h.running_pod(&job).await;
    h.sim.evict_pod(NS, &pod).unwrap();
    failed(&h.ended(&run).await);
    let message = h.end_message(&run).await;
    assert!(
        message.contains(&format!(
            "pod {pod} was evicted: The node was low on resource: memory"
        )),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_deletes_the_job_in_the_foreground_and_the_run_ends_canceled() {
    let h = Harness::start(json!({"namespace": NS, "image": "sleeper:1"})).await;
    let run = h.queue(&[]).await;
    let job = h.job_of(&run).await;
    let pod = h.running_pod(&job).await;
    cancel_run(h.store.as_ref(), run.id, "canceled by a test")
        .await
        .unwrap();
    let ended = h.ended(&run).await;
    assert_eq!(ended.status, RunStatus::Canceled, "{ended:?}");
    h.job_gone(&job).await;
    assert!(
        h.sim
            .pods(NS)
            .iter()
            .all(|p| p["metadata"]["name"] != pod.as_str()),
        "the pod is gone too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_run_tag_fails_the_launch_naming_the_tag() {
    let h = Harness::start(json!({"namespace": NS, "image": "sleeper:1"})).await;
    let run = h
        .queue(&[("orch/k8s_config", r#"{"namespace": "elsewhere"}"#)])
        .await;
    failed(&h.ended(&run).await);
    let message = h.end_message(&run).await;
    assert!(
        message.contains("tag orch/k8s_config: `namespace` can only be set"),
        "{message}"
    );
    assert!(h.sim.jobs(NS).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_tag_outside_run_overridable_fails_at_launch_and_creates_no_job() {
    // A run that got into the store without the front doors' check (an old run, a direct
    // insert): the launcher refuses it too.
    let h = Harness::start(json!({"namespace": NS, "image": "sleeper:1"})).await;
    let run = h
        .queue(&[(
            "orch/k8s_config",
            r#"{"image": "attacker/miner:1", "service_account": "admin"}"#,
        )])
        .await;
    failed(&h.ended(&run).await);
    let message = h.end_message(&run).await;
    assert!(
        message.contains("tag orch/k8s_config: `image` may not be set by a run"),
        "{message}"
    );
    assert!(message.contains("run_overridable"), "{message}");
    assert!(h.sim.jobs(NS).is_empty(), "a Job was created");
}
