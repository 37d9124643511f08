//! The simulated control plane: what the API server does on create and delete (validation,
//! graceful deletion, propagation) and the Job controller (one Pod per Job, Job status from its
//! Pod, `activeDeadlineSeconds`, `ttlSecondsAfterFinished`, foreground deletion).
//!
//! The Job controller follows Kubernetes 1.33 with `backoffLimit: 0` in mind: the first failed
//! (or deleted) pod fails the Job with `FailureTarget` then `Failed` (`BackoffLimitExceeded`); a
//! succeeded pod completes it (`SuccessCriteriaMet`, `Complete`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::kubelet::{self, PodSignal};
use crate::status::ApiError;
use crate::store::{Kind, Store};
use crate::{SimImage, SimOptions};

/// The simulated cluster, shared by the HTTP handlers, the kubelet tasks and the test hooks.
#[derive(Debug)]
pub struct Cluster {
    pub store: Store,
    pub options: SimOptions,
    pub(crate) images: Mutex<HashMap<String, SimImage>>,
    /// Secrets and ConfigMaps by (namespace, name): only their data, for `envFrom`.
    pub(crate) secrets: Mutex<HashMap<(String, String), BTreeMap<String, String>>>,
    pub(crate) config_maps: Mutex<HashMap<(String, String), BTreeMap<String, String>>>,
    /// The kubelet's running pods: where to send signals.
    pub(crate) pods: Mutex<HashMap<(String, String), mpsc::UnboundedSender<PodSignal>>>,
    /// Each pod's directory (log file, emptyDir volumes).
    pub(crate) pod_dirs: Mutex<HashMap<(String, String), PathBuf>>,
    counter: Mutex<u64>,
    /// Watches answered `410 Expired`.
    pub(crate) expired_watches: std::sync::atomic::AtomicU64,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn name_of(object: &Value) -> String {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

impl Cluster {
    pub fn new(options: SimOptions) -> Self {
        Self {
            store: Store::new(options.history_limit),
            options,
            images: Mutex::default(),
            secrets: Mutex::default(),
            config_maps: Mutex::default(),
            pods: Mutex::default(),
            pod_dirs: Mutex::default(),
            counter: Mutex::new(0),
            expired_watches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// A 5-character suffix, like the Job controller's generated pod names.
    fn suffix(&self) -> String {
        let mut n = lock(&self.counter);
        *n += 1;
        let alphabet = b"bcdfghjklmnpqrstvwxz2456789";
        let mut x = (*n).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(std::process::id());
        (0..5)
            .map(|_| {
                let c = alphabet[(x % alphabet.len() as u64) as usize] as char;
                x /= alphabet.len() as u64;
                c
            })
            .collect()
    }

    fn check_metadata(kind: Kind, ns: &str, object: &mut Value) -> Result<String, ApiError> {
        if !object.is_object() || !object["metadata"].is_object() {
            return Err(ApiError::bad_request(format!(
                "the body of a {} must be an object with metadata",
                kind.name()
            )));
        }
        if let Some(other) = object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            && other != ns
        {
            return Err(ApiError::bad_request(format!(
                "the namespace of the provided object ({other}) does not match the namespace sent on the request ({ns})"
            )));
        }
        let name = name_of(object);
        if !is_dns_label(&name) {
            return Err(ApiError::invalid(
                kind,
                &name,
                "metadata.name: Invalid value: a lowercase RFC 1123 label of at most 63 characters is required",
            ));
        }
        Ok(name)
    }

    /// `POST …/jobs`: validates, stores, and has the controller create its Pod.
    pub fn create_job(self: &Arc<Self>, ns: &str, mut job: Value) -> Result<Value, ApiError> {
        let name = Self::check_metadata(Kind::Job, ns, &mut job)?;
        let restart = job
            .pointer("/spec/template/spec/restartPolicy")
            .and_then(Value::as_str);
        if !matches!(restart, Some("Never" | "OnFailure")) {
            return Err(ApiError::invalid(
                Kind::Job,
                &name,
                "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"",
            ));
        }
        let containers = job
            .pointer("/spec/template/spec/containers")
            .and_then(Value::as_array);
        if containers.is_none_or(Vec::is_empty) {
            return Err(ApiError::invalid(
                Kind::Job,
                &name,
                "spec.template.spec.containers: Required value",
            ));
        }
        job["status"] = json!({});
        let created = self.store.create(Kind::Job, ns, job)?;
        let this = self.clone();
        let ns = ns.to_owned();
        tokio::spawn(async move { this.start_job(&ns, &name) });
        Ok(created)
    }

    /// The controller's part for a new Job: its Pod, its start, its deadline.
    fn start_job(self: &Arc<Self>, ns: &str, name: &str) {
        let Some(job) = self.store.get(Kind::Job, ns, name) else {
            return;
        };
        let uid = job["metadata"]["uid"].clone();
        let mut labels = job
            .pointer("/spec/template/metadata/labels")
            .cloned()
            .unwrap_or_else(|| json!({}));
        for key in ["batch.kubernetes.io/job-name", "job-name"] {
            labels[key] = json!(name);
        }
        for key in ["batch.kubernetes.io/controller-uid", "controller-uid"] {
            labels[key] = uid.clone();
        }
        let pod_name = format!("{name}-{}", self.suffix());
        let pod = json!({
            "metadata": {
                "name": pod_name,
                "labels": labels,
                "annotations": job.pointer("/spec/template/metadata/annotations").cloned().unwrap_or_else(|| json!({})),
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": name,
                                     "uid": uid, "controller": true, "blockOwnerDeletion": true}],
            },
            "spec": job.pointer("/spec/template/spec").cloned().unwrap_or_else(|| json!({})),
        });
        if let Err(e) = self.create_pod(ns, pod) {
            tracing::warn!(
                job = name,
                error = e.message,
                "sim: cannot create the Job's pod"
            );
            return;
        }
        self.store.update(Kind::Job, ns, name, |j| {
            j["status"]["startTime"] = json!(crate::now());
            j["status"]["active"] = json!(1);
            j["status"]["ready"] = json!(0);
            j["status"]["terminating"] = json!(0);
        });
        if let Some(deadline) = job
            .pointer("/spec/activeDeadlineSeconds")
            .and_then(Value::as_u64)
        {
            let (this, ns, name) = (self.clone(), ns.to_owned(), name.to_owned());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(deadline)).await;
                this.deadline_exceeded(&ns, &name);
            });
        }
    }

    /// `POST …/pods` (and the Job controller): stores the pod on the node; the kubelet runs it.
    pub fn create_pod(self: &Arc<Self>, ns: &str, mut pod: Value) -> Result<Value, ApiError> {
        let name = Self::check_metadata(Kind::Pod, ns, &mut pod)?;
        pod["spec"]["nodeName"] = json!(self.options.node_name);
        pod["status"] = json!({"phase": "Pending", "qosClass": "BestEffort"});
        let created = self.store.create(Kind::Pod, ns, pod)?;
        kubelet::start(self.clone(), ns.to_owned(), name);
        Ok(created)
    }

    /// The Job owning a pod, if any.
    fn owner_job(pod: &Value) -> Option<String> {
        pod.pointer("/metadata/ownerReferences")?
            .as_array()?
            .iter()
            .find(|r| r["kind"] == "Job")
            .and_then(|r| r["name"].as_str())
            .map(str::to_owned)
    }

    /// The controller's part when a pod ended (or was deleted unfinished): the Job's status.
    pub(crate) fn pod_finished(self: &Arc<Self>, ns: &str, pod: &Value) {
        let Some(job) = Self::owner_job(pod) else {
            return;
        };
        let succeeded = pod.pointer("/status/phase").and_then(Value::as_str) == Some("Succeeded");
        let now = crate::now();
        let mut ttl = None;
        self.store.update(Kind::Job, ns, &job, |j| {
            let finished = j["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Complete" || c["type"] == "Failed")
            });
            if finished {
                return;
            }
            let status = &mut j["status"];
            status["active"] = json!(0);
            status["ready"] = json!(0);
            let condition = |kind: &str, reason: &str, message: &str| {
                json!({"type": kind, "status": "True", "reason": reason, "message": message,
                       "lastProbeTime": now, "lastTransitionTime": now})
            };
            if succeeded {
                status["succeeded"] = json!(1);
                status["completionTime"] = json!(now);
                status["conditions"] = json!([
                    condition(
                        "SuccessCriteriaMet",
                        "CompletionsReached",
                        "Reached expected number of succeeded pods"
                    ),
                    condition(
                        "Complete",
                        "CompletionsReached",
                        "Reached expected number of succeeded pods"
                    ),
                ]);
            } else {
                status["failed"] = json!(1);
                status["conditions"] = json!([
                    condition(
                        "FailureTarget",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit"
                    ),
                    condition(
                        "Failed",
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit"
                    ),
                ]);
            }
            ttl = j
                .pointer("/spec/ttlSecondsAfterFinished")
                .and_then(Value::as_u64);
        });
        if let Some(ttl) = ttl {
            let (this, ns) = (self.clone(), ns.to_owned());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(ttl)).await;
                let _ = this.delete_job(&ns, &job, Some("Background"));
            });
        }
    }

    /// `activeDeadlineSeconds` passed: the pods are terminated and the Job fails.
    fn deadline_exceeded(self: &Arc<Self>, ns: &str, name: &str) {
        let now = crate::now();
        let mut failed = false;
        self.store.update(Kind::Job, ns, name, |j| {
            let finished = j["status"]["conditions"].as_array().is_some_and(|cs| !cs.is_empty());
            if finished {
                return;
            }
            failed = true;
            j["status"]["active"] = json!(0);
            j["status"]["failed"] = json!(1);
            j["status"]["conditions"] = json!([
                {"type": "FailureTarget", "status": "True", "reason": "DeadlineExceeded",
                 "message": "Job was active longer than specified deadline", "lastProbeTime": now, "lastTransitionTime": now},
                {"type": "Failed", "status": "True", "reason": "DeadlineExceeded",
                 "message": "Job was active longer than specified deadline", "lastProbeTime": now, "lastTransitionTime": now},
            ]);
        });
        if failed {
            for pod in self.pods_of_job(ns, name) {
                let _ = self.delete_pod(ns, &name_of(&pod), None);
            }
        }
    }

    /// The pods a Job owns.
    pub fn pods_of_job(&self, ns: &str, job: &str) -> Vec<Value> {
        let (pods, _) = self.store.list(Kind::Pod, Some(ns));
        pods.into_iter()
            .filter(|p| Self::owner_job(p).as_deref() == Some(job))
            .collect()
    }

    /// `DELETE …/jobs/<name>`. Propagation: `Foreground` (the Job stays, marked, until its pods
    /// are gone), `Background` (the Job goes now, its pods after), `Orphan` (the default for
    /// batch/v1 Jobs: the pods stay).
    pub fn delete_job(
        self: &Arc<Self>,
        ns: &str,
        name: &str,
        propagation: Option<&str>,
    ) -> Result<Value, ApiError> {
        let job = self
            .store
            .get(Kind::Job, ns, name)
            .ok_or_else(|| ApiError::not_found(Kind::Job, name))?;
        let pods = self.pods_of_job(ns, name);
        match propagation.unwrap_or("Orphan") {
            "Foreground" => {
                let marked = self
                    .store
                    .update(Kind::Job, ns, name, |j| {
                        if j["metadata"]["deletionTimestamp"].is_null() {
                            j["metadata"]["deletionTimestamp"] = json!(crate::now());
                            j["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                            j["metadata"]["finalizers"] = json!(["foregroundDeletion"]);
                        }
                    })
                    .unwrap_or(job);
                for pod in &pods {
                    let _ = self.delete_pod(ns, &name_of(pod), None);
                }
                self.finish_foreground_deletion(ns, name);
                Ok(marked)
            }
            "Background" => {
                let removed = self.store.remove(Kind::Job, ns, name).unwrap_or(job);
                for pod in &pods {
                    let _ = self.delete_pod(ns, &name_of(pod), None);
                }
                Ok(removed)
            }
            "Orphan" => {
                for pod in &pods {
                    self.store.update(Kind::Pod, ns, &name_of(pod), |p| {
                        p["metadata"]["ownerReferences"] = json!([]);
                    });
                }
                Ok(self.store.remove(Kind::Job, ns, name).unwrap_or(job))
            }
            other => Err(ApiError::bad_request(format!(
                "invalid propagationPolicy {other:?}: expected Foreground, Background or Orphan"
            ))),
        }
    }

    /// Removes a Job being deleted in the foreground once it owns no pods.
    pub(crate) fn finish_foreground_deletion(&self, ns: &str, job: &str) {
        let Some(j) = self.store.get(Kind::Job, ns, job) else {
            return;
        };
        let foreground = j["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "foregroundDeletion"));
        if foreground && self.pods_of_job(ns, job).is_empty() {
            self.store.remove(Kind::Job, ns, job);
        }
    }

    /// `DELETE …/pods/<name>`: graceful. A running pod gets SIGTERM, SIGKILL after its grace
    /// (`gracePeriodSeconds`, else the pod's `terminationGracePeriodSeconds`, else 30 s), and
    /// is removed once its process is gone; a pod with no process is removed at once.
    pub fn delete_pod(
        self: &Arc<Self>,
        ns: &str,
        name: &str,
        grace: Option<u64>,
    ) -> Result<Value, ApiError> {
        let pod = self
            .store
            .get(Kind::Pod, ns, name)
            .ok_or_else(|| ApiError::not_found(Kind::Pod, name))?;
        let grace = grace
            .or_else(|| {
                pod.pointer("/spec/terminationGracePeriodSeconds")
                    .and_then(Value::as_u64)
            })
            .unwrap_or(30);
        let marked = self
            .store
            .update(Kind::Pod, ns, name, |p| {
                if p["metadata"]["deletionTimestamp"].is_null() {
                    p["metadata"]["deletionTimestamp"] = json!(crate::now());
                    p["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
                }
            })
            .unwrap_or(pod);
        let signals = lock(&self.pods)
            .get(&(ns.to_owned(), name.to_owned()))
            .cloned();
        let delivered = signals.is_some_and(|s| {
            s.send(PodSignal::Terminate {
                grace: Duration::from_secs(grace),
            })
            .is_ok()
        });
        if !delivered {
            self.remove_pod(ns, name);
        }
        Ok(marked)
    }

    /// Removes a pod for good; the controller counts an unfinished one as failed.
    pub(crate) fn remove_pod(self: &Arc<Self>, ns: &str, name: &str) {
        let Some(pod) = self.store.remove(Kind::Pod, ns, name) else {
            return;
        };
        lock(&self.pods).remove(&(ns.to_owned(), name.to_owned()));
        self.pod_finished(ns, &pod);
        if let Some(job) = Self::owner_job(&pod) {
            self.finish_foreground_deletion(ns, &job);
        }
    }

    /// The captured output of a pod's container.
    pub fn pod_log(&self, ns: &str, name: &str) -> Option<String> {
        let dir = lock(&self.pod_dirs)
            .get(&(ns.to_owned(), name.to_owned()))
            .cloned()?;
        std::fs::read_to_string(dir.join("container.log")).ok()
    }
}
