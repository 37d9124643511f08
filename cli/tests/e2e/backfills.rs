//! Backfills through the binary with real daemons on PostgreSQL: 90 daily partitions of a
//! command asset that records each run of its key; two daemons drive the backfill and one is
//! killed -9 midway — every partition runs exactly once, none is lost; the injected failures
//! are re-run, exactly those, by a `failed` backfill; a second `missing` backfill creates no
//! run; a backfill canceled midway stops submitting and ends CANCELED.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use orchestrator::domain::{BackfillId, BackfillStatus, RunFilter, RunStatus};
use orchestrator::storage::RunStorage;

use crate::support::{Orch, TestDb, eventually, init};

/// Daily partitions January to March 2026 (90 keys); each run appends a line to
/// `runs/<key>`, and fails when `fail/<key>` exists.
const DAILY: &str = r#"name = "daily_keys"
partitions = { daily = { start = "2026-01-01", end = "2026-04-01", timezone = "UTC" } }

[[assets]]
name = "day"
command = ["sh", "-c", "echo run >> \"$MARKS/runs/$ORCH_PARTITION_KEY\"; if [ -e \"$MARKS/fail/$ORCH_PARTITION_KEY\" ]; then exit 3; fi; echo '{}' > \"$ORCH_OUTPUT\""]
"#;

const FAILING: [&str; 3] = ["2026-01-10", "2026-02-14", "2026-03-30"];

/// Runs per key, from the marks the command left.
fn runs_per_key(marks: &Path) -> BTreeMap<String, usize> {
    std::fs::read_dir(marks.join("runs"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let lines = std::fs::read_to_string(e.path()).unwrap().lines().count();
            (e.file_name().to_string_lossy().into_owned(), lines)
        })
        .collect()
}

/// The id on the last line of a command's stdout.
fn last_line(stdout: &str) -> String {
    stdout.lines().last().unwrap_or_default().trim().to_owned()
}

