//! Migrating a fresh SQLite database from several stores at once (processes in real life: `orch
//! dev` and `orch launch`, a test and the binary it starts): each finds the schema complete,
//! none fails on a migration another applied.

use orchestrator::storage::{RunStorage, SqliteStore, StoreOptions};

#[tokio::test]
async fn stores_migrating_a_fresh_sqlite_file_at_once_all_succeed() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/orch.db", dir.path().display());
        let mut stores = Vec::new();
        for _ in 0..4 {
            stores.push(
                SqliteStore::connect(&url, &StoreOptions::default())
                    .await
                    .unwrap(),
            );
        }
        let migrated = futures::future::join_all(stores.iter().map(|store| store.migrate())).await;
        for (n, result) in migrated.into_iter().enumerate() {
            assert!(result.is_ok(), "round {round}, store {n}: {result:?}");
        }
        assert!(
            stores[0]
                .list_runs(&Default::default())
                .await
                .unwrap()
                .is_empty()
        );
    }
}
