//! Which keys a run's `orch/k8s_config` tag may set: `[launcher.kubernetes] run_overridable`,
//! like Dagster's `only_allow_user_defined_k8s_config_fields`. Whoever may launch a run may by
//! default change only where and how big its pod is (`resources`, `node_selector`,
//! `tolerations`, `affinity`) and its metadata (`labels`, `annotations`); `image`,
//! `service_account`, `env`, `env_from_secrets`, `env_from_config_maps`, `image_pull_secrets`
//! (and every other key) come from the operator's config and the job definitions unless the
//! operator lists them. Job definitions are code the operator deploys and are not limited.
//!
//! [`RunOverridable`] is a [`RunTagCheck`]: the API, the UI and the CLI refuse such a launch
//! before the run exists (422 / exit 2, naming the key), and the launcher checks again before it
//! creates the Job.

use std::collections::BTreeSet;

use orchestrator::domain::Tags;
use orchestrator::launcher::{RunTagCheck, TagRefused};
use serde_json::Value;

use crate::settings::{CONFIG_TAG, JobSettings, SettingsError};

/// The keys a run may set when `run_overridable` is not configured.
pub const DEFAULT_RUN_OVERRIDABLE: [&str; 6] = [
    "resources",
    "node_selector",
    "tolerations",
    "affinity",
    "labels",
    "annotations",
];

/// Every key of [`JobSettings`]: what `run_overridable` may list.
pub const JOB_SETTINGS_KEYS: [&str; 14] = [
    "image",
    "image_pull_policy",
    "service_account",
    "image_pull_secrets",
    "env",
    "env_from_secrets",
    "env_from_config_maps",
    "resources",
    "node_selector",
    "tolerations",
    "affinity",
    "ttl_seconds_after_finished",
    "labels",
    "annotations",
];

/// The keys of `orch/k8s_config` the operator lets runs set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOverridable(BTreeSet<String>);

impl Default for RunOverridable {
    fn default() -> Self {
        Self(DEFAULT_RUN_OVERRIDABLE.map(str::to_owned).into())
    }
}

impl RunOverridable {
    /// Parses `run_overridable` (absent: the default list); `origin` names it in errors.
    pub fn parse(origin: &str, value: Option<&Value>) -> Result<Self, SettingsError> {
        let refuse = |message: String| SettingsError {
            origin: origin.to_owned(),
            message,
        };
        let Some(value) = value else {
            return Ok(Self::default());
        };
        let Value::Array(items) = value else {
            return Err(refuse(format!(
                "`run_overridable` must be a list of keys, not {value}"
            )));
        };
        let mut keys = BTreeSet::new();
        for item in items {
            let Some(key) = item.as_str() else {
                return Err(refuse(format!(
                    "`run_overridable` lists {item}, which is not a key name"
                )));
            };
            if !JOB_SETTINGS_KEYS.contains(&key) {
                return Err(refuse(format!(
                    "`run_overridable` lists `{key}`, which a run cannot set; the keys are: {}",
                    JOB_SETTINGS_KEYS.join(", ")
                )));
            }
            keys.insert(key.to_owned());
        }
        Ok(Self(keys))
    }

    /// The allowed keys, sorted.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Checks the tag's text: a JSON object of valid settings whose keys are all allowed.
    pub fn check_tag(&self, text: &str) -> Result<JobSettings, SettingsError> {
        let settings = JobSettings::parse_tag(text)?;
        // parse_tag accepted it, so it is an object.
        if let Ok(Value::Object(table)) = serde_json::from_str::<Value>(text)
            && let Some(key) = table.keys().find(|k| !self.0.contains(k.as_str()))
        {
            let allowed = if self.0.is_empty() {
                "none".to_owned()
            } else {
                self.keys().collect::<Vec<_>>().join(", ")
            };
            return Err(SettingsError {
                origin: format!("tag {CONFIG_TAG}"),
                message: format!(
                    "`{key}` may not be set by a run; it comes from the operator's config and the job definition. A run may set: {allowed} ([launcher.kubernetes] run_overridable)"
                ),
            });
        }
        Ok(settings)
    }
}

impl RunTagCheck for RunOverridable {
    fn check(&self, tags: &Tags) -> Result<(), TagRefused> {
        let Some(text) = tags
            .iter()
            .find_map(|(k, v)| (k.as_str() == CONFIG_TAG).then_some(v))
        else {
            return Ok(());
        };
        self.check_tag(text).map(drop).map_err(|e| TagRefused {
            tag: CONFIG_TAG.to_owned(),
            message: e.message,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orchestrator::domain::TagKey;
    use serde_json::json;

    fn tags(text: &str) -> Tags {
        let mut tags = Tags::new();
        tags.insert(TagKey::parse(CONFIG_TAG).unwrap(), text.to_owned());
        tags
    }

    #[test]
    fn by_default_runs_may_shape_the_pod_but_not_pick_image_account_or_secrets() {
        let guard = RunOverridable::default();
        let allowed = r#"{"resources": {"limits": {"memory": "2Gi"}}, "node_selector": {"a": "b"},
            "tolerations": [], "affinity": {}, "labels": {"x": "y"}, "annotations": {}}"#;
        assert_eq!(guard.check(&tags(allowed)), Ok(()));
        assert_eq!(guard.check(&Tags::new()), Ok(()));
        for key in [
            "image",
            "service_account",
            "env",
            "env_from_secrets",
            "env_from_config_maps",
            "image_pull_secrets",
        ] {
            let value = match key {
                "image" | "service_account" => json!("x"),
                "env" => json!({"A": "1"}),
                _ => json!(["x"]),
            };
            let text = json!({ "labels": {}, key: value }).to_string();
            let refused = guard.check(&tags(&text)).unwrap_err();
            assert_eq!(refused.tag, CONFIG_TAG);
            assert!(
                refused
                    .message
                    .starts_with(&format!("`{key}` may not be set by a run")),
                "{refused}"
            );
            assert!(refused.message.contains("run_overridable"), "{refused}");
        }
    }

    #[test]
    fn the_operator_can_widen_or_narrow_the_list() {
        let origin = "[launcher.kubernetes]";
        let wide = RunOverridable::parse(origin, Some(&json!(["image", "resources"]))).unwrap();
        assert_eq!(wide.check(&tags(r#"{"image": "mine:1"}"#)), Ok(()));
        assert!(wide.check(&tags(r#"{"labels": {}}"#)).is_err());
        let none = RunOverridable::parse(origin, Some(&json!([]))).unwrap();
        let refused = none.check(&tags(r#"{"labels": {}}"#)).unwrap_err();
        assert!(refused.message.contains("A run may set: none"), "{refused}");
        let err = RunOverridable::parse(origin, Some(&json!(["namespace"]))).unwrap_err();
        assert!(err.to_string().contains("lists `namespace`"), "{err}");
        let err = RunOverridable::parse(origin, Some(&json!("image"))).unwrap_err();
        assert!(err.to_string().contains("must be a list"), "{err}");
    }

    #[test]
    fn a_malformed_tag_is_refused_too() {
        let guard = RunOverridable::default();
        let refused = guard.check(&tags("{")).unwrap_err();
        assert!(refused.message.contains("not valid JSON"), "{refused}");
        let refused = guard.check(&tags(r#"{"resources": 5}"#)).unwrap_err();
        assert_eq!(refused.tag, CONFIG_TAG);
    }
}
