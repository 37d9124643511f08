//! Verdicts on Pods and Jobs as Kubernetes reports them.

use serde_json::{Value, json};

use super::*;

fn pod(status: Value) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": "p"}, "status": status})).unwrap()
}

fn terminated(reason: &str, code: i32) -> Value {
    json!([{"name": "worker", "image": "orch:1", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": code, "reason": reason}}}])
}

fn observed(pods: Vec<(Pod, bool)>, now: Instant) -> Observed {
    let mut o = Observed {
        job_name: Some("j".to_owned()),
        ..Observed::default()
    };
    for (p, deleted) in pods {
        o.pod_seen(p, deleted, now);
    }
    o
}

fn check(pods: Vec<(Pod, bool)>, expected: Verdict) {
    let now = Instant::now();
    assert_eq!(
        observed(pods, now).verdict(now, Duration::from_secs(60)),
        expected
    );
}

fn failed(reason: &str) -> Verdict {
    Verdict::Ended {
        success: false,
        reason: reason.to_owned(),
        delete_job: false,
    }
}

#[test]
fn pod_endings_in_words() {
    check(
        vec![(pod(json!({"phase": "Running"})), false)],
        Verdict::Going,
    );
    check(
        vec![(
            pod(json!({"phase": "Succeeded", "containerStatuses": terminated("Completed", 0)})),
            false,
        )],
        Verdict::Ended {
            success: true,
            reason: "pod p exited with code 0".into(),
            delete_job: false,
        },
    );
    check(
        vec![(
            pod(json!({"phase": "Failed", "containerStatuses": terminated("Error", 3)})),
            false,
        )],
        failed("pod p exited with code 3"),
    );
    check(
        vec![(
            pod(json!({"phase": "Failed", "containerStatuses": terminated("OOMKilled", 137)})),
            false,
        )],
        failed("pod p was OOMKilled (exit code 137)"),
    );
    check(
        vec![(
            pod(json!({"phase": "Failed", "reason": "Evicted",
                         "message": "The node was low on resource: memory."})),
            false,
        )],
        failed("pod p was evicted: The node was low on resource: memory."),
    );
    check(
        vec![(
            pod(
                json!({"phase": "Failed", "containerStatuses": terminated("Error", 137),
            "conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
                            "message": "PodGC: node no longer exists"}]}),
            ),
            true,
        )],
        failed(
            "pod p was disrupted (DeletionByPodGC: PodGC: node no longer exists) (exit code 137)",
        ),
    );
    check(
        vec![(pod(json!({"phase": "Running"})), true)],
        failed("pod p was deleted before it finished"),
    );
}

#[test]
fn job_conditions_and_deletion() {
    let now = Instant::now();
    let mut o = observed(vec![], now);
    let job = serde_json::from_value(json!({"status": {"conditions": [
        {"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
         "message": "Job was active longer than specified deadline"}]}}))
    .unwrap();
    o.job_seen(job, false, now);
    assert_eq!(
        o.verdict(now, Duration::ZERO),
        Verdict::Going,
        "waits for the pod's word"
    );
    assert_eq!(
        o.verdict(now + JOB_SETTLE, Duration::ZERO),
        failed("Job j failed: DeadlineExceeded: Job was active longer than specified deadline")
    );
    let mut o = observed(vec![], now);
    o.job_deleted = true;
    assert_eq!(o.verdict(now, Duration::ZERO), failed("Job j was deleted"));
}

#[test]
fn image_pull_errors_fail_only_after_the_grace() {
    let stuck = pod(
        json!({"phase": "Pending", "containerStatuses": [{"name": "worker",
        "image": "nope:1", "imageID": "", "ready": false, "restartCount": 0,
        "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]}),
    );
    let t0 = Instant::now();
    let o = observed(vec![(stuck, false)], t0);
    let grace = Duration::from_secs(5);
    assert_eq!(
        o.verdict(t0 + Duration::from_secs(4), grace),
        Verdict::Going
    );
    assert_eq!(
        o.verdict(t0 + grace, grace),
        Verdict::Ended {
            success: false,
            reason: "pod p could not start for 5s: ImagePullBackOff for image nope:1: Back-off pulling image".into(),
            delete_job: true,
        }
    );
}
