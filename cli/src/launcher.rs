//! The launcher `orch daemon` and `orch dev` hand runs to: `local` (a child process per run) or
//! `kubernetes` (a Job per run). Chosen by `ORCH_LAUNCHER` / `--launcher`, else `[launcher] kind`
//! of orch.toml, else local.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use launcher_k8s::{
    ClusterAccess, KubernetesLauncher, KubernetesLauncherOptions, KubernetesSettings,
    RunOverridable, SettingsOverrides,
};
use orchestrator::config::{LauncherKind, OrchConfig};
use orchestrator::definitions::LiveDefinitions;
use orchestrator::launcher::{Launcher, LocalLauncher, LocalLauncherOptions, RunTagCheck};
use orchestrator::storage::RunStorage;
use tokio_util::sync::CancellationToken;

use crate::error::CliError;

/// The operator's checks of a launched run's tags: which keys of `orch/k8s_config` a run may
/// set (`[launcher.kubernetes] run_overridable`, default list without it). Checked whatever the
/// launcher kind: a run queued now may be launched by a Kubernetes daemon later.
pub fn run_tag_check(config: &OrchConfig) -> Result<Arc<dyn RunTagCheck>, CliError> {
    let table = config.launcher.kubernetes.as_ref();
    let overridable = RunOverridable::parse(
        "[launcher.kubernetes]",
        table.and_then(|t| t.get("run_overridable")),
    )
    .map_err(|e| {
        let path = config.path.as_deref().unwrap_or(Path::new("orch.toml"));
        CliError::config(format!("config file {}: {e}", path.display()))
    })?;
    Ok(Arc::new(overridable))
}

/// Refuses `run` (exit 2, naming the key) if its tags fail the operator's checks.
pub fn check_run_tags(
    config: &OrchConfig,
    run: &orchestrator::domain::NewRun,
) -> Result<(), CliError> {
    run_tag_check(config)?
        .check(&run.tags)
        .map_err(CliError::config)
}

/// Launcher settings given as flags or environment.
#[derive(Debug, Clone, clap::Args)]
pub struct LauncherArgs {
    /// Which launcher starts workers: `local` or `kubernetes`. Default: `[launcher] kind` of
    /// orch.toml, else local.
    #[arg(long = "launcher", env = "ORCH_LAUNCHER", value_parser = LauncherKind::parse)]
    pub kind: Option<LauncherKind>,
    /// The namespace of run Jobs (overrides `[launcher.kubernetes] namespace`).
    #[arg(long = "k8s-namespace", env = "ORCH_K8S_NAMESPACE")]
    pub k8s_namespace: Option<String>,
    /// The image of run Jobs (overrides `[launcher.kubernetes] image`).
    #[arg(long = "k8s-image", env = "ORCH_K8S_IMAGE")]
    pub k8s_image: Option<String>,
}

/// What the launcher is built from.
pub struct LauncherParts<'a> {
    pub config: &'a OrchConfig,
    pub definitions: LiveDefinitions,
    pub store: Arc<dyn RunStorage>,
    pub orch_home: &'a Path,
    pub termination_grace: Duration,
}

/// The chosen launcher, and a line saying what it is for the start-up banner.
pub async fn build(
    args: &LauncherArgs,
    parts: LauncherParts<'_>,
    shutdown: &CancellationToken,
) -> Result<(Arc<dyn Launcher>, String), CliError> {
    let kind = args.kind.or(parts.config.launcher.kind).unwrap_or_default();
    match kind {
        LauncherKind::Local => {
            let program = std::env::current_exe().map_err(|e| {
                CliError::failure(format!(
                    "cannot find the orch binary to launch workers: {e}"
                ))
            })?;
            let log_dir = parts.orch_home.join("logs");
            let describe = format!("local launcher (logs in {})", log_dir.display());
            let launcher = LocalLauncher::new(LocalLauncherOptions {
                program,
                args: vec!["worker".into(), "--run-id".into()],
                env: Vec::new(),
                log_dir,
            });
            Ok((Arc::new(launcher), describe))
        }
        LauncherKind::Kubernetes => {
            let overrides = SettingsOverrides {
                namespace: args.k8s_namespace.clone(),
                image: args.k8s_image.clone(),
            };
            let path = parts
                .config
                .path
                .as_deref()
                .unwrap_or(Path::new("orch.toml"));
            let settings =
                KubernetesSettings::parse(parts.config.launcher.kubernetes.as_ref(), &overrides)
                    .map_err(|e| {
                        CliError::config(format!("config file {}: {e}", path.display()))
                    })?;
            if settings.defaults.image.is_none() {
                return Err(CliError::config(
                    "the kubernetes launcher needs an image: set [launcher.kubernetes] image in orch.toml or ORCH_K8S_IMAGE",
                ));
            }
            let client = launcher_k8s::connect(&ClusterAccess::Infer)
                .await
                .map_err(CliError::failure)?;
            let describe = format!(
                "kubernetes launcher (Jobs in namespace {}, image {})",
                settings.namespace,
                settings.defaults.image.as_deref().unwrap_or_default()
            );
            let mut options = KubernetesLauncherOptions::new(
                settings,
                parts.definitions.current().definitions.clone(),
            );
            options.definitions = parts.definitions;
            options.store = Some(parts.store);
            options.termination_grace = parts.termination_grace;
            // The worker continues the run's trace (TRACEPARENT), as under the local launcher.
            options.run_env = Some(Arc::new(|_run| {
                orchestrator::telemetry::trace::worker_env()
            }));
            let launcher = KubernetesLauncher::start(client, options, shutdown.clone());
            Ok((Arc::new(launcher), describe))
        }
    }
}
