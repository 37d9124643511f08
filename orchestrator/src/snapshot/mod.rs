//! Job snapshots: the structure of a job as it was when a run was created (like Dagster's job
//! snapshots) — assets, upstreams, descriptions, retries, commands, checks, default config,
//! tags, max runtime, launcher settings — as versioned JSON whose SHA-256 is the definition
//! version. The run stores it (`NewRun::with_definition`); the worker rebuilds the job from it
//! (`job_for_run`), so editing a job file never changes a queued or running run and a worker
//! needs no job files. Rust assets cannot be serialized: the snapshot names them and the
//! worker takes their functions from its own build.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::definitions::{
    AssetCheckDef, AssetCompute, AssetDef, CheckCompute, CommandSpec, DefinitionError, Definitions,
    JobDef, RetryPolicy,
};
use crate::domain::{
    AssetKey, CheckSeverity, IdError, JobName, Run, StoredDefinition, TagKey, Tags,
};
use crate::storage::{RunStorage, StorageError};

#[cfg(test)]
mod tests;

/// The snapshot format this build writes and reads.
pub const FORMAT: u32 = 1;

/// A job's structure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSnapshot {
    pub format: u32,
    pub job: String,
    pub description: String,
    pub default_config: Map<String, Value>,
    pub max_runtime_ms: Option<u64>,
    pub tags: BTreeMap<String, String>,
    pub launcher_config: BTreeMap<String, Map<String, Value>>,
    pub assets: Vec<AssetSnapshot>,
}

/// One asset of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetSnapshot {
    pub key: String,
    pub upstream: Vec<String>,
    pub description: String,
    pub retry: RetrySnapshot,
    pub compute: ComputeSnapshot,
    pub checks: Vec<CheckSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySnapshot {
    pub max_attempts: u32,
    pub delay_ms: u64,
    pub backoff_factor: f64,
    pub max_delay_ms: u64,
}

/// What computes an asset: a Rust function of the build (by key), or a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ComputeSnapshot {
    Rust,
    Command(CommandSnapshot),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSnapshot {
    pub argv: Vec<String>,
    pub cwd: Option<String>,
    pub env: BTreeMap<String, String>,
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSnapshot {
    pub name: String,
    pub description: String,
    pub blocking: bool,
    /// `WARN` or `ERROR`.
    pub severity: String,
    pub compute: CheckComputeSnapshot,
}

/// How a check reaches its verdict: a Rust function of the build (by name), a command, or a
/// report of the asset's own step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CheckComputeSnapshot {
    Rust,
    Command(CommandSnapshot),
    Reported,
}

