//! Fixtures of the daemon suite: the macro that runs a test on both backends with two store
//! instances (two daemon replicas' pools on one database), the definitions under test, and
//! small readers.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use orchestrator::definitions::{AssetDef, AssetOutput, Definitions, JobDef};
use orchestrator::domain::{Run, RunFilter, ScheduleName, ScheduleTick, TagKey};
use orchestrator::storage::RunStorage;
use serde_json::{Map, json};

/// For each `async fn name(first: Arc<dyn RunStorage>, second: Arc<dyn RunStorage>)` of the
/// calling module, generates `name::postgres` and `name::sqlite`: two stores with their own
/// pools on one fresh database, as two daemon replicas would have.
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        orch_test_support::on_both_backends!(
            orch_test_support::stores::on_postgres_twice,
            orch_test_support::stores::on_sqlite_twice;
            $($name),+
        );
    };
}
pub(crate) use both_backends;

/// The job schedules launch in these tests: `job`, whose only config key is `limit`.
pub fn definitions() -> Arc<Definitions> {
    let asset = AssetDef::builder("a")
        .compute(|_ctx| async { Ok(AssetOutput::default()) })
        .unwrap();
    let mut config = Map::new();
    config.insert("limit".into(), json!(10));
    let job = JobDef::new("job", "a test job", vec![asset], config).unwrap();
    Arc::new(Definitions::new(vec![job]).unwrap())
}

pub fn name(s: &str) -> ScheduleName {
    ScheduleName::parse(s).unwrap()
}

pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Every tick of `schedule`, oldest first.
pub async fn ticks(store: &dyn RunStorage, schedule: &str) -> Vec<ScheduleTick> {
    let mut ticks = store.list_ticks(&name(schedule), None, 1000).await.unwrap();
    ticks.reverse();
    ticks
}

/// Every run tagged `schedule=<schedule>`, oldest first.
pub async fn runs_of(store: &dyn RunStorage, schedule: &str) -> Vec<Run> {
    let filter = RunFilter {
        tag: Some((TagKey::parse("schedule").unwrap(), schedule.to_owned())),
        limit: 1000,
        ..RunFilter::default()
    };
    let mut runs = store.list_runs(&filter).await.unwrap();
    runs.reverse();
    runs
}
