//! The Kubernetes launcher's settings: `[launcher.kubernetes]` of orch.toml (the defaults), laid
//! under a job definition's `kubernetes` launcher config and a run's `orch/k8s_config` tag, like
//! Dagster's `dagster-k8s/config`.
//!
//! Overlay rule: a key set by the more specific layer wins. The string maps (`env`,
//! `node_selector`, `labels`, `annotations`) are merged key by key; every other key (lists,
//! `resources`, `affinity`, scalars) is replaced whole. Unknown keys are refused with their name,
//! and `namespace` (like the launcher-wide `image_pull_grace` and `run_overridable`) can only be
//! set in orch.toml: the daemon watches one namespace. Which keys the run tag may set at all is
//! `guard.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Affinity, ResourceRequirements, Toleration};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::guard::RunOverridable;

/// The run tag that overrides the Kubernetes settings of one run: a JSON object with any key of
/// `[launcher.kubernetes]` except `namespace`.
pub const CONFIG_TAG: &str = "orch/k8s_config";

/// The launcher kind, as in a job definition's launcher config and the worker handle.
pub const KIND: &str = "kubernetes";

/// The namespace runs go to when none is configured.
pub const DEFAULT_NAMESPACE: &str = "default";

/// How long a pod may fail to pull its image before the run fails, by default.
pub const DEFAULT_IMAGE_PULL_GRACE: Duration = Duration::from_secs(60);

/// Settings that cannot be used, naming where they came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct SettingsError {
    /// Where the settings came from, e.g. `[launcher.kubernetes]` or `tag orch/k8s_config`.
    pub origin: String,
    pub message: String,
}

/// `imagePullPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl PullPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        }
    }
}

/// The keys that shape a run's Job. Each is optional so layers can be laid over each other.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobSettings {
    pub image: Option<String>,
    pub image_pull_policy: Option<PullPolicy>,
    pub service_account: Option<String>,
    pub image_pull_secrets: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, String>>,
    pub env_from_secrets: Option<Vec<String>>,
    pub env_from_config_maps: Option<Vec<String>>,
    /// A Kubernetes `ResourceRequirements` (`requests`, `limits`).
    pub resources: Option<ResourceRequirements>,
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Kubernetes `Toleration`s (`key`, `operator`, `value`, `effect`, `tolerationSeconds`).
    pub tolerations: Option<Vec<Toleration>>,
    /// A Kubernetes `Affinity`, field names as in Kubernetes (`nodeAffinity`, …).
    pub affinity: Option<Affinity>,
    pub ttl_seconds_after_finished: Option<i32>,
    pub labels: Option<BTreeMap<String, String>>,
    pub annotations: Option<BTreeMap<String, String>>,
}

impl JobSettings {
    /// Parses an override layer (a job definition's or a run tag's); `origin` names it in errors.
    pub fn parse_override(origin: &str, table: &Map<String, Value>) -> Result<Self, SettingsError> {
        for key in ["namespace", "image_pull_grace", "run_overridable"] {
            if table.contains_key(key) {
                return Err(SettingsError {
                    origin: origin.to_owned(),
                    message: format!(
                        "`{key}` can only be set in [launcher.kubernetes] of orch.toml, not per job or run"
                    ),
                });
            }
        }
        Self::parse(origin, table)
    }

