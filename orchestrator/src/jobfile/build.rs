//! From a checked [`JobSpec`] to what the rest of orch runs: a [`JobDef`] of command assets
//! (the graph's cycle check happens here) and its [`ScheduleDef`]s, the job's tags under each
//! schedule's own.

use std::collections::BTreeMap;

use super::error::{Fault, Located, Position};
use super::validate::{AssetSpec, JobSpec};
use crate::definitions::{AssetCheckDef, AssetDef, DefinitionError, JobDef, ScheduleDef};
use crate::domain::AssetKey;

/// Builds the job of `spec`; a cycle is a fault at the first asset on it.
pub fn build(spec: &JobSpec) -> Result<(JobDef, Vec<ScheduleDef>), Located> {
    let positions: BTreeMap<&AssetKey, Position> =
        spec.assets.iter().map(|a| (&a.key, a.at)).collect();
    let assets = spec
        .assets
        .iter()
        .map(asset)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|(at, fault)| vec![(at, fault)])?;
    let mut job = JobDef::new(
        spec.name.as_str(),
        &spec.description,
        assets,
        spec.config.clone(),
    )
    .map_err(|e| {
        let (at, fault) = match e {
            DefinitionError::Cycle { cycle, .. } => {
                let at = cycle
                    .iter()
                    .filter_map(|k| positions.get(k))
                    .min()
                    .copied()
                    .unwrap_or(spec.name_at);
                (at, Fault::Cycle(cycle))
            }
            other => (spec.name_at, Fault::Definition(other)),
        };
        vec![(at, fault)]
    })?
    .with_tags(spec.tags.clone());
    if let Some(max_runtime) = spec.max_runtime {
        job = job.with_max_runtime(max_runtime);
    }
    if let Some(partitions) = &spec.partitions {
        job = job
            .with_partitions(partitions.clone())
            .map_err(|e| vec![(spec.name_at, Fault::Definition(e))])?;
    }
    job.max_partitions_per_run = spec.max_partitions_per_run;
    for (kind, config) in &spec.launcher {
        job = job.with_launcher_config(kind, config.clone());
    }
    let mut faults = Vec::new();
    let mut schedules = Vec::new();
    for schedule in &spec.schedules {
        let mut def = schedule.def.clone();
        def.tags = job.run_tags(def.tags);
        match job.resolve_config(&def.run_config) {
            Ok(_) => schedules.push(def),
            Err(source) => faults.push((
                schedule.at,
                Fault::ScheduleConfig {
                    schedule: def.name.to_string(),
                    source,
                },
            )),
        }
    }
    if !faults.is_empty() {
        return Err(faults);
    }
    Ok((job, schedules))
}

fn asset(spec: &AssetSpec) -> Result<AssetDef, (Position, Fault)> {
    let upstream: Vec<&str> = spec.upstream.iter().map(AssetKey::as_str).collect();
    let mut builder = AssetDef::command(spec.key.as_str())
        .upstream(&upstream)
        .description(&spec.description)
        .retry(spec.retry);
    if let Some(freshness) = &spec.freshness {
        builder = builder.freshness(freshness.clone());
    }
    for check in &spec.checks {
        let check_builder = AssetCheckDef::builder(&check.name)
            .description(&check.description)
            .blocking(check.blocking)
            .severity(check.severity);
        let def = match &check.command {
            Some(command) => check_builder.command(command.clone()),
            None => check_builder.reported(),
        }
        .map_err(|e| (check.at, e.into()))?;
        builder = builder.check(def);
    }
    builder
        .command(spec.command.clone())
        .map_err(|e| (spec.at, e.into()))
}
