//! The stand-in API server as the real kube-rs client sees it: Status errors, selectors, watch
//! replay from a resourceVersion, `410 Expired`, bookmarks, deletion propagation, pod logs, and
//! the kubelet running a pod with only the pod's environment.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_sim::{KubeSim, SimImage, SimOptions};
use kube::api::{DeleteParams, ListParams, LogParams, PostParams, WatchEvent, WatchParams};
use kube::{Api, Client, Config};
use serde_json::json;

const NS: &str = "sim";

async fn start(tune: impl FnOnce(&mut SimOptions)) -> (KubeSim, Client, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut options = SimOptions::new(dir.path());
    tune(&mut options);
    let sim = KubeSim::start(options).await.unwrap();
    sim.register_image(
        "sh:1",
        SimImage::new(["/bin/sh", "-c"]).env("PATH", "/usr/bin:/bin"),
    );
    let client = Client::try_from(Config::new(sim.url().parse().unwrap())).unwrap();
    (sim, client, dir)
}

fn job(name: &str, script: &str) -> Job {
    serde_json::from_value(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": {"app": "test", "name": name}},
        "spec": {"backoffLimit": 0, "template": {
            "metadata": {"labels": {"app": "test"}},
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": "c", "image": "sh:1", "args": [script], "env": [{"name": "GREETING", "value": "hi"}]}
            ]}}}
    }))
    .unwrap()
}

/// Waits for `probe` to give a value (test-support's one polling wait).
async fn wait_for<T>(probe: impl AsyncFnMut() -> Option<T>) -> T {
    orch_test_support::wait::until_some("the cluster's state", Duration::from_secs(10), probe).await
}

#[tokio::test]
async fn errors_are_status_objects_in_the_api_servers_words() {
    let (_sim, client, _dir) = start(|_| {}).await;
    let jobs: Api<Job> = Api::namespaced(client, NS);
    let kube::Error::Api(status) = jobs.get("nope").await.unwrap_err() else {
        panic!("not an API error")
    };
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    assert_eq!(status.message, "jobs.batch \"nope\" not found");
    jobs.create(&PostParams::default(), &job("a", "exit 0"))
        .await
        .unwrap();
    let kube::Error::Api(status) = jobs
        .create(&PostParams::default(), &job("a", "exit 0"))
        .await
        .unwrap_err()
    else {
        panic!("not an API error")
    };
    assert_eq!(
        (status.code, status.reason.as_str()),
        (409, "AlreadyExists")
    );
    let mut bad = job("b", "exit 0");
    bad.spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap()
        .restart_policy = Some("Always".into());
    let kube::Error::Api(status) = jobs.create(&PostParams::default(), &bad).await.unwrap_err()
    else {
        panic!("not an API error")
    };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    assert!(
        status.message.contains("restartPolicy"),
        "{}",
        status.message
    );
}