    /// Parses the run tag `orch/k8s_config` (JSON text).
    pub fn parse_tag(text: &str) -> Result<Self, SettingsError> {
        let origin = format!("tag {CONFIG_TAG}");
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(table)) => Self::parse_override(&origin, &table),
            Ok(_) => Err(SettingsError {
                origin,
                message: "must be a JSON object".to_owned(),
            }),
            Err(e) => Err(SettingsError {
                origin,
                message: format!("not valid JSON: {e}"),
            }),
        }
    }

    fn parse(origin: &str, table: &Map<String, Value>) -> Result<Self, SettingsError> {
        let settings: Self =
            serde_json::from_value(Value::Object(table.clone())).map_err(|e| SettingsError {
                origin: origin.to_owned(),
                message: e.to_string(),
            })?;
        settings.check(origin)?;
        Ok(settings)
    }

    fn check(&self, origin: &str) -> Result<(), SettingsError> {
        let refuse = |message: String| {
            Err(SettingsError {
                origin: origin.to_owned(),
                message,
            })
        };
        if self.image.as_deref().is_some_and(|i| i.trim().is_empty()) {
            return refuse("`image` is empty".to_owned());
        }
        if self.ttl_seconds_after_finished.is_some_and(|t| t < 0) {
            return refuse("`ttl_seconds_after_finished` must be 0 or more".to_owned());
        }
        for name in self.env.iter().flat_map(BTreeMap::keys) {
            if name.is_empty() || name.contains('=') {
                return refuse(format!("`env` has an invalid variable name {name:?}"));
            }
        }
        Ok(())
    }

    /// `self` with `over` laid over it (see the module doc for the rule).
    pub fn overlay(&self, over: &JobSettings) -> JobSettings {
        fn pick<T: Clone>(base: &Option<T>, over: &Option<T>) -> Option<T> {
            over.clone().or_else(|| base.clone())
        }
        fn merge(
            base: &Option<BTreeMap<String, String>>,
            over: &Option<BTreeMap<String, String>>,
        ) -> Option<BTreeMap<String, String>> {
            match (base, over) {
                (Some(base), Some(over)) => {
                    let mut merged = base.clone();
                    merged.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
                    Some(merged)
                }
                _ => pick(base, over),
            }
        }
        JobSettings {
            image: pick(&self.image, &over.image),
            image_pull_policy: pick(&self.image_pull_policy, &over.image_pull_policy),
            service_account: pick(&self.service_account, &over.service_account),
            image_pull_secrets: pick(&self.image_pull_secrets, &over.image_pull_secrets),
            env: merge(&self.env, &over.env),
            env_from_secrets: pick(&self.env_from_secrets, &over.env_from_secrets),
            env_from_config_maps: pick(&self.env_from_config_maps, &over.env_from_config_maps),
            resources: pick(&self.resources, &over.resources),
            node_selector: merge(&self.node_selector, &over.node_selector),
            tolerations: pick(&self.tolerations, &over.tolerations),
            affinity: pick(&self.affinity, &over.affinity),
            ttl_seconds_after_finished: pick(
                &self.ttl_seconds_after_finished,
                &over.ttl_seconds_after_finished,
            ),
            labels: merge(&self.labels, &over.labels),
            annotations: merge(&self.annotations, &over.annotations),
        }
    }
}

/// `[launcher.kubernetes]`, parsed: the launcher-wide keys and the default job settings.
#[derive(Debug, Clone, PartialEq)]
pub struct KubernetesSettings {
    /// Where run Jobs are created and watched.
    pub namespace: String,
    /// How long `ErrImagePull` / `ImagePullBackOff` may last before the run fails.
    pub image_pull_grace: Duration,
    pub defaults: JobSettings,
    /// The keys a run's `orch/k8s_config` tag may set (`guard.rs`).
    pub run_overridable: RunOverridable,
}

/// Environment values that win over orch.toml (`ORCH_K8S_NAMESPACE`, `ORCH_K8S_IMAGE`).
#[derive(Debug, Clone, Default)]
pub struct SettingsOverrides {
    pub namespace: Option<String>,
    pub image: Option<String>,
}

impl KubernetesSettings {
    /// Parses `[launcher.kubernetes]` (absent: all defaults) with the environment's overrides.
    pub fn parse(
        table: Option<&Map<String, Value>>,
        overrides: &SettingsOverrides,
    ) -> Result<Self, SettingsError> {
        let origin = "[launcher.kubernetes]";
        let refuse = |message: String| SettingsError {
            origin: origin.to_owned(),
            message,
        };
        let mut table = table.cloned().unwrap_or_default();
        let namespace = match table.remove("namespace") {
            None => None,
            Some(Value::String(ns)) => Some(ns),
            Some(other) => {
                return Err(refuse(format!("`namespace` must be a string, not {other}")));
            }
        };
        let namespace = overrides
            .namespace
            .clone()
            .or(namespace)
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        if !is_dns_label(&namespace) {
            return Err(refuse(format!(
                "namespace {namespace:?} is not a valid Kubernetes namespace (lowercase letters, digits and '-', at most 63)"
            )));
        }
        let image_pull_grace = match table.remove("image_pull_grace") {
            None => DEFAULT_IMAGE_PULL_GRACE,
            Some(Value::String(text)) => humantime::parse_duration(&text).map_err(|e| {
                refuse(format!(
                    "`image_pull_grace` {text:?} is not a duration (e.g. \"60s\"): {e}"
                ))
            })?,
            Some(other) => {
                return Err(refuse(format!(
                    "`image_pull_grace` must be a duration string such as \"60s\", not {other}"
                )));
            }
        };
        let run_overridable =
            RunOverridable::parse(origin, table.remove("run_overridable").as_ref())?;
        let mut defaults = JobSettings::parse(origin, &table)?;
        if let Some(image) = &overrides.image {
            defaults.image = Some(image.clone());
        }
        Ok(Self {
            namespace,
            image_pull_grace,
            defaults,
            run_overridable,
        })
    }
}

