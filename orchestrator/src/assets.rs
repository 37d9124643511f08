//! Reads about assets across the store's indexes: the health of every asset the definitions
//! declare, from the catalog (latest materialization), the checks' latest verdicts and the
//! recorded freshness — three bounded reads, whatever the number of runs or events.

use std::collections::BTreeMap;

use crate::definitions::Definitions;
use crate::domain::{AssetHealth, AssetKey, HealthInputs, JobName, LatestCheck, health_of};
use crate::storage::{RunStorage, StorageError};

/// The health of one asset of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobAssetHealth {
    pub job: JobName,
    pub key: AssetKey,
    pub health: AssetHealth,
}

/// The health of every asset of every job, in job order then the job's asset order.
pub async fn asset_health(
    store: &dyn RunStorage,
    definitions: &Definitions,
) -> Result<Vec<JobAssetHealth>, StorageError> {
    let materialized: BTreeMap<AssetKey, _> =
        store.latest_materialized_at().await?.into_iter().collect();
    let mut checks: BTreeMap<AssetKey, Vec<LatestCheck>> = BTreeMap::new();
    for check in store.latest_checks().await? {
        checks
            .entry(check.asset_key.clone())
            .or_default()
            .push(check);
    }
    let freshness: BTreeMap<AssetKey, _> = store
        .list_freshness()
        .await?
        .into_iter()
        .map(|f| (f.asset_key, (f.state, f.reason)))
        .collect();
    let mut all = Vec::new();
    for job in definitions.jobs() {
        for key in job.graph().order() {
            let inputs = HealthInputs {
                materialized_at: materialized.get(key).copied(),
                checks: checks.get(key).map_or(&[], Vec::as_slice),
                freshness: freshness.get(key).map(|(s, r)| (*s, r.as_str())),
            };
            all.push(JobAssetHealth {
                job: job.name.clone(),
                key: key.clone(),
                health: health_of(&inputs),
            });
        }
    }
    Ok(all)
}
