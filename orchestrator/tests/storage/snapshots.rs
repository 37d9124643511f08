//! Job snapshots are stored with the run that names them, once per version, and read back
//! byte for byte; a run created without one names none.

use std::sync::Arc;

use orchestrator::domain::{RunFilter, StoredDefinition};
use orchestrator::storage::RunStorage;

use crate::support::{self, queued};

support::storage_tests!(a_run_stores_its_definition_snapshot_once_per_version,);

async fn a_run_stores_its_definition_snapshot_once_per_version(store: Arc<dyn RunStorage>) {
    // Key order and spacing are kept as written: the version is the hash of these bytes.
    let json = r#"{"format":1,"zeta":1,"alpha":{"b":2,"a":1}}"#;
    let definition = StoredDefinition {
        version: "v1".to_owned(),
        json: json.to_owned(),
    };
    let first = store
        .create_run(&queued("job").with_definition(definition.clone()))
        .await
        .unwrap();
    let second = store
        .create_run(&queued("job").with_definition(definition))
        .await
        .unwrap();
    let plain = store.create_run(&queued("job")).await.unwrap();
    assert_eq!(first.definition_version.as_deref(), Some("v1"));
    assert_eq!(second.definition_version.as_deref(), Some("v1"));
    assert_eq!(plain.definition_version, None);
    let read = store.get_run(first.id).await.unwrap();
    assert_eq!(read.definition_version.as_deref(), Some("v1"));
    let listed = store.list_runs(&RunFilter::default()).await.unwrap();
    let versions: Vec<Option<&str>> = listed
        .iter()
        .map(|r| r.definition_version.as_deref())
        .collect();
    assert_eq!(versions, [None, Some("v1"), Some("v1")]);
    assert_eq!(
        store.get_job_snapshot("v1").await.unwrap().as_deref(),
        Some(json)
    );
    assert_eq!(store.get_job_snapshot("v2").await.unwrap(), None);
}