/// An RFC 1123 label: what namespaces and (shorter) names must be.
pub fn is_dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => panic!("not an object"),
        }
    }

    #[test]
    fn defaults_without_a_section() {
        let s = KubernetesSettings::parse(None, &SettingsOverrides::default()).unwrap();
        assert_eq!(s.namespace, "default");
        assert_eq!(s.image_pull_grace, DEFAULT_IMAGE_PULL_GRACE);
        assert_eq!(s.defaults, JobSettings::default());
    }

    #[test]
    fn the_section_parses_every_key_and_the_environment_wins() {
        let t = table(json!({
            "namespace": "orch-runs", "image": "orch:0.1.0", "image_pull_policy": "Always",
            "service_account": "orch-run", "image_pull_secrets": ["regcred"],
            "env": {"A": "1"}, "env_from_secrets": ["s"], "env_from_config_maps": ["c"],
            "resources": {"requests": {"cpu": "250m"}, "limits": {"memory": "1Gi"}},
            "node_selector": {"karpenter.sh/capacity-type": "spot"},
            "tolerations": [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}],
            "affinity": {}, "ttl_seconds_after_finished": 3600, "labels": {}, "annotations": {},
            "image_pull_grace": "5s",
        }));
        let env = SettingsOverrides {
            namespace: Some("other".into()),
            image: Some("orch:9".into()),
        };
        let s = KubernetesSettings::parse(Some(&t), &env).unwrap();
        assert_eq!(s.namespace, "other");
        assert_eq!(s.image_pull_grace, Duration::from_secs(5));
        assert_eq!(s.defaults.image.as_deref(), Some("orch:9"));
        assert_eq!(s.defaults.image_pull_policy, Some(PullPolicy::Always));
        assert_eq!(s.defaults.tolerations.as_ref().map(Vec::len), Some(1));
        let limits = s.defaults.resources.unwrap().limits.unwrap();
        assert_eq!(limits["memory"].0, "1Gi");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_by_name() {
        let none = SettingsOverrides::default();
        let err = KubernetesSettings::parse(Some(&table(json!({"imag": "x"}))), &none).unwrap_err();
        assert!(
            err.to_string()
                .contains("[launcher.kubernetes]: unknown field `imag`"),
            "{err}"
        );
        let err = KubernetesSettings::parse(Some(&table(json!({"namespace": "Bad_NS"}))), &none)
            .unwrap_err();
        assert!(
            err.to_string().contains("\"Bad_NS\" is not a valid"),
            "{err}"
        );
        let err = KubernetesSettings::parse(
            Some(&table(json!({"image_pull_policy": "Sometimes"}))),
            &none,
        )
        .unwrap_err();
        assert!(err.to_string().contains("Sometimes"), "{err}");
        let err =
            KubernetesSettings::parse(Some(&table(json!({"image_pull_grace": "soon"}))), &none)
                .unwrap_err();
        assert!(
            err.to_string().contains("`image_pull_grace` \"soon\""),
            "{err}"
        );
    }

    #[test]
    fn overrides_cannot_move_the_namespace() {
        let err = JobSettings::parse_tag(r#"{"namespace": "x"}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tag orch/k8s_config: `namespace` can only be set in [launcher.kubernetes] of orch.toml, not per job or run"
        );
        let err = JobSettings::parse_tag("[1]").unwrap_err();
        assert!(err.to_string().contains("must be a JSON object"), "{err}");
        let err = JobSettings::parse_tag("{").unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }

    #[test]
    fn overlay_merges_maps_and_replaces_the_rest() {
        let base = JobSettings::parse_tag(
            r#"{"image": "a", "env": {"A": "1", "B": "1"}, "node_selector": {"x": "1"},
                "tolerations": [{"key": "k", "operator": "Exists"}]}"#,
        )
        .unwrap();
        let over = JobSettings::parse_tag(
            r#"{"env": {"B": "2"}, "node_selector": {"y": "2"}, "tolerations": []}"#,
        )
        .unwrap();
        let merged = base.overlay(&over);
        assert_eq!(merged.image.as_deref(), Some("a"));
        let env = merged.env.unwrap();
        assert_eq!((env["A"].as_str(), env["B"].as_str()), ("1", "2"));
        assert_eq!(merged.node_selector.unwrap().len(), 2);
        assert_eq!(merged.tolerations, Some(Vec::new()));
    }
}
