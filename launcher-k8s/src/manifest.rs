//! A run's `batch/v1` Job, built from the resolved settings: pure, no IO, so every manifest the
//! launcher can produce is checked in tests against the Kubernetes schema.
//!
//! The pod runs the image's entrypoint (`/usr/local/bin/orch`) with `worker --run-id <id>`, as
//! uid 10001 on a read-only root filesystem; `ORCH_HOME` is a writable emptyDir. `backoffLimit:
//! 0`: orch decides about retries (re-execution), never the Job controller.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapEnvSource, Container, EmptyDirVolumeSource, EnvFromSource, EnvVar,
    LocalObjectReference, PodSecurityContext, PodSpec, PodTemplateSpec, SeccompProfile,
    SecretEnvSource, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use orchestrator::domain::RunId;

use crate::settings::{JobSettings, SettingsError};

/// Label keys on every Job and Pod the launcher creates; the launcher watches by
/// [`SELECTOR`].
pub const LABEL_NAME: &str = "app.kubernetes.io/name";
pub const LABEL_COMPONENT: &str = "app.kubernetes.io/component";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const LABEL_RUN_ID: &str = "orch/run-id";
pub const LABEL_JOB: &str = "orch/job";

/// The label selector of everything this launcher owns.
pub const SELECTOR: &str =
    "app.kubernetes.io/managed-by=orch,app.kubernetes.io/component=run-worker";

/// Where the image keeps orch's home: a writable emptyDir under a read-only root filesystem.
pub const ORCH_HOME: &str = "/var/lib/orch";
/// The image's non-root user and group.
pub const RUN_AS: i64 = 10001;
/// The container that runs the worker.
pub const CONTAINER: &str = "worker";

/// What a run's Job is made of.
#[derive(Debug, Clone)]
pub struct JobRequest<'a> {
    pub run: RunId,
    /// The orch job the run executes.
    pub job: &'a str,
    pub namespace: &'a str,
    /// Defaults with the job's and the run's overrides laid over them.
    pub settings: &'a JobSettings,
    /// `activeDeadlineSeconds`, when the run has a max runtime.
    pub deadline: Option<Duration>,
    /// Variables added after the configured `env` (e.g. `TRACEPARENT`); they win over it.
    pub extra_env: &'a [(String, String)],
}

/// The Job's name: `orch-<job>-<12 hex digits of the run id>`, at most 63 characters, unique
/// per run (the hex digits are the random end of the UUIDv7) and readable in `kubectl get jobs`.
pub fn job_name(run: RunId, job: &str) -> String {
    let id = run.to_string().replace('-', "");
    let suffix = &id[id.len() - 12..];
    let mut slug: String = job
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9') => c,
            _ => '-',
        })
        .collect();
    // 63 minus "orch-" and "-<suffix>"; a Job name longer than 63 cannot label its pods.
    slug.truncate(63 - 5 - 1 - suffix.len());
    let slug = slug.trim_matches('-');
    if slug.is_empty() {
        format!("orch-{suffix}")
    } else {
        format!("orch-{slug}-{suffix}")
    }
}

/// A label value from free text: at most 63 characters of `[A-Za-z0-9._-]`, alphanumeric at both
/// ends.
pub fn label_value(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    cleaned
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

/// The labels the launcher relies on; configured labels cannot replace them.
pub fn own_labels(run: RunId, job: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_NAME.to_owned(), "orch".to_owned()),
        (LABEL_COMPONENT.to_owned(), "run-worker".to_owned()),
        (LABEL_MANAGED_BY.to_owned(), "orch".to_owned()),
        (LABEL_RUN_ID.to_owned(), run.to_string()),
        (LABEL_JOB.to_owned(), label_value(job)),
    ])
}