async fn wait_for_status(
    store: &dyn RunStorage,
    id: BackfillId,
    want: BackfillStatus,
    orch: &Orch,
) {
    let deadline = Duration::from_secs(180);
    let until = tokio::time::Instant::now() + deadline;
    loop {
        let b = store.get_backfill(id).await.unwrap().unwrap();
        if b.status == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < until,
            "backfill {id} is {} after {deadline:?}, not {want}; counts {:?}\n{}",
            b.status,
            store.backfill_counts(id).await.unwrap(),
            orch.log("daemon-b.log")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run_count(store: &dyn RunStorage) -> usize {
    store
        .list_runs(&RunFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn two_daemons_one_killed_run_every_partition_once_and_retry_exactly_the_failures() {
    init();
    let db = TestDb::create().await;
    let marks = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(marks.path().join("runs")).unwrap();
    std::fs::create_dir_all(marks.path().join("fail")).unwrap();
    for key in FAILING {
        std::fs::write(marks.path().join("fail").join(key), "").unwrap();
    }
    let orch = Orch::local()
        .on_postgres(&db)
        .env("MARKS", marks.path().display().to_string())
        .env("ORCH_DAEMON_LEASE", "1s")
        .env("ORCH_MONITOR_INTERVAL", "200ms");
    std::fs::create_dir_all(orch.home().join("jobs")).unwrap();
    std::fs::write(orch.home().join("jobs/daily.toml"), DAILY).unwrap();
    let store = orch.store().await;

    let dry = orch
        .run(&[
            "backfill",
            "create",
            "daily_keys",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
            "--dry-run",
        ])
        .await;
    dry.assert_exit(0);
    assert_eq!(last_line(&dry.stdout), "90", "{}", dry.stdout);
    assert_eq!(store.list_backfills(None, 10).await.unwrap().len(), 0);

    let mut a = orch.spawn(&["daemon"], "daemon-a.log");
    let mut b = orch.spawn(&["daemon"], "daemon-b.log");
    let created = orch
        .run(&[
            "backfill",
            "create",
            "daily_keys",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
            "--max-concurrent",
            "6",
        ])
        .await;
    created.assert_exit(0);
    let id = BackfillId::parse(&last_line(&created.stdout)).unwrap();

    // Midway, one daemon dies without a word.
    eventually("30 partitions done", Duration::from_secs(120), || async {
        store
            .backfill_counts(id)
            .await
            .unwrap()
            .runs
            .get(&RunStatus::Success)
            .copied()
            .unwrap_or(0)
            >= 30
    })
    .await;
    a.start_kill().unwrap();
    a.wait().await.unwrap();
    wait_for_status(store.as_ref(), id, BackfillStatus::Failed, &orch).await;

    let shown = orch
        .run(&["backfill", "show", &id.to_string(), "--json"])
        .await;
    shown.assert_exit(0);
    let shown: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(shown["status"], "FAILED");
    assert_eq!(shown["partitions"], 90);
    assert_eq!(shown["counts"]["SUCCESS"], 87, "{shown:#}");
    assert_eq!(shown["counts"]["FAILURE"], 3, "{shown:#}");
    let once = runs_per_key(marks.path());
    assert_eq!(once.len(), 90, "none lost: {once:?}");
    assert!(once.values().all(|n| *n == 1), "none run twice: {once:?}");
    let listed = orch
        .run(&[
            "runs",
            "list",
            "--backfill",
            &id.to_string(),
            "--limit",
            "1000",
            "--json",
        ])
        .await;
    listed.assert_exit(0);
    assert_eq!(
        listed.stdout.matches("\"backfill_id\"").count(),
        90,
        "{}",
        listed.stdout
    );
    assert_eq!(
        listed
            .stdout
            .matches(&format!("\"launched_by\": \"backfill:{id}\""))
            .count(),
        90,
        "every run of the backfill says it launched it: {}",
        listed.stdout
    );

    // The failures, fixed, are re-run — exactly those.
    for key in FAILING {
        std::fs::remove_file(marks.path().join("fail").join(key)).unwrap();
    }
    let retry = orch
        .run(&[
            "backfill",
            "create",
            "daily_keys",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
            "--mode",
            "failed",
        ])
        .await;
    retry.assert_exit(0);
    let retry_id = BackfillId::parse(&last_line(&retry.stdout)).unwrap();
    wait_for_status(store.as_ref(), retry_id, BackfillStatus::Completed, &orch).await;
    let after = runs_per_key(marks.path());
    for (key, n) in &after {
        let expected = if FAILING.contains(&key.as_str()) {
            2
        } else {
            1
        };
        assert_eq!(*n, expected, "{key}: {after:?}");
    }
    let status = orch.run(&["partitions", "daily_keys", "--json"]).await;
    status.assert_exit(0);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(status["summary"]["materialized"], 90, "{status:#}");

    // Nothing missing: a second backfill creates no run.
    let runs_before = run_count(store.as_ref()).await;
    let again = orch
        .run(&[
            "backfill",
            "create",
            "daily_keys",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
        ])
        .await;
    again.assert_exit(0);
    let again_id = BackfillId::parse(&last_line(&again.stdout)).unwrap();
    wait_for_status(store.as_ref(), again_id, BackfillStatus::Completed, &orch).await;
    assert_eq!(run_count(store.as_ref()).await, runs_before);

    // Canceled midway: it stops submitting and ends CANCELED with partitions left.
    let all = orch
        .run(&[
            "backfill",
            "create",
            "daily_keys",
            "--from",
            "2026-01-01",
            "--to",
            "2026-03-31",
            "--mode",
            "all",
            "--max-concurrent",
            "1",
            "--reverse",
        ])
        .await;
    all.assert_exit(0);
    let all_id = BackfillId::parse(&last_line(&all.stdout)).unwrap();
    eventually("2 partitions re-run", Duration::from_secs(60), || async {
        store
            .backfill_counts(all_id)
            .await
            .unwrap()
            .runs
            .get(&RunStatus::Success)
            .copied()
            .unwrap_or(0)
            >= 2
    })
    .await;
    orch.run(&["backfill", "cancel", &all_id.to_string()])
        .await
        .assert_exit(0);
    wait_for_status(store.as_ref(), all_id, BackfillStatus::Canceled, &orch).await;
    let counts = store.backfill_counts(all_id).await.unwrap();
    assert!(counts.pending > 80, "{counts:?}");
    assert_eq!(counts.in_flight(), 0);
    // Reversed: the newest keys ran first.
    assert_eq!(runs_per_key(marks.path())["2026-03-31"], 2);
    assert_eq!(runs_per_key(marks.path())["2026-01-01"], 1);
    b.kill().await.unwrap();
}
