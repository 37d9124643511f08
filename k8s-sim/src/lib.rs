//! **A stand-in for a Kubernetes cluster, for tests.** There is no kube-apiserver on the
//! machines orch is tested on, so this crate is the most faithful substitute we could build for
//! what orch's Kubernetes launcher uses; it is not Kubernetes, and says so here.
//!
//! - An HTTP server on loopback ([`api`]) speaking the subset of the API the launcher uses:
//!   create/get/list/watch/delete of `batch/v1` Jobs and `v1` Pods in a namespace, pod logs;
//!   label selectors (`=`, `!=`, `in`, `notin`, exists) and `metadata.name` field selectors;
//!   a cluster-wide resourceVersion; watches that replay from a resourceVersion, answer `410
//!   Expired` past the kept history, send bookmarks and honour `timeoutSeconds`; errors as
//!   `Status` objects (`NotFound`, `AlreadyExists`, `Invalid`, `BadRequest`); graceful pod
//!   deletion and Job deletion with `Foreground`, `Background` and `Orphan` propagation.
//! - A Job controller ([`cluster`]): one Pod per Job (owner reference, `job-name` labels,
//!   generated name), Job status and conditions from the Pod as Kubernetes 1.33 writes them,
//!   `activeDeadlineSeconds`, `ttlSecondsAfterFinished`.
//! - A kubelet ([`kubelet`]) on one node: runs the pod's container as a **local process with
//!   the pod's environment**, with images mapped to local entrypoints ([`SimImage`]); unknown
//!   images fail to pull (`ErrImagePull`, `ImagePullBackOff`); missing `envFrom` sources give
//!   `CreateContainerConfigError`.
//! - Hooks to inject what a real cluster does to pods: [`KubeSim::kill_pod`] with an exit code,
//!   [`KubeSim::oom_kill_pod`], [`KubeSim::evict_pod`], [`KubeSim::lose_node`] (spot
//!   interruption), [`KubeSim::delete_pod`]; and what an API server does to watchers:
//!   [`SimOptions::max_watch`] ends watches early, [`KubeSim::compact`] forgets the history
//!   (resuming watchers get `410 Expired` and relist).
//!
//! Not simulated: authentication and RBAC, admission, scheduling constraints (nodeSelector,
//! tolerations and affinity are stored, not acted on), resource limits (OOM only by hook),
//! security contexts, `valueFrom` env, multiple containers, list pagination (`limit` is ignored:
//! lists are whole), streaming lists (`sendInitialEvents`), server-side apply and patches.

pub mod api;
pub mod cluster;
mod kubelet;
pub mod selector;
pub mod status;
pub mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::cluster::{Cluster, lock};
use crate::kubelet::PodSignal;
use crate::status::ApiError;
use crate::store::Kind;

/// An image the simulated node can "pull": the program its entrypoint runs, and its env.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimImage {
    /// `ENTRYPOINT`: program and leading arguments; the container's `args` follow.
    pub entrypoint: Vec<String>,
    /// `ENV` of the image.
    pub env: Vec<(String, String)>,
}

impl SimImage {
    pub fn new<S: Into<String>>(entrypoint: impl IntoIterator<Item = S>) -> Self {
        Self {
            entrypoint: entrypoint.into_iter().map(Into::into).collect(),
            env: Vec::new(),
        }
    }

    /// Adds a variable to the image's environment.
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Timing and places of the simulation.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The node every pod runs on.
    pub node_name: String,
    /// Where pods get their directory (log, volumes).
    pub work_dir: PathBuf,
    /// Between image pull attempts.
    pub pull_backoff: Duration,
    /// Between watch bookmarks (a real API server: about a minute).
    pub bookmark_interval: Duration,
    /// Changes kept for watches that resume; older resourceVersions get `410 Expired`.
    pub history_limit: usize,
    /// The longest a watch stays open, whatever its `timeoutSeconds` (real API servers end
    /// watches after `--min-request-timeout`, 30 to 60 minutes): short values make clients
    /// re-watch, and with a small `history_limit`, relist after `410 Expired`.
    pub max_watch: Option<Duration>,
}

impl SimOptions {
    pub fn new(work_dir: &Path) -> Self {
        Self {
            node_name: "sim-node-1".to_owned(),
            work_dir: work_dir.to_path_buf(),
            pull_backoff: Duration::from_millis(300),
            bookmark_interval: Duration::from_secs(1),
            history_limit: 10_000,
            max_watch: None,
        }
    }
}

/// A running simulated cluster; it stops (and kills its pods' processes) when dropped.
#[derive(Debug)]
pub struct KubeSim {
    cluster: Arc<Cluster>,
    addr: SocketAddr,
    shutdown: CancellationToken,
}

impl Drop for KubeSim {
    fn drop(&mut self) {
        self.shutdown.cancel();
        let pods: Vec<_> = lock(&self.cluster.pods).values().cloned().collect();
        for signals in pods {
            let _ = signals.send(PodSignal::Terminate {
                grace: Duration::ZERO,
            });
        }
    }
}

/// RFC 3339 UTC time to the second, as Kubernetes writes timestamps.
pub(crate) fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

