//! Launching a selection of a job's assets (`orch launch JOB --select fetch_data+`, the API's
//! `select`): which steps run, and the refusal of a selection whose unselected upstream assets
//! were never materialized. The worker loads those upstream outputs from their latest
//! materialization through the IO manager.

use std::collections::BTreeSet;

use crate::definitions::{AssetSelection, JobDef, SelectionError};
use crate::domain::{AssetKey, JobName, RunId};
use crate::storage::{RunStorage, StorageError};

/// Why a selection cannot be launched.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("job '{job}': {source}")]
    Selection {
        job: JobName,
        source: SelectionError,
    },
    #[error(
        "job '{job}': the selection needs the outputs of {}, which were never materialized; select them too or materialize them first",
        missing.iter().map(AssetKey::as_str).collect::<Vec<_>>().join(", ")
    )]
    NeverMaterialized {
        job: JobName,
        missing: Vec<AssetKey>,
    },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The run tag (`orch/checks_only=true`) of a run that evaluates the checks of its selected
/// assets against their latest materialization instead of materializing them
/// (`orch checks run`).
pub const CHECKS_ONLY_TAG: &str = "orch/checks_only";

/// The unselected assets whose outputs the `selected` steps of `job` read.
pub fn upstream_outside(job: &JobDef, selected: &[AssetKey]) -> BTreeSet<AssetKey> {
    let chosen: BTreeSet<&AssetKey> = selected.iter().collect();
    selected
        .iter()
        .flat_map(|k| job.graph().upstream_of(k).iter())
        .filter(|k| !chosen.contains(k))
        .cloned()
        .collect()
}

fn resolve(job: &JobDef, selection: &AssetSelection) -> Result<Vec<AssetKey>, SelectError> {
    selection
        .resolve(job.graph())
        .map_err(|source| SelectError::Selection {
            job: job.name.clone(),
            source,
        })
}

/// The steps `selection` chooses in `job` (dependency order), or `None` when it chooses every
/// asset (a plain run), refusing it when an unselected upstream has no materialization
/// (`latest` gives an asset's latest materializing run).
pub fn plan_selection(
    job: &JobDef,
    selection: &AssetSelection,
    latest: impl Fn(&AssetKey) -> Option<RunId>,
) -> Result<Option<Vec<AssetKey>>, SelectError> {
    let selected = resolve(job, selection)?;
    if selected.len() == job.graph().order().len() {
        return Ok(None);
    }
    let missing: Vec<AssetKey> = upstream_outside(job, &selected)
        .into_iter()
        .filter(|k| latest(k).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(SelectError::NeverMaterialized {
            job: job.name.clone(),
            missing,
        });
    }
    Ok(Some(selected))
}

/// [`plan_selection`] with the latest materializations read from `store`.
pub async fn check_selection(
    store: &dyn RunStorage,
    job: &JobDef,
    selection: &AssetSelection,
) -> Result<Option<Vec<AssetKey>>, SelectError> {
    let resolved = resolve(job, selection)?;
    let mut latest = std::collections::BTreeMap::new();
    for key in upstream_outside(job, &resolved) {
        if let Some(m) = store.asset_history(&key, None, 1).await?.into_iter().next() {
            latest.insert(key, m.run_id);
        }
    }
    plan_selection(job, selection, |k| latest.get(k).copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::{AssetDef, AssetOutput};
    use serde_json::{Map, Value};

    fn job() -> JobDef {
        let asset = |key: &str, up: &[&str]| {
            AssetDef::builder(key)
                .upstream(up)
                .compute(|_| async { Ok(AssetOutput::new(Value::Null)) })
                .expect("asset")
        };
        JobDef::new(
            "j",
            "",
            vec![asset("a", &[]), asset("b", &["a"]), asset("c", &["b"])],
            Map::new(),
        )
        .expect("job")
    }

    fn keys(v: &[&str]) -> Vec<AssetKey> {
        v.iter().map(|k| AssetKey::parse(k).expect("key")).collect()
    }

    #[test]
    fn a_selection_of_every_asset_is_a_plain_run() {
        let sel = AssetSelection::parse("a*").expect("parse");
        assert_eq!(plan_selection(&job(), &sel, |_| None).expect("plan"), None);
    }

    #[test]
    fn unselected_upstream_must_have_been_materialized() {
        let sel = AssetSelection::parse("c").expect("parse");
        let err = plan_selection(&job(), &sel, |_| None).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "job 'j': the selection needs the outputs of b, which were never materialized; select them too or materialize them first"
        );
        let run = RunId::new();
        let plan = plan_selection(&job(), &sel, |k| (k.as_str() == "b").then_some(run));
        assert_eq!(plan.expect("plan"), Some(keys(&["c"])));
        let sel = AssetSelection::parse("b+").expect("parse");
        let err = plan_selection(&job(), &sel, |_| None).expect_err("refused");
        assert!(err.to_string().contains("outputs of a,"), "{err}");
    }

    #[test]
    fn unknown_assets_name_the_job() {
        let sel = AssetSelection::parse("zz").expect("parse");
        let err = plan_selection(&job(), &sel, |_| None).expect_err("refused");
        assert!(
            err.to_string()
                .starts_with("job 'j': asset selection names unknown assets: zz"),
            "{err}"
        );
    }
}
