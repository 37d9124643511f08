//! The launcher's view of its Jobs and Pods: two watches (label selector
//! [`crate::manifest::SELECTOR`] in the run namespace) feed one table of [`Observed`] per run;
//! every change is judged at once ([`Observed::verdict`]), and once a second for the grace of
//! stuck pods. A worker that ends is reported once through the launcher's `exits()`.
//!
//! After a watch restarts (kube-rs relists), Jobs and Pods missing from the new list are taken as
//! deleted, except Jobs created after the relist began.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::DeleteParams;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client, Resource};
use orchestrator::domain::RunId;
use orchestrator::launcher::{WorkerExit, WorkerHandle};
use orchestrator::storage::RunStorage;
use serde_json::json;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use crate::launcher::{KubernetesLauncherOptions, api_message};
use crate::manifest::{LABEL_RUN_ID, SELECTOR};
use crate::observe::{Observed, Verdict};
use crate::settings::KIND;

/// One run's row.
#[derive(Debug)]
struct Entry {
    observed: Observed,
    handle: Option<WorkerHandle>,
    /// Its end was sent through `exits()`.
    reported: bool,
    /// When this launcher created the Job (`None`: learnt from the watch).
    created_at: Option<Instant>,
}

impl Entry {
    fn new() -> Self {
        Self {
            observed: Observed::default(),
            handle: None,
            reported: false,
            created_at: None,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    runs: HashMap<RunId, Entry>,
    /// During a relist: when it began and what it listed.
    job_relist: Option<(Instant, HashSet<RunId>)>,
    pod_relist: Option<HashSet<String>>,
    jobs_synced: bool,
    pods_synced: bool,
}

/// The table and what the launcher and the watch tasks share.
pub(crate) struct Shared {
    client: Client,
    namespace: String,
    grace: Duration,
    state: Mutex<State>,
    changed: Notify,
    exits: mpsc::UnboundedSender<WorkerExit>,
    /// Where a failed pod's last lines are recorded; `None`: not recorded.
    store: Option<Arc<dyn RunStorage>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(
        client: Client,
        namespace: String,
        grace: Duration,
        exits: mpsc::UnboundedSender<WorkerExit>,
        store: Option<Arc<dyn RunStorage>>,
    ) -> Self {
        Self {
            client,
            namespace,
            grace,
            state: Mutex::default(),
            changed: Notify::new(),
            exits,
            store,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn is_synced(&self) -> bool {
        let state = self.lock();
        state.jobs_synced && state.pods_synced
    }

    pub(crate) async fn wait_synced(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            if self.is_synced() {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.is_synced();
            }
        }
    }

    /// A Job is about to be created for `run`.
    pub(crate) fn launching(&self, run: RunId, job: &str) {
        let mut state = self.lock();
        let entry = state.runs.entry(run).or_insert_with(Entry::new);
        entry.observed.job_name = Some(job.to_owned());
        entry.created_at = Some(Instant::now());
    }

    /// The Job could not be created.
    pub(crate) fn forget(&self, run: RunId) {
        self.lock().runs.remove(&run);
    }

    /// The Job was created.
    pub(crate) fn launched(&self, run: RunId, job: Job, handle: WorkerHandle) {
        let mut state = self.lock();
        let entry = state.runs.entry(run).or_insert_with(Entry::new);
        entry.observed.job.get_or_insert(job);
        entry.handle = Some(handle);
    }

    /// The verdict on a run's worker; `None` if its Job is unknown (never seen, or gone).
    pub(crate) fn verdict(&self, run: RunId, now: Instant) -> Option<Verdict> {
        let state = self.lock();
        let entry = state.runs.get(&run)?;
        Some(entry.observed.verdict(now, self.grace))
    }

    /// Waits until the run's Job is gone (true) or `timeout` passes (false).
    pub(crate) async fn wait_job_gone(&self, run: RunId, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            let gone = self
                .lock()
                .runs
                .get(&run)
                .is_none_or(|e| e.observed.job_deleted);
            if gone {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    /// The runs whose Job is present, with its name and the Job as last seen.
    pub(crate) fn present_jobs(&self) -> Vec<(RunId, String, Job)> {
        self.lock()
            .runs
            .iter()
            .filter(|(_, e)| !e.observed.job_deleted)
            .filter_map(|(run, e)| {
                let job = e.observed.job.clone()?;
                Some((*run, job.metadata.name.clone()?, job))
            })
            .collect()
    }

    fn on_job(&self, event: Event<Job>) {
        let mut state = self.lock();
        let touched = match event {
            Event::Init => {
                state.job_relist = Some((Instant::now(), HashSet::new()));
                None
            }
            Event::InitApply(job) => {
                let run = run_of(&job);
                if let (Some(run), Some((_, seen))) = (run, state.job_relist.as_mut()) {
                    seen.insert(run);
                }
                run.map(|run| apply_job(&mut state, run, job, false, &self.namespace))
            }
            Event::InitDone => {
                if let Some((began, seen)) = state.job_relist.take() {
                    for (run, entry) in &mut state.runs {
                        let older = entry.created_at.is_none_or(|t| t < began);
                        if !seen.contains(run) && older && entry.observed.job.is_some() {
                            entry.observed.job_deleted = true;
                        }
                    }
                }
                state.jobs_synced = true;
                drop(state);
                self.judge_all(Instant::now());
                self.changed.notify_waiters();
                return;
            }
            Event::Apply(job) => {
                run_of(&job).map(|run| apply_job(&mut state, run, job, false, &self.namespace))
            }
            Event::Delete(job) => {
                run_of(&job).map(|run| apply_job(&mut state, run, job, true, &self.namespace))
            }
        };
        drop(state);
        if let Some(run) = touched {
            self.judge(run, Instant::now());
        }
        self.changed.notify_waiters();
    }

    fn on_pod(&self, event: Event<Pod>) {
        let now = Instant::now();
        let mut state = self.lock();
        let pod = match event {
            Event::Init => {
                state.pod_relist = Some(HashSet::new());
                return;
            }
            Event::InitDone => {
                if let Some(seen) = state.pod_relist.take() {
                    for entry in state.runs.values_mut() {
                        let missing: Vec<_> = entry
                            .observed
                            .pods
                            .iter()
                            .filter(|(name, p)| !p.deleted && !seen.contains(*name))
                            .map(|(_, p)| p.pod.clone())
                            .collect();
                        for pod in missing {
                            entry.observed.pod_seen(pod, true, now);
                        }
                    }
                }
                state.pods_synced = true;
                drop(state);
                self.judge_all(now);
                self.changed.notify_waiters();
                return;
            }
            Event::InitApply(pod) => {
                if let (Some(seen), Some(name)) = (state.pod_relist.as_mut(), &pod.metadata.name) {
                    seen.insert(name.clone());
                }
                (pod, false)
            }
            Event::Apply(pod) => (pod, false),
            Event::Delete(pod) => (pod, true),
        };
        let (pod, deleted) = pod;
        let Some(run) = run_of(&pod) else { return };
        state
            .runs
            .entry(run)
            .or_insert_with(Entry::new)
            .observed
            .pod_seen(pod, deleted, now);
        drop(state);
        self.judge(run, now);
        self.changed.notify_waiters();
    }

    fn judge_all(&self, now: Instant) {
        let runs: Vec<RunId> = self.lock().runs.keys().copied().collect();
        for run in runs {
            self.judge(run, now);
        }
    }

    /// Reports the run's end once; deletes a Job Kubernetes would leave hanging; drops the row
    /// of a reported run whose Job is gone.
    fn judge(&self, run: RunId, now: Instant) {
        let mut state = self.lock();
        let Some(entry) = state.runs.get_mut(&run) else {
            return;
        };
        if entry.observed.job_name.is_none() {
            return; // Pods seen before their Job: wait for it.
        }
        let verdict = entry.observed.verdict(now, self.grace);
        let Verdict::Ended {
            success,
            reason,
            delete_job,
        } = verdict
        else {
            return;
        };
        if entry.reported {
            if entry.observed.job_deleted {
                state.runs.remove(&run);
            }
            return;
        }
        entry.reported = true;
        // The pod that ran, for its logs: the last one seen that started a container.
        let pod = entry
            .observed
            .pods
            .iter()
            .rfind(|(_, p)| {
                let statuses = p
                    .pod
                    .status
                    .as_ref()
                    .and_then(|s| s.container_statuses.as_ref());
                statuses.is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c.state.as_ref().is_some_and(|s| s.waiting.is_none()))
                })
            })
            .map(|(name, _)| name.clone());
        let job = entry.observed.job_name.clone().unwrap_or_default();
        let handle = entry.handle.clone().unwrap_or_else(|| {
            WorkerHandle(json!({"kind": KIND, "namespace": self.namespace, "job": job}))
        });
        drop(state);
        tracing::info!(run_id = %run, job, success, reason, "run Job ended");
        if let (false, Some(pod), Some(store)) = (success, pod, self.store.clone()) {
            let (client, namespace) = (self.client.clone(), self.namespace.clone());
            tokio::spawn(crate::logs::attach_tail(client, namespace, pod, run, store));
        }
        let _ = self.exits.send(WorkerExit {
            run,
            reason,
            success,
            handle,
        });
        if delete_job {
            self.delete_job_later(run, job, DeleteParams::foreground());
        }
    }

    /// Deletes a Job in the background, logging failures.
    pub(crate) fn delete_job_later(&self, run: RunId, job: String, params: DeleteParams) {
        let api: Api<Job> = Api::namespaced(self.client.clone(), &self.namespace);
        tokio::spawn(async move {
            match api.delete(&job, &params).await {
                Ok(_) => tracing::info!(run_id = %run, job, "deleted the run's Job"),
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => {
                    tracing::warn!(run_id = %run, job, error = %api_message(&e), "cannot delete the run's Job");
                }
            }
        });
    }
}

/// Records a Job event; returns its run.
fn apply_job(state: &mut State, run: RunId, job: Job, deleted: bool, namespace: &str) -> RunId {
    let entry = state.runs.entry(run).or_insert_with(Entry::new);
    let name = job.metadata.name.clone().unwrap_or_default();
    if entry.handle.is_none() {
        entry.handle = Some(WorkerHandle(json!({
            "kind": KIND, "namespace": namespace, "job": name, "uid": job.metadata.uid,
        })));
    }
    entry.observed.job_name = Some(name);
    entry.observed.job_seen(job, deleted, Instant::now());
    run
}

/// The run an object of the launcher belongs to (its `orch/run-id` label).
fn run_of<K: Resource>(object: &K) -> Option<RunId> {
    let labels = object.meta().labels.as_ref()?;
    RunId::parse(labels.get(LABEL_RUN_ID)?).ok()
}

/// Spawns the Job watch, the Pod watch, the once-a-second judge and the clean-up.
pub(crate) fn spawn(
    shared: Arc<Shared>,
    options: KubernetesLauncherOptions,
    shutdown: CancellationToken,
) {
    let config = watcher::Config::default().labels(SELECTOR);
    let jobs: Api<Job> = Api::namespaced(shared.client.clone(), &shared.namespace);
    let pods: Api<Pod> = Api::namespaced(shared.client.clone(), &shared.namespace);
    {
        let (shared, shutdown, config) = (shared.clone(), shutdown.clone(), config.clone());
        tokio::spawn(async move {
            let mut stream = watcher::watcher(jobs, config).default_backoff().boxed();
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    next = stream.next() => match next {
                        Some(Ok(event)) => shared.on_job(event),
                        Some(Err(e)) => tracing::warn!(error = %e, "watch of run Jobs failed; retrying"),
                        None => return,
                    },
                }
            }
        });
    }
    {
        let (shared, shutdown) = (shared.clone(), shutdown.clone());
        tokio::spawn(async move {
            let mut stream = watcher::watcher(pods, config).default_backoff().boxed();
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    next = stream.next() => match next {
                        Some(Ok(event)) => shared.on_pod(event),
                        Some(Err(e)) => tracing::warn!(error = %e, "watch of run Pods failed; retrying"),
                        None => return,
                    },
                }
            }
        });
    }
    {
        let (shared, shutdown) = (shared.clone(), shutdown.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = tick.tick() => shared.judge_all(Instant::now()),
                }
            }
        });
    }
    if let Some(store) = options.store.clone() {
        tokio::spawn(crate::cleanup::run(
            shared,
            store,
            options.cleanup_interval,
            shutdown,
        ));
    }
}
