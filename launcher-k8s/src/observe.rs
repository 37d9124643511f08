//! What the watched Job and Pods of one run say about its worker: still going, or ended (and
//! how, in words for the run's failure message). Pure: the watch loop feeds objects in, the
//! clock is a parameter.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStateTerminated, Pod};

/// Container waiting reasons that mean the pod cannot start until someone fixes something;
/// after the grace period the run fails and its Job is deleted.
const STUCK_REASONS: [&str; 4] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
];

/// Everything seen of one run's Job and Pods.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The Job's name, once known (from the launch or the watch).
    pub job_name: Option<String>,
    pub job: Option<Job>,
    /// The Job was deleted (a watch `DELETED`, or missing from a relist).
    pub job_deleted: bool,
    /// Pods by name, the latest version of each; deleted pods stay here, marked.
    pub pods: BTreeMap<String, SeenPod>,
    /// Since when a pod has been stuck (image pull errors and the like).
    pub stuck_since: Option<Instant>,
    /// Since when the Job has had a `Complete` or `Failed` condition.
    pub job_done_since: Option<Instant>,
}

/// How long a Job's own end waits for its pod's to be seen: Jobs and Pods come through two
/// watches, in no guaranteed order, and the pod says more ("OOMKilled" beats
/// "BackoffLimitExceeded").
pub const JOB_SETTLE: Duration = Duration::from_secs(2);

/// A pod as last seen.
#[derive(Debug, Clone)]
pub struct SeenPod {
    pub pod: Pod,
    pub deleted: bool,
}

/// The verdict on a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pending or running.
    Going,
    /// Ended: `reason` in words ("pod x was OOMKilled (exit code 137)"), and whether the
    /// launcher must delete the Job because Kubernetes would leave it hanging.
    Ended {
        success: bool,
        reason: String,
        delete_job: bool,
    },
}

impl Observed {
    /// Records the Job's latest version (or its deletion).
    pub fn job_seen(&mut self, job: Job, deleted: bool, now: Instant) {
        self.job_name = job.metadata.name.clone().or(self.job_name.take());
        if job_verdict("", &job).is_some() {
            self.job_done_since.get_or_insert(now);
        }
        self.job = Some(job);
        self.job_deleted |= deleted;
    }

    /// Records a pod's latest version (and when it first looked stuck).
    pub fn pod_seen(&mut self, pod: Pod, deleted: bool, now: Instant) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        if stuck_reason(&pod).is_some() {
            self.stuck_since.get_or_insert(now);
        } else if !deleted {
            self.stuck_since = None;
        }
        self.pods.insert(name, SeenPod { pod, deleted });
    }

    /// The verdict at `now`; a stuck pod fails the run after `grace`.
    pub fn verdict(&self, now: Instant, grace: Duration) -> Verdict {
        let job = self.job_name.as_deref().unwrap_or("?");
        for seen in self.pods.values() {
            if let Some(verdict) = pod_verdict(seen) {
                return verdict;
            }
        }
        let settled = self
            .job_done_since
            .is_some_and(|t| now.saturating_duration_since(t) >= JOB_SETTLE);
        if let Some(verdict) = self.job.as_ref().and_then(|j| job_verdict(job, j))
            && (settled || self.job_deleted)
        {
            return verdict;
        }
        if self.job_deleted {
            return ended(false, format!("Job {job} was deleted"));
        }
        let deleting = self
            .job
            .as_ref()
            .is_some_and(|j| j.metadata.deletion_timestamp.is_some());
        if deleting && self.pods.values().all(|p| p.deleted) {
            return ended(false, format!("Job {job} was deleted"));
        }
        if let Some(since) = self.stuck_since
            && now.saturating_duration_since(since) >= grace
            && let Some((pod, why)) = self
                .pods
                .iter()
                .find_map(|(name, p)| Some((name, stuck_reason(&p.pod)?)))
        {
            return Verdict::Ended {
                success: false,
                reason: format!(
                    "pod {pod} could not start for {}: {why}",
                    humantime::format_duration(grace)
                ),
                delete_job: true,
            };
        }
        Verdict::Going
    }
}