/// The Job for a run. Fails only when no image is configured.
pub fn job_manifest(request: &JobRequest<'_>) -> Result<Job, SettingsError> {
    let settings = request.settings;
    let image = settings.image.clone().ok_or_else(|| SettingsError {
        origin: "[launcher.kubernetes]".to_owned(),
        message: "no `image` is set (orch.toml, ORCH_K8S_IMAGE, the job or the run's tag)"
            .to_owned(),
    })?;
    let mut labels = settings.labels.clone().unwrap_or_default();
    labels.extend(own_labels(request.run, request.job));
    let mut annotations = settings.annotations.clone().unwrap_or_default();
    annotations.insert("orch/job-name".to_owned(), request.job.to_owned());
    let metadata = ObjectMeta {
        name: Some(job_name(request.run, request.job)),
        namespace: Some(request.namespace.to_owned()),
        labels: Some(labels.clone()),
        annotations: Some(annotations.clone()),
        ..ObjectMeta::default()
    };
    let pod = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(pod_spec(request, image)),
    };
    Ok(Job {
        metadata,
        spec: Some(JobSpec {
            backoff_limit: Some(0),
            ttl_seconds_after_finished: settings.ttl_seconds_after_finished,
            active_deadline_seconds: request
                .deadline
                .map(|d| i64::try_from(d.as_secs().max(1)).unwrap_or(i64::MAX)),
            template: pod,
            ..JobSpec::default()
        }),
        status: None,
    })
}

fn pod_spec(request: &JobRequest<'_>, image: String) -> PodSpec {
    let settings = request.settings;
    let names = |list: &Option<Vec<String>>| list.clone().unwrap_or_default();
    let mut env_from: Vec<EnvFromSource> = names(&settings.env_from_config_maps)
        .into_iter()
        .map(|name| EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name,
                optional: None,
            }),
            ..EnvFromSource::default()
        })
        .collect();
    env_from.extend(
        names(&settings.env_from_secrets)
            .into_iter()
            .map(|name| EnvFromSource {
                secret_ref: Some(SecretEnvSource {
                    name,
                    optional: None,
                }),
                ..EnvFromSource::default()
            }),
    );
    let container = Container {
        name: CONTAINER.to_owned(),
        image: Some(image),
        image_pull_policy: settings.image_pull_policy.map(|p| p.as_str().to_owned()),
        args: Some(vec![
            "worker".to_owned(),
            "--run-id".to_owned(),
            request.run.to_string(),
        ]),
        env: Some(env(request)),
        env_from: (!env_from.is_empty()).then_some(env_from),
        resources: settings.resources.clone(),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                add: None,
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "orch-home".to_owned(),
                mount_path: ORCH_HOME.to_owned(),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: "tmp".to_owned(),
                mount_path: "/tmp".to_owned(),
                ..VolumeMount::default()
            },
        ]),
        ..Container::default()
    };
    let empty_dir = |name: &str| Volume {
        name: name.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    };
    PodSpec {
        restart_policy: Some("Never".to_owned()),
        containers: vec![container],
        service_account_name: settings.service_account.clone(),
        image_pull_secrets: settings.image_pull_secrets.as_ref().map(|secrets| {
            secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect()
        }),
        node_selector: settings.node_selector.clone(),
        tolerations: settings.tolerations.clone(),
        affinity: settings.affinity.clone(),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            fs_group: Some(RUN_AS),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_owned(),
                localhost_profile: None,
            }),
            ..PodSecurityContext::default()
        }),
        volumes: Some(vec![empty_dir("orch-home"), empty_dir("tmp")]),
        ..PodSpec::default()
    }
}

/// The worker's environment: `ORCH_HOME`, the configured `env`, then the extra pairs. A name
/// set twice keeps its last value, once.
fn env(request: &JobRequest<'_>) -> Vec<EnvVar> {
    let mut pairs: Vec<(String, String)> = vec![("ORCH_HOME".to_owned(), ORCH_HOME.to_owned())];
    pairs.extend(request.settings.env.clone().unwrap_or_default());
    pairs.extend(request.extra_env.iter().cloned());
    let mut out: Vec<EnvVar> = Vec::with_capacity(pairs.len());
    for (name, value) in pairs {
        out.retain(|e| e.name != name);
        out.push(EnvVar {
            name,
            value: Some(value),
            value_from: None,
        });
    }
    out
}

#[cfg(test)]
mod tests;
