//! The harness: a simulated cluster, a store, and a daemon whose launcher is the Kubernetes one.

use std::sync::Arc;
use std::time::Duration;

use k8s_sim::{KubeSim, SimImage, SimOptions};
use launcher_k8s::{
    ClusterAccess, KubernetesLauncher, KubernetesLauncherOptions, KubernetesSettings,
    SettingsOverrides,
};
use orch_test_support::wait::until_some;
use orchestrator::daemon::{Daemon, DaemonOptions};
use orchestrator::definitions::{AssetDef, AssetOutput, Definitions, JobDef};
use orchestrator::domain::Run;
use orchestrator::storage::RunStorage;
use serde_json::{Map, Value, json};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;

pub const NS: &str = "orch-runs";

/// Images of the tests: `sh` scripts; the container's args (`worker --run-id <id>`) follow.
pub fn register_images(sim: &KubeSim) {
    let sh =
        |script: &str| SimImage::new(["/bin/sh", "-c", script, "sh"]).env("PATH", "/usr/bin:/bin");
    sim.register_image("sleeper:1", sh("echo started \"$@\"; exec sleep 60"));
    sim.register_image("crash:1", sh("echo boom >&2; exit 3"));
    sim.register_image("env:1", sh("echo \"FROM_ENV=$FROM_ENV FROM_SECRET=$FROM_SECRET HOME_DIR_OK=$(test -d \"$ORCH_HOME\" && echo yes)\"; exec sleep 60"));
}

pub struct Harness {
    pub sim: KubeSim,
    pub store: Arc<dyn RunStorage>,
    pub launcher: Arc<KubernetesLauncher>,
    shutdown: CancellationToken,
    _dir: TempDir,
}

pub fn settings(table: Value) -> KubernetesSettings {
    let Value::Object(table) = table else {
        panic!("not a table")
    };
    KubernetesSettings::parse(Some(&table), &SettingsOverrides::default()).unwrap()
}

impl Harness {
    /// A daemon with the Kubernetes launcher; `table` is `[launcher.kubernetes]`.
    pub async fn start(table: Value) -> Self {
        Self::start_with(table, |_| {}, |o| o).await
    }

    pub async fn start_with(
        table: Value,
        tune_sim: impl FnOnce(&mut SimOptions),
        tune: impl FnOnce(KubernetesLauncherOptions) -> KubernetesLauncherOptions,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut sim_options = SimOptions::new(dir.path());
        tune_sim(&mut sim_options);
        let sim = KubeSim::start(sim_options).await.unwrap();
        register_images(&sim);
        let store = orch_test_support::stores::open_sqlite(dir.path()).await;
        let shutdown = CancellationToken::new();
        let client = launcher_k8s::connect(&ClusterAccess::Url(sim.url()))
            .await
            .unwrap();
        let mut options = KubernetesLauncherOptions::new(settings(table), definitions());
        options.store = Some(store.clone());
        options.termination_grace = Duration::from_secs(2);
        let options = tune(options);
        let launcher = Arc::new(KubernetesLauncher::start(client, options, shutdown.clone()));
        assert!(
            launcher.wait_synced(Duration::from_secs(10)).await,
            "watches never synced"
        );
        let daemon_options = DaemonOptions {
            monitor_interval: Duration::from_millis(100),
            start_timeout: Duration::from_secs(20),
            heartbeat_timeout: Duration::from_secs(60),
            termination_grace: Duration::from_secs(2),
            ..DaemonOptions::default()
        };
        let daemon = Daemon::new(
            store.clone(),
            definitions(),
            launcher.clone(),
            daemon_options,
        );
        tokio::spawn(daemon.run(shutdown.clone()));
        Self {
            sim,
            store,
            launcher,
            shutdown,
            _dir: dir,
        }
    }

    pub async fn queue(&self, tags: &[(&str, &str)]) -> Run {
        orch_test_support::stores::queue(self.store.as_ref(), "job", tags).await
    }

    pub async fn wait_run(&self, run: &Run, within: Duration, check: impl Fn(&Run) -> bool) -> Run {
        orch_test_support::wait::run_where(self.store.as_ref(), run.id, within, check).await
    }

    pub async fn ended(&self, run: &Run) -> Run {
        self.wait_run(run, Duration::from_secs(20), |r| r.status.is_terminal())
            .await
    }

    /// The name of the run's Job, once launched.
    pub async fn job_of(&self, run: &Run) -> String {
        let run = self
            .wait_run(run, Duration::from_secs(10), |r| r.worker.is_some())
            .await;
        run.worker.unwrap()["job"].as_str().unwrap().to_owned()
    }

    /// Waits for the Job's pod to be Running; returns its name.
    pub async fn running_pod(&self, job: &str) -> String {
        until_some("the Job's pod runs", Duration::from_secs(10), async || {
            self.sim.pods_of_job(NS, job).into_iter().find_map(|p| {
                (p["status"]["phase"] == "Running")
                    .then(|| p["metadata"]["name"].as_str().unwrap().to_owned())
            })
        })
        .await
    }

    pub async fn job_gone(&self, job: &str) {
        until_some("the Job is gone", Duration::from_secs(15), async || {
            let present = self
                .sim
                .jobs(NS)
                .iter()
                .any(|j| j["metadata"]["name"] == job);
            (!present).then_some(())
        })
        .await;
    }

    /// The message of the run's RUN_FAILURE or RUN_CANCELED event.
    pub async fn end_message(&self, run: &Run) -> String {
        let events = self.store.list_events(run.id, None, 0).await.unwrap();
        orch_test_support::runs::end_message(&events)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// `job`, a one-asset job whose Kubernetes settings put it on on-demand capacity.
pub fn definitions() -> Arc<Definitions> {
    let asset = AssetDef::builder("noop")
        .compute(|_ctx| async { Ok(AssetOutput::new(Value::Null)) })
        .unwrap();
    let mut k8s = Map::new();
    k8s.insert(
        "node_selector".into(),
        json!({"karpenter.sh/capacity-type": "on-demand"}),
    );
    let job = JobDef::new("job", "a no-op job", vec![asset], Default::default())
        .unwrap()
        .with_launcher_config("kubernetes", k8s);
    Arc::new(Definitions::new(vec![job]).unwrap())
}