/// Why a snapshot cannot be stored, read or turned back into a job.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("job snapshot {version}: {reason}")]
    Json { version: String, reason: String },
    #[error("job snapshot {version} has format {format}; this build of orch reads format {FORMAT}")]
    Format { version: String, format: u32 },
    #[error(
        "job '{job}': asset '{asset}' is a Rust asset this build of orch does not have (the run was created by another build)"
    )]
    MissingRustAsset { job: String, asset: String },
    #[error("job snapshot of '{job}': {reason}")]
    Invalid { job: String, reason: String },
    #[error("run {run}: its job snapshot {version} is not in the store")]
    NotStored { run: String, version: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl CommandSnapshot {
    fn of(spec: &CommandSpec) -> Self {
        Self {
            argv: spec.argv.clone(),
            cwd: spec.cwd.as_ref().map(|p| p.to_string_lossy().into_owned()),
            env: spec.env.clone(),
            timeout_ms: spec.timeout.map(millis),
        }
    }

    fn spec(&self) -> CommandSpec {
        CommandSpec {
            argv: self.argv.clone(),
            cwd: self.cwd.as_ref().map(PathBuf::from),
            env: self.env.clone(),
            timeout: self.timeout_ms.map(Duration::from_millis),
        }
    }
}

impl JobSnapshot {
    /// The snapshot of `job` as it is now.
    pub fn of(job: &JobDef) -> Self {
        Self {
            format: FORMAT,
            job: job.name.to_string(),
            description: job.description.clone(),
            default_config: job.default_config.clone(),
            max_runtime_ms: job.max_runtime.map(millis),
            tags: job
                .tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            launcher_config: job.launcher_config.clone(),
            assets: job.assets().iter().map(asset_snapshot).collect(),
        }
    }

    /// The JSON and its version (hex SHA-256 of exactly that JSON).
    pub fn stored(&self) -> StoredDefinition {
        // Serializing plain structs, strings and JSON values cannot fail.
        let json = serde_json::to_string(self).unwrap_or_default();
        let digest = ring::digest::digest(&ring::digest::SHA256, json.as_bytes());
        let version = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        StoredDefinition { version, json }
    }

    /// Reads a stored snapshot of `version`.
    pub fn parse(version: &str, json: &str) -> Result<Self, SnapshotError> {
        #[derive(Deserialize)]
        struct Header {
            format: u32,
        }
        let fault = |e: serde_json::Error| SnapshotError::Json {
            version: version.to_owned(),
            reason: e.to_string(),
        };
        let header: Header = serde_json::from_str(json).map_err(fault)?;
        if header.format != FORMAT {
            return Err(SnapshotError::Format {
                version: version.to_owned(),
                format: header.format,
            });
        }
        serde_json::from_str(json).map_err(fault)
    }

    /// The job this snapshot describes: commands from the snapshot, Rust functions (and Rust
    /// checks) from `compiled`, the build's job of the same name.
    pub fn to_job_def(&self, compiled: Option<&JobDef>) -> Result<JobDef, SnapshotError> {
        let invalid = |reason: String| SnapshotError::Invalid {
            job: self.job.clone(),
            reason,
        };
        let name_error = |e: IdError| invalid(e.to_string());
        let mut assets = Vec::with_capacity(self.assets.len());
        for snapshot in &self.assets {
            let key = AssetKey::parse(&snapshot.key).map_err(name_error)?;
            let built = compiled.and_then(|job| job.asset(&key));
            let asset = match &snapshot.compute {
                ComputeSnapshot::Rust => built
                    .filter(|a| matches!(a.compute, AssetCompute::Rust(_)))
                    .cloned()
                    .ok_or_else(|| SnapshotError::MissingRustAsset {
                        job: self.job.clone(),
                        asset: snapshot.key.clone(),
                    })?,
                ComputeSnapshot::Command(command) => {
                    command_asset(snapshot, command, built).map_err(|e| invalid(e.to_string()))?
                }
            };
            assets.push(asset);
        }
        let mut job = JobDef::new(
            &self.job,
            &self.description,
            assets,
            self.default_config.clone(),
        )
        .map_err(|e: DefinitionError| invalid(e.to_string()))?;
        if let Some(ms) = self.max_runtime_ms {
            job = job.with_max_runtime(Duration::from_millis(ms));
        }
        for (kind, config) in &self.launcher_config {
            job = job.with_launcher_config(kind, config.clone());
        }
        let mut tags = Tags::new();
        for (key, value) in &self.tags {
            tags.insert(TagKey::parse(key).map_err(name_error)?, value.clone());
        }
        Ok(job.with_tags(tags))
    }
}

fn asset_snapshot(asset: &AssetDef) -> AssetSnapshot {
    AssetSnapshot {
        key: asset.key.to_string(),
        upstream: asset.upstream.iter().map(ToString::to_string).collect(),
        description: asset.description.clone(),
        retry: RetrySnapshot {
            max_attempts: asset.retry.max_attempts,
            delay_ms: millis(asset.retry.delay),
            backoff_factor: asset.retry.backoff_factor,
            max_delay_ms: millis(asset.retry.max_delay),
        },
        compute: match &asset.compute {
            AssetCompute::Rust(_) => ComputeSnapshot::Rust,
            AssetCompute::Command(spec) => ComputeSnapshot::Command(CommandSnapshot::of(spec)),
        },
        checks: asset
            .checks
            .iter()
            .map(|c| CheckSnapshot {
                name: c.name.clone(),
                description: c.description.clone(),
                blocking: c.blocking,
                severity: c.severity.as_str().to_owned(),
                compute: match &c.compute {
                    CheckCompute::Rust(_) => CheckComputeSnapshot::Rust,
                    CheckCompute::Command(spec) => {
                        CheckComputeSnapshot::Command(CommandSnapshot::of(spec))
                    }
                    CheckCompute::Reported => CheckComputeSnapshot::Reported,
                },
            })
            .collect(),
    }
}

fn command_asset(
    snapshot: &AssetSnapshot,
    command: &CommandSnapshot,
    built: Option<&AssetDef>,
) -> Result<AssetDef, IdError> {
    let upstream: Vec<&str> = snapshot.upstream.iter().map(String::as_str).collect();
    let mut builder = AssetDef::command(&snapshot.key)
        .upstream(&upstream)
        .description(&snapshot.description)
        .retry(RetryPolicy {
            max_attempts: snapshot.retry.max_attempts.max(1),
            delay: Duration::from_millis(snapshot.retry.delay_ms),
            backoff_factor: snapshot.retry.backoff_factor,
            max_delay: Duration::from_millis(snapshot.retry.max_delay_ms),
        });
    if let Some(freshness) = built.and_then(|a| a.freshness.clone()) {
        builder = builder.freshness(freshness);
    }
    for check in &snapshot.checks {
        let severity = CheckSeverity::parse(&check.severity).unwrap_or(CheckSeverity::Error);
        let check_builder = AssetCheckDef::builder(&check.name)
            .description(&check.description)
            .blocking(check.blocking)
            .severity(severity);
        let def = match &check.compute {
            CheckComputeSnapshot::Command(command) => check_builder.command(command.spec())?,
            CheckComputeSnapshot::Reported => check_builder.reported()?,
            // A Rust check of the build, if it still has it (else it is not run).
            CheckComputeSnapshot::Rust => {
                match built.and_then(|a| a.checks.iter().find(|c| c.name == check.name)) {
                    Some(def) => def.clone(),
                    None => continue,
                }
            }
        };
        builder = builder.check(def);
    }
    builder.command(command.spec())
}

/// The job `run` executes: rebuilt from its stored snapshot when it has one, else `None` (the
/// caller uses the build's definitions, as for runs created before snapshots).
pub async fn job_for_run(
    store: &dyn RunStorage,
    definitions: &Definitions,
    run: &Run,
) -> Result<Option<JobDef>, SnapshotError> {
    let Some(version) = &run.definition_version else {
        return Ok(None);
    };
    let json = store
        .get_job_snapshot(version)
        .await?
        .ok_or_else(|| SnapshotError::NotStored {
            run: run.id.to_string(),
            version: version.clone(),
        })?;
    let snapshot = JobSnapshot::parse(version, &json)?;
    snapshot
        .to_job_def(definitions.job(run.job.as_str()))
        .map(Some)
}

/// The stored snapshot of the job named `job` in `definitions`, for a new run of it.
pub fn definition_of(definitions: &Definitions, job: &JobName) -> Option<StoredDefinition> {
    definitions
        .job(job.as_str())
        .map(|j| JobSnapshot::of(j).stored())
}
