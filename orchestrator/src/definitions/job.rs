//! Job definitions: a named set of assets with default run config, and the resolution of a
//! launch's config against those defaults.

use std::fmt;

use serde_json::{Map, Value};

use super::graph::AssetGraph;
use super::partitions::PartitionsDef;
use super::{AssetDef, ConfigError, DefinitionError};
use crate::domain::{AssetKey, JobName, Tags};

/// A job: assets executed together, in dependency order.
#[derive(Clone)]
pub struct JobDef {
    pub name: JobName,
    pub description: String,
    assets: Vec<AssetDef>,
    graph: AssetGraph,
    /// The run config a launch starts from; its keys are the keys a launch may set.
    pub default_config: Map<String, Value>,
    /// A run still going after this long is terminated and fails ("exceeded max runtime").
    /// A run's `orch/max_runtime` tag (e.g. `30m`) overrides it.
    pub max_runtime: Option<std::time::Duration>,
    /// Launcher settings for this job's runs, by launcher kind (e.g. `kubernetes` →
    /// `{"node_selector": {"karpenter.sh/capacity-type": "on-demand"}}`), laid over the
    /// launcher's defaults; a run's own tag (e.g. `orch/k8s_config`) is laid over these.
    pub launcher_config: std::collections::BTreeMap<String, Map<String, Value>>,
    /// Tags of every run of the job, under the tags a launch gives (job files' `tags`).
    pub tags: Tags,
    /// How the job's runs are partitioned; every partitioned asset of the job has this same
    /// definition, and the job's other assets run unpartitioned.
    partitions: Option<PartitionsDef>,
    /// Backfill policy: up to this many partitions in one run; `None` is one run per partition.
    pub max_partitions_per_run: Option<u32>,
}

impl JobDef {
    /// Validates the asset graph of the job.
    pub fn new(
        name: &str,
        description: &str,
        assets: Vec<AssetDef>,
        default_config: Map<String, Value>,
    ) -> Result<Self, DefinitionError> {
        let name = JobName::parse(name)?;
        let nodes: Vec<_> = assets
            .iter()
            .map(|a| (a.key.clone(), a.upstream.clone()))
            .collect();
        let graph = AssetGraph::new(&name, &nodes)?;
        for asset in &assets {
            for (i, check) in asset.checks.iter().enumerate() {
                if asset.checks[..i].iter().any(|c| c.name == check.name) {
                    return Err(DefinitionError::DuplicateCheck {
                        job: name,
                        asset: asset.key.clone(),
                        check: check.name.clone(),
                    });
                }
            }
        }
        let mut partitions: Option<PartitionsDef> = None;
        for asset in &assets {
            match (&partitions, &asset.partitions) {
                (None, Some(def)) => partitions = Some(def.clone()),
                (Some(shared), Some(def)) if shared != def => {
                    return Err(DefinitionError::MixedPartitions {
                        job: name,
                        asset: asset.key.clone(),
                    });
                }
                _ => {}
            }
        }
        Ok(Self {
            partitions,
            name,
            description: description.to_owned(),
            assets,
            graph,
            default_config,
            max_runtime: None,
            launcher_config: std::collections::BTreeMap::new(),
            tags: Tags::new(),
            max_partitions_per_run: None,
        })
    }

    /// Sets the job's max runtime.
    pub fn with_max_runtime(mut self, max_runtime: std::time::Duration) -> Self {
        self.max_runtime = Some(max_runtime);
        self
    }

    /// Partitions the job by `def`: its assets get `def` (an asset partitioned some other way is
    /// refused), so they all share it.
    pub fn with_partitions(mut self, def: PartitionsDef) -> Result<Self, DefinitionError> {
        for asset in &mut self.assets {
            match &asset.partitions {
                Some(own) if own != &def => {
                    return Err(DefinitionError::MixedPartitions {
                        job: self.name.clone(),
                        asset: asset.key.clone(),
                    });
                }
                _ => asset.partitions = Some(def.clone()),
            }
        }
        self.partitions = Some(def);
        Ok(self)
    }

    /// How the job is partitioned (`None`: its runs target no partition).
    pub fn partitions(&self) -> Option<&PartitionsDef> {
        self.partitions.as_ref()
    }

    /// Sets the settings of launcher `kind` (e.g. `kubernetes`) for this job's runs.
    pub fn with_launcher_config(mut self, kind: &str, config: Map<String, Value>) -> Self {
        self.launcher_config.insert(kind.to_owned(), config);
        self
    }

    /// Sets the tags of every run of the job.
    pub fn with_tags(mut self, tags: Tags) -> Self {
        self.tags = tags;
        self
    }

    /// The tags of a run of this job launched with `given`: the job's, overlaid with `given`.
    pub fn run_tags(&self, given: Tags) -> Tags {
        let mut tags = self.tags.clone();
        tags.extend(given);
        tags
    }

    pub fn graph(&self) -> &AssetGraph {
        &self.graph
    }

    pub fn assets(&self) -> &[AssetDef] {
        &self.assets
    }

    pub fn asset(&self, key: &AssetKey) -> Option<&AssetDef> {
        self.assets.iter().find(|a| &a.key == key)
    }

    /// The job's defaults overlaid with `overrides`. A key the job does not know, or a value of
    /// another JSON type than the default's (null defaults accept anything), is refused.
    pub fn resolve_config(&self, overrides: &Map<String, Value>) -> Result<Value, ConfigError> {
        let mut config = self.default_config.clone();
        for (key, value) in overrides {
            let Some(default) = self.default_config.get(key) else {
                return Err(ConfigError::UnknownKey {
                    job: self.name.clone(),
                    key: key.clone(),
                    known: self.default_config.keys().cloned().collect(),
                });
            };
            if !default.is_null() && json_type(default) != json_type(value) {
                return Err(ConfigError::WrongType {
                    job: self.name.clone(),
                    key: key.clone(),
                    expected: json_type(default),
                    got: json_type(value),
                });
            }
            config.insert(key.clone(), value.clone());
        }
        Ok(Value::Object(config))
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl fmt::Debug for JobDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobDef")
            .field("name", &self.name)
            .field("assets", &self.graph.order())
            .field("default_config", &self.default_config)
            .field("partitions", &self.partitions)
            .finish_non_exhaustive()
    }
}