fn ended(success: bool, reason: String) -> Verdict {
    Verdict::Ended {
        success,
        reason,
        delete_job: false,
    }
}

/// A pod that ended, or was deleted before it could.
fn pod_verdict(seen: &SeenPod) -> Option<Verdict> {
    let pod = &seen.pod;
    let name = pod.metadata.name.as_deref().unwrap_or("?");
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    let terminated = terminated_state(pod);
    let code = terminated.map(|t| t.exit_code);
    let with_code = |text: String| match code {
        Some(code) => format!("{text} (exit code {code})"),
        None => text,
    };
    // A disruption names the cause best: node gone (PodGC), taint eviction, preemption.
    if let Some(c) = status.and_then(|s| s.conditions.as_ref()).and_then(|cs| {
        cs.iter()
            .find(|c| c.type_ == "DisruptionTarget" && c.status == "True")
    }) && (phase == "Failed" || seen.deleted)
    {
        let why = [c.reason.as_deref(), c.message.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        return Some(ended(
            false,
            with_code(format!("pod {name} was disrupted ({why})")),
        ));
    }
    if status.and_then(|s| s.reason.as_deref()) == Some("Evicted") {
        let message = status.and_then(|s| s.message.as_deref()).unwrap_or("");
        return Some(ended(false, format!("pod {name} was evicted: {message}")));
    }
    if terminated.and_then(|t| t.reason.as_deref()) == Some("OOMKilled") {
        return Some(ended(false, with_code(format!("pod {name} was OOMKilled"))));
    }
    match phase {
        "Succeeded" => Some(ended(true, format!("pod {name} exited with code 0"))),
        "Failed" if seen.deleted || pod.metadata.deletion_timestamp.is_some() => Some(ended(
            false,
            with_code(format!("pod {name} was deleted before it finished")),
        )),
        "Failed" => Some(ended(
            false,
            match code {
                Some(code) => format!("pod {name} exited with code {code}"),
                None => format!(
                    "pod {name} failed: {}",
                    status
                        .and_then(|s| s.message.as_deref().or(s.reason.as_deref()))
                        .unwrap_or("no reason given")
                ),
            },
        )),
        _ if seen.deleted => Some(ended(
            false,
            with_code(format!("pod {name} was deleted before it finished")),
        )),
        _ => None,
    }
}

/// A Job condition that ends it (`Complete`, `Failed`).
fn job_verdict(name: &str, job: &Job) -> Option<Verdict> {
    let conditions = job.status.as_ref()?.conditions.as_ref()?;
    let done = |kind: &str| {
        conditions
            .iter()
            .find(|c| c.type_ == kind && c.status == "True")
    };
    if done("Complete").is_some() {
        return Some(ended(true, format!("Job {name} completed")));
    }
    let failed = done("Failed")?;
    let reason = failed.reason.as_deref().unwrap_or("Failed");
    let message = failed.message.as_deref().unwrap_or("");
    Some(ended(
        false,
        format!("Job {name} failed: {reason}: {message}"),
    ))
}

fn terminated_state(pod: &Pod) -> Option<&ContainerStateTerminated> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find_map(|c| {
            let current = c.state.as_ref().and_then(|s| s.terminated.as_ref());
            current.or_else(|| c.last_state.as_ref()?.terminated.as_ref())
        })
}

/// Why a pod cannot start, if it is stuck.
fn stuck_reason(pod: &Pod) -> Option<String> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find_map(|c| {
            let waiting = c.state.as_ref()?.waiting.as_ref()?;
            let reason = waiting.reason.as_deref()?;
            STUCK_REASONS.contains(&reason).then(|| {
                let image = &c.image;
                match waiting.message.as_deref() {
                    Some(message) => format!("{reason} for image {image}: {message}"),
                    None => format!("{reason} for image {image}"),
                }
            })
        })
}

#[cfg(test)]
mod tests;
