//! [`KubernetesLauncher`]: launch = create the run's Job; terminate = delete it with foreground
//! propagation (the pod gets SIGTERM, then SIGKILL after its grace) and wait until it is gone;
//! inspect and exits answer from what the watches ([`crate::watch`]) have seen, never by asking
//! the API server per run.
//!
//! The worker handle stored on the run is `{"kind": "kubernetes", "namespace", "job", "uid"}`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use k8s_openapi::api::batch::v1::Job;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, Client};
use orchestrator::daemon::monitor::MAX_RUNTIME_TAG;
use orchestrator::definitions::{Definitions, LiveDefinitions};
use orchestrator::domain::{Run, RunId, TagKey};
use orchestrator::launcher::{LaunchError, Launcher, WorkerExit, WorkerHandle, WorkerState};
use orchestrator::storage::RunStorage;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::manifest::{JobRequest, job_manifest, job_name};
use crate::observe::Verdict;
use crate::settings::{CONFIG_TAG, JobSettings, KIND, KubernetesSettings};
use crate::watch::{self, Shared};

/// Variables added to a run's pod environment, computed per run (e.g. `TRACEPARENT`).
pub type RunEnv = Arc<dyn Fn(&Run) -> Vec<(String, String)> + Send + Sync>;

/// How the launcher works besides the settings.
#[derive(Clone)]
pub struct KubernetesLauncherOptions {
    pub settings: KubernetesSettings,
    /// Job definitions in force (reloadable), for their `kubernetes` launcher config and max
    /// runtime.
    pub definitions: LiveDefinitions,
    /// The run store, for the clean-up of orphaned Jobs and the last lines of failed pods;
    /// `None` turns both off.
    pub store: Option<Arc<dyn RunStorage>>,
    /// The pod's `terminationGracePeriodSeconds`: SIGTERM to SIGKILL on cancellation.
    pub termination_grace: Duration,
    /// How often Jobs of finished runs are looked for.
    pub cleanup_interval: Duration,
    /// Extra environment per run, after the configured `env`.
    pub run_env: Option<RunEnv>,
}

impl std::fmt::Debug for KubernetesLauncherOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubernetesLauncherOptions")
            .field("settings", &self.settings)
            .field("termination_grace", &self.termination_grace)
            .field("cleanup_interval", &self.cleanup_interval)
            .finish_non_exhaustive()
    }
}

impl KubernetesLauncherOptions {
    /// Options with a 30 s termination grace, a clean-up each minute and no extra env.
    pub fn new(settings: KubernetesSettings, definitions: Arc<Definitions>) -> Self {
        Self {
            settings,
            definitions: LiveDefinitions::fixed(definitions, Vec::new()),
            store: None,
            termination_grace: Duration::from_secs(30),
            cleanup_interval: Duration::from_secs(60),
            run_env: None,
        }
    }
}

/// Launches each run as a Kubernetes Job. Its watches run until `shutdown`.
pub struct KubernetesLauncher {
    client: Client,
    options: KubernetesLauncherOptions,
    shared: Arc<Shared>,
    exits_rx: Mutex<Option<mpsc::UnboundedReceiver<WorkerExit>>>,
}

impl std::fmt::Debug for KubernetesLauncher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubernetesLauncher")
            .field("namespace", &self.options.settings.namespace)
            .finish_non_exhaustive()
    }
}

/// How much a run's max runtime is extended for `activeDeadlineSeconds`: the monitor ends the
/// run at its max runtime; the deadline only stops pods no daemon is watching. The deadline
/// counts from the Job's start, image pull included.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(60);

impl KubernetesLauncher {
    /// Starts watching the namespace's run Jobs and Pods.
    pub fn start(
        client: Client,
        options: KubernetesLauncherOptions,
        shutdown: CancellationToken,
    ) -> Self {
        let (exits_tx, exits_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::new(
            client.clone(),
            options.settings.namespace.clone(),
            options.settings.image_pull_grace,
            exits_tx,
            options.store.clone(),
        ));
        watch::spawn(shared.clone(), options.clone(), shutdown);
        Self {
            client,
            options,
            shared,
            exits_rx: Mutex::new(Some(exits_rx)),
        }
    }

    fn jobs(&self) -> Api<Job> {
        Api::namespaced(self.client.clone(), &self.options.settings.namespace)
    }

    /// Waits until the watches have listed what exists (for tests and a clean start).
    pub async fn wait_synced(&self, timeout: Duration) -> bool {
        self.shared.wait_synced(timeout).await
    }

    /// The settings of a run: defaults, then its job's, then its tag's.
    pub fn run_settings(&self, run: &Run) -> Result<JobSettings, crate::SettingsError> {
        let mut settings = self.options.settings.defaults.clone();
        let definitions = self.options.definitions.current().definitions.clone();
        let job = definitions.job(run.job.as_str());
        if let Some(table) = job.and_then(|j| j.launcher_config.get(KIND)) {
            let origin = format!("job {}: launcher config `{KIND}`", run.job);
            settings = settings.overlay(&JobSettings::parse_override(&origin, table)?);
        }
        let tag = TagKey::parse(CONFIG_TAG)
            .ok()
            .and_then(|k| run.tags.get(&k));
        if let Some(text) = tag {
            // Checked again here: a run may have been created by a door that did not check.
            let over = self.options.settings.run_overridable.check_tag(text)?;
            settings = settings.overlay(&over);
        }
        Ok(settings)
    }

