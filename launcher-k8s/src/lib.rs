//! orch's Kubernetes launcher: every run's worker (`orch worker --run-id <id>`) is one
//! `batch/v1` Job in the configured namespace, and the launcher learns how it goes by watching
//! the Jobs and Pods it labelled (never by polling one object at a time).
//!
//! - [`settings`]: `[launcher.kubernetes]`, per-job and per-run (`orch/k8s_config`) overrides.
//! - [`guard`]: which keys a run's tag may set (`run_overridable`), checked before a run exists.
//! - [`manifest`]: the Job for a run (pure).
//! - [`observe`]: what the watched Job and Pods say about a worker (pure).
//! - [`launcher`]: [`KubernetesLauncher`], the `orchestrator::launcher::Launcher`.
//! - `watch`, `cleanup`, `logs`: the watch loops, the clean-up of orphaned Jobs, and the last
//!   lines of a failed pod copied into the run's events.
//! - [`client`]: the API client, from in-cluster config or a kubeconfig.
//!
//! It lives in its own crate so only the binary and this crate compile k8s-openapi.

mod cleanup;
pub mod client;
pub mod guard;
pub mod launcher;
mod logs;
pub mod manifest;
pub mod observe;
pub mod settings;
mod watch;

pub use client::{ClusterAccess, connect};
pub use guard::RunOverridable;
pub use launcher::{KubernetesLauncher, KubernetesLauncherOptions, RunEnv};
pub use settings::{JobSettings, KubernetesSettings, SettingsError, SettingsOverrides};