#[tokio::test]
async fn a_job_runs_its_pod_with_the_pods_env_and_completes() {
    let (_sim, client, _dir) = start(|_| {}).await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), NS);
    let pods: Api<Pod> = Api::namespaced(client, NS);
    jobs.create(
        &PostParams::default(),
        &job("envy", "env | sort; echo done"),
    )
    .await
    .unwrap();
    let done = wait_for(async || {
        let j = jobs.get("envy").await.ok()?;
        let conditions = j.status?.conditions?;
        conditions
            .iter()
            .any(|c| c.type_ == "Complete")
            .then_some(())
    })
    .await;
    let () = done;
    let listed = pods
        .list(&ListParams::default().labels("batch.kubernetes.io/job-name=envy"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let pod = &listed.items[0];
    assert_eq!(
        pod.status.as_ref().unwrap().phase.as_deref(),
        Some("Succeeded")
    );
    let name = pod.metadata.name.clone().unwrap();
    assert!(
        name.starts_with("envy-") && name.len() == "envy-".len() + 5,
        "{name}"
    );
    let log = pods.logs(&name, &LogParams::default()).await.unwrap();
    assert!(
        log.contains("GREETING=hi") && log.contains("PATH=/usr/bin:/bin"),
        "{log}"
    );
    assert!(
        !log.contains("CARGO"),
        "the test's environment leaked into the pod:\n{log}"
    );
    let tail = pods
        .logs(
            &name,
            &LogParams {
                tail_lines: Some(1),
                ..LogParams::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(tail, "done\n");
}

#[tokio::test]
async fn label_selectors_filter_lists() {
    let (_sim, client, _dir) = start(|_| {}).await;
    let jobs: Api<Job> = Api::namespaced(client, NS);
    for name in ["one", "two"] {
        jobs.create(&PostParams::default(), &job(name, "exit 0"))
            .await
            .unwrap();
    }
    let names = |list: kube::core::ObjectList<Job>| -> Vec<String> {
        list.items
            .into_iter()
            .map(|j| j.metadata.name.unwrap())
            .collect()
    };
    assert_eq!(
        names(
            jobs.list(&ListParams::default().labels("name=two"))
                .await
                .unwrap()
        ),
        ["two"]
    );
    assert_eq!(
        names(
            jobs.list(&ListParams::default().labels("name in (one,two),app"))
                .await
                .unwrap()
        )
        .len(),
        2
    );
    assert!(
        names(
            jobs.list(&ListParams::default().labels("app!=test"))
                .await
                .unwrap()
        )
        .is_empty()
    );
}

#[tokio::test]
async fn a_watch_replays_from_its_resource_version_and_sends_bookmarks() {
    let (_sim, client, _dir) = start(|o| o.bookmark_interval = Duration::from_millis(200)).await;
    let jobs: Api<Job> = Api::namespaced(client, NS);
    let list = jobs.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    jobs.create(&PostParams::default(), &job("w", "exit 0"))
        .await
        .unwrap();
    let params = WatchParams::default().labels("name=w").timeout(5);
    let mut stream = jobs.watch(&params, &rv).await.unwrap().boxed();
    let mut added = false;
    let mut completed = false;
    let mut bookmark = false;
    while let Some(event) = tokio::time::timeout(Duration::from_secs(6), stream.try_next())
        .await
        .unwrap()
        .unwrap()
    {
        match event {
            WatchEvent::Added(j) => added |= j.metadata.name.as_deref() == Some("w"),
            WatchEvent::Modified(j) => {
                completed |= j
                    .status
                    .and_then(|s| s.conditions)
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Complete"));
            }
            WatchEvent::Bookmark(_) => bookmark = true,
            other => panic!("unexpected {other:?}"),
        }
        if added && completed && bookmark {
            break;
        }
    }
    assert!(
        added && completed && bookmark,
        "added {added} completed {completed} bookmark {bookmark}"
    );
}

#[tokio::test]
async fn a_watch_from_a_compacted_version_gets_410_expired() {
    let (_sim, client, _dir) = start(|o| o.history_limit = 3).await;
    let jobs: Api<Job> = Api::namespaced(client, NS);
    for name in ["c1", "c2", "c3"] {
        jobs.create(&PostParams::default(), &job(name, "exit 0"))
            .await
            .unwrap();
    }
    let mut stream = jobs
        .watch(&WatchParams::default().timeout(2), "1")
        .await
        .unwrap()
        .boxed();
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Error(e)) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
}

#[tokio::test]
async fn foreground_deletion_keeps_the_job_until_its_pod_is_gone_and_orphan_keeps_the_pod() {
    let (sim, client, _dir) = start(|_| {}).await;
    let jobs: Api<Job> = Api::namespaced(client.clone(), NS);
    for name in ["fg", "orphan"] {
        jobs.create(
            &PostParams::default(),
            &job(name, "trap 'sleep 0.3; exit 143' TERM; sleep 30 & wait"),
        )
        .await
        .unwrap();
    }
    for name in ["fg", "orphan"] {
        wait_for(async || {
            (sim.pods_of_job(NS, name).first()?["status"]["phase"] == "Running").then_some(())
        })
        .await;
    }
    let marked = jobs
        .delete("fg", &DeleteParams::foreground())
        .await
        .unwrap();
    let job = marked
        .left()
        .expect("the Job is returned while its pod terminates");
    assert!(job.metadata.deletion_timestamp.is_some());
    assert_eq!(
        job.metadata.finalizers,
        Some(vec!["foregroundDeletion".to_owned()])
    );
    assert!(
        jobs.get("fg").await.is_ok(),
        "still there while the pod terminates"
    );
    wait_for(async || jobs.get("fg").await.is_err().then_some(())).await;
    assert!(sim.pods_of_job(NS, "fg").is_empty());

    jobs.delete("orphan", &DeleteParams::default())
        .await
        .unwrap();
    assert!(jobs.get("orphan").await.is_err());
    let pods: Api<Pod> = Api::namespaced(client, NS);
    let left = pods
        .list(&ListParams::default().labels("job-name=orphan"))
        .await
        .unwrap();
    assert_eq!(
        left.items.len(),
        1,
        "the default propagation for Jobs orphans the pod"
    );
}