    /// The run's max runtime (its tag, else its job's), extended by [`DEADLINE_MARGIN`].
    fn deadline(&self, run: &Run) -> Option<Duration> {
        let tag = TagKey::parse(MAX_RUNTIME_TAG)
            .ok()
            .and_then(|k| run.tags.get(&k))
            .and_then(|v| humantime::parse_duration(v).ok());
        let max = tag.or_else(|| {
            self.options
                .definitions
                .current()
                .definitions
                .job(run.job.as_str())?
                .max_runtime
        })?;
        Some(max + DEADLINE_MARGIN)
    }

    /// The Job named by a handle of this launcher, in the watched namespace.
    fn job_of(&self, run: RunId, handle: &WorkerHandle) -> Result<String, LaunchError> {
        let foreign = || LaunchError::ForeignHandle {
            run,
            handle: handle.0.clone(),
        };
        if handle.kind() != Some(KIND) {
            return Err(foreign());
        }
        let namespace = handle.0.get("namespace").and_then(|v| v.as_str());
        if namespace != Some(self.options.settings.namespace.as_str()) {
            return Err(foreign());
        }
        handle
            .0
            .get("job")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(foreign)
    }
}

#[async_trait]
impl Launcher for KubernetesLauncher {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn launch(&self, run: &Run) -> Result<WorkerHandle, LaunchError> {
        let start_error = |reason: String| LaunchError::Start {
            run: run.id,
            reason,
        };
        let settings = self
            .run_settings(run)
            .map_err(|e| start_error(e.to_string()))?;
        let extra_env = self
            .options
            .run_env
            .as_ref()
            .map(|f| f(run))
            .unwrap_or_default();
        let request = JobRequest {
            run: run.id,
            job: run.job.as_str(),
            namespace: &self.options.settings.namespace,
            settings: &settings,
            deadline: self.deadline(run),
            extra_env: &extra_env,
        };
        let mut manifest = job_manifest(&request).map_err(|e| start_error(e.to_string()))?;
        if let Some(pod) = manifest
            .spec
            .as_mut()
            .and_then(|s| s.template.spec.as_mut())
        {
            pod.termination_grace_period_seconds =
                Some(i64::try_from(self.options.termination_grace.as_secs()).unwrap_or(30));
        }
        let name = job_name(run.id, run.job.as_str());
        self.shared.launching(run.id, &name);
        let created = match self.jobs().create(&PostParams::default(), &manifest).await {
            Ok(created) => created,
            // The name is the run's: a Job of that name is this run's worker, started by a
            // daemon that died before recording it. Adopt it, never start a second.
            Err(kube::Error::Api(status)) if status.code == 409 => {
                tracing::warn!(run_id = %run.id, job = %name, "adopting the run's existing Job");
                self.jobs().get(&name).await.map_err(|e| {
                    self.shared.forget(run.id);
                    start_error(format!(
                        "reading the existing Job {name}: {}",
                        api_message(&e)
                    ))
                })?
            }
            Err(e) => {
                self.shared.forget(run.id);
                return Err(start_error(format!(
                    "creating Job {name} in namespace {}: {}",
                    self.options.settings.namespace,
                    api_message(&e)
                )));
            }
        };
        let handle = WorkerHandle(json!({
            "kind": KIND,
            "namespace": self.options.settings.namespace,
            "job": name,
            "uid": created.metadata.uid,
        }));
        self.shared.launched(run.id, created, handle.clone());
        Ok(handle)
    }

    async fn terminate(
        &self,
        run: RunId,
        handle: &WorkerHandle,
        grace: Duration,
    ) -> Result<(), LaunchError> {
        let name = self.job_of(run, handle)?;
        match self.jobs().delete(&name, &DeleteParams::foreground()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => return Ok(()),
            Err(e) => {
                return Err(LaunchError::Terminate {
                    run,
                    reason: format!("deleting Job {name}: {}", api_message(&e)),
                });
            }
        }
        // Foreground deletion: the Job disappears once its pod is gone.
        let patience = grace + Duration::from_secs(30);
        if !self.shared.wait_job_gone(run, patience).await {
            tracing::warn!(run_id = %run, job = %name, "Job still present {patience:?} after its deletion");
        }
        Ok(())
    }

    async fn inspect(&self, run: RunId, handle: &WorkerHandle) -> WorkerState {
        let Ok(name) = self.job_of(run, handle) else {
            return WorkerState::Unknown;
        };
        if !self.shared.is_synced() {
            return WorkerState::Unknown;
        }
        match self.shared.verdict(run, Instant::now()) {
            Some(Verdict::Going) => WorkerState::Running,
            Some(Verdict::Ended { reason, .. }) => WorkerState::Gone { reason },
            None => WorkerState::Gone {
                reason: format!("Job {name} no longer exists"),
            },
        }
    }

    fn exits(&self) -> Option<mpsc::UnboundedReceiver<WorkerExit>> {
        self.exits_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

/// The API server's message for an error, or the error itself.
pub(crate) fn api_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            format!("{} ({} {})", status.message, status.code, status.reason)
        }
        other => other.to_string(),
    }
}