impl KubeSim {
    /// Starts the API server on 127.0.0.1 (a free port).
    pub async fn start(options: SimOptions) -> std::io::Result<Self> {
        let cluster = Arc::new(Cluster::new(options));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let app = api::router(cluster.clone());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
        });
        Ok(Self {
            cluster,
            addr,
            shutdown,
        })
    }

    /// The API server's URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes a kubeconfig pointing at this server (no credentials) and returns its path.
    pub fn write_kubeconfig(&self, path: &Path, namespace: &str) -> std::io::Result<PathBuf> {
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: sim\nclusters:\n- name: sim\n  cluster:\n    server: {}\ncontexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim\n    namespace: {namespace}\nusers:\n- name: sim\n  user: {{}}\n",
            self.url()
        );
        std::fs::write(path, text)?;
        Ok(path.to_path_buf())
    }

    /// Compacts the change history (see [`store::Store::compact`]).
    pub fn compact(&self) {
        self.cluster.store.compact();
    }

    /// How many watches were answered `410 Expired` (each makes kube-rs relist).
    pub fn expired_watches(&self) -> u64 {
        self.cluster
            .expired_watches
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Makes an image pullable.
    pub fn register_image(&self, name: &str, image: SimImage) {
        lock(&self.cluster.images).insert(name.to_owned(), image);
    }

    /// Stores a Secret's data, for `envFrom`.
    pub fn put_secret(&self, ns: &str, name: &str, data: BTreeMap<String, String>) {
        lock(&self.cluster.secrets).insert((ns.to_owned(), name.to_owned()), data);
    }

    /// Stores a ConfigMap's data, for `envFrom`.
    pub fn put_config_map(&self, ns: &str, name: &str, data: BTreeMap<String, String>) {
        lock(&self.cluster.config_maps).insert((ns.to_owned(), name.to_owned()), data);
    }

    /// The Jobs of a namespace, as stored.
    pub fn jobs(&self, ns: &str) -> Vec<Value> {
        self.cluster.store.list(Kind::Job, Some(ns)).0
    }

    /// The Pods of a namespace, as stored.
    pub fn pods(&self, ns: &str) -> Vec<Value> {
        self.cluster.store.list(Kind::Pod, Some(ns)).0
    }

    /// The pods of a Job.
    pub fn pods_of_job(&self, ns: &str, job: &str) -> Vec<Value> {
        self.cluster.pods_of_job(ns, job)
    }

    /// What a pod's container wrote.
    pub fn pod_log(&self, ns: &str, pod: &str) -> Option<String> {
        self.cluster.pod_log(ns, pod)
    }

    fn kill(&self, ns: &str, pod: &str, signal: PodSignal) -> Result<(), ApiError> {
        let signals = lock(&self.cluster.pods)
            .get(&(ns.to_owned(), pod.to_owned()))
            .cloned();
        signals
            .and_then(|s| s.send(signal).ok())
            .ok_or_else(|| ApiError::not_found(Kind::Pod, pod))
    }

    /// The container dies with `exit_code` (reason `Error`), as after a crash.
    pub fn kill_pod(&self, ns: &str, pod: &str, exit_code: i32) -> Result<(), ApiError> {
        self.kill(
            ns,
            pod,
            PodSignal::Kill {
                exit_code,
                reason: "Error".to_owned(),
                pod_status: json!({}),
                remove: false,
            },
        )
    }

    /// The kernel's OOM killer ends the container: exit code 137, reason `OOMKilled`.
    pub fn oom_kill_pod(&self, ns: &str, pod: &str) -> Result<(), ApiError> {
        self.kill(
            ns,
            pod,
            PodSignal::Kill {
                exit_code: 137,
                reason: "OOMKilled".to_owned(),
                pod_status: json!({}),
                remove: false,
            },
        )
    }

    /// The kubelet evicts the pod under node pressure: phase Failed, reason `Evicted`.
    pub fn evict_pod(&self, ns: &str, pod: &str) -> Result<(), ApiError> {
        self.kill(ns, pod, PodSignal::Kill {
            exit_code: 137,
            reason: "Error".to_owned(),
            pod_status: json!({"reason": "Evicted",
                "message": "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi."}),
            remove: false,
        })
    }

    /// The node disappears (a spot interruption): its pods' processes die, the pods get a
    /// `DisruptionTarget` condition (`DeletionByPodGC`) and are removed, as PodGC does.
    pub fn lose_node(&self) -> usize {
        let pods: Vec<(String, String)> = lock(&self.cluster.pods).keys().cloned().collect();
        let now = now();
        for (ns, pod) in &pods {
            let _ = self.kill(
                ns,
                pod,
                PodSignal::Kill {
                    exit_code: 137,
                    reason: "Error".to_owned(),
                    pod_status: json!({"conditions": [{"type": "DisruptionTarget", "status": "True",
                    "reason": "DeletionByPodGC", "message": "PodGC: node no longer exists",
                    "lastTransitionTime": now}]}),
                    remove: true,
                },
            );
        }
        pods.len()
    }

    /// Deletes a pod gracefully, as `kubectl delete pod` would.
    pub fn delete_pod(&self, ns: &str, pod: &str) -> Result<Value, ApiError> {
        self.cluster.delete_pod(ns, pod, None)
    }

    /// Deletes a Job with a propagation policy (`None`: the API default for Jobs, Orphan).
    pub fn delete_job(
        &self,
        ns: &str,
        job: &str,
        propagation: Option<&str>,
    ) -> Result<Value, ApiError> {
        self.cluster.delete_job(ns, job, propagation)
    }
}
