//! `--partition`, `--from`/`--to` and `runs list --partition` on the stock binary, whose jobs are
//! not partitioned: a key for an unpartitioned job is refused with exit 2 and no run, bad
//! combinations are usage errors, and an unpartitioned run's JSON has `partition: null`.
//! (Partitioned runs themselves are tested in the worker's `executor/partitions.rs` and the
//! API's `partitions.rs`, with partitioned jobs of their own.)

use crate::support::{JOB, Orch, init};

#[tokio::test]
async fn partition_arguments_are_checked_before_a_run_exists() {
    init();
    let orch = Orch::local();
    orch.run(&["launch", JOB, "--partition", "2026-01-01"])
        .await
        .assert_exit(2)
        .assert_says(&["not partitioned", "2026-01-01"]);
    orch.run(&["launch", JOB, "--from", "2026-01-01"])
        .await
        .assert_exit(2)
        .assert_says(&["--to"]);
    orch.run(&[
        "launch",
        JOB,
        "--partition",
        "2026-01-01",
        "--from",
        "2026-01-01",
        "--to",
        "2026-01-02",
    ])
    .await
    .assert_exit(2);
    orch.run(&["run", JOB, "--partition", "eu"])
        .await
        .assert_exit(2)
        .assert_says(&["not partitioned"]);
    assert!(orch.list_ids(&[]).await.is_empty(), "no run was created");

    let out = orch.run(&["launch", JOB]).await;
    out.assert_exit(0);
    let id = out
        .stdout
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned();
    let run = orch.show(&id).await;
    let run = run.get("run").unwrap_or(&run);
    assert_eq!(run["partition"], serde_json::Value::Null, "{run:#}");
    assert_eq!(run["partition_range"], serde_json::Value::Null, "{run:#}");
    assert_eq!(orch.list_ids(&[]).await, [id]);
    assert!(
        orch.list_ids(&["--partition", "2026-01-01"])
            .await
            .is_empty()
    );
}
