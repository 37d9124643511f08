//! Partitioned runs: a Rust asset reads its key, range and time window from the context, a
//! command asset from `ORCH_PARTITION_KEY`, `ORCH_PARTITION_RANGE_START|END` and
//! `ORCH_TIME_WINDOW_START|END`; a run whose key the job does not know fails with the reason.

use std::sync::Mutex;

use orchestrator::definitions::{CommandSpec, PartitionsDef};
use orchestrator::domain::{JobName, PartitionRange, PartitionScope, TimeWindow};

use super::*;

/// Writes what the command saw of its partition as its JSON output.
const ECHO_PARTITION: &str = r#"printf '{"key":"%s","start":"%s","end":"%s","from":"%s","to":"%s"}' \
    "${ORCH_PARTITION_KEY-unset}" "${ORCH_PARTITION_RANGE_START-unset}" \
    "${ORCH_PARTITION_RANGE_END-unset}" "${ORCH_TIME_WINDOW_START-unset}" \
    "${ORCH_TIME_WINDOW_END-unset}" > "$ORCH_OUTPUT""#;

type Seen = Arc<Mutex<Vec<(PartitionScope, Value)>>>;

/// A daily job: `command` echoes its partition env, `rust` records its context's scope and the
/// command's output.
fn daily_job(seen: Seen) -> JobDef {
    let command = AssetDef::command("command")
        .command(CommandSpec::new(["sh", "-c", ECHO_PARTITION]))
        .unwrap();
    let rust = AssetDef::builder("rust")
        .upstream(&["command"])
        .compute(move |ctx| {
            let seen = seen.clone();
            async move {
                let echoed: Value = ctx.input("command")?;
                seen.lock().unwrap().push((ctx.partition.clone(), echoed));
                Ok(AssetOutput::new(json!(null)))
            }
        })
        .unwrap();
    job("daily", vec![command, rust])
        .with_partitions(PartitionsDef::daily("2026-01-01", "UTC").unwrap())
        .unwrap()
}

fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn daily_run(range: PartitionRange) -> NewRun {
    NewRun::in_process(JobName::parse("daily").unwrap(), json!({}), Tags::new())
        .with_partition(range)
}

#[tokio::test]
async fn a_single_key_run_gives_assets_its_key_range_and_window() {
    let seen = Seen::default();
    let h = harness(vec![daily_job(seen.clone())]).await;
    let (status, events) = h
        .run_new(daily_run(PartitionRange::single("2026-03-01")))
        .await;
    assert_eq!(status, RunStatus::Success, "{events:#?}");
    let seen = seen.lock().unwrap();
    let (scope, echoed) = &seen[0];
    assert_eq!(
        *scope,
        PartitionScope {
            key: Some("2026-03-01".to_owned()),
            range: Some(PartitionRange::single("2026-03-01")),
            time_window: Some(TimeWindow {
                start: utc("2026-03-01T00:00:00Z"),
                end: utc("2026-03-02T00:00:00Z"),
            }),
        }
    );
    assert_eq!(
        *echoed,
        json!({
            "key": "2026-03-01",
            "start": "2026-03-01",
            "end": "2026-03-01",
            "from": "2026-03-01T00:00:00+00:00",
            "to": "2026-03-02T00:00:00+00:00",
        })
    );
}

#[tokio::test]
async fn a_range_run_gives_the_range_and_its_whole_window_but_no_key() {
    let seen = Seen::default();
    let h = harness(vec![daily_job(seen.clone())]).await;
    let range = PartitionRange {
        start: "2026-03-01".to_owned(),
        end: "2026-03-03".to_owned(),
    };
    let (status, events) = h.run_new(daily_run(range.clone())).await;
    assert_eq!(status, RunStatus::Success, "{events:#?}");
    let seen = seen.lock().unwrap();
    let (scope, echoed) = &seen[0];
    assert_eq!(scope.key, None);
    assert_eq!(scope.range, Some(range));
    assert_eq!(
        scope.time_window,
        Some(TimeWindow {
            start: utc("2026-03-01T00:00:00Z"),
            end: utc("2026-03-04T00:00:00Z"),
        })
    );
    assert_eq!(echoed["key"], "unset");
    assert_eq!(echoed["start"], "2026-03-01");
    assert_eq!(echoed["end"], "2026-03-03");
    assert_eq!(echoed["to"], "2026-03-04T00:00:00+00:00");
}

#[tokio::test]
async fn an_unpartitioned_run_sets_no_partition_env() {
    let seen = Seen::default();
    let h = harness(vec![daily_job(seen.clone())]).await;
    let (status, _) = h.run("daily").await;
    assert_eq!(status, RunStatus::Success);
    let seen = seen.lock().unwrap();
    let (scope, echoed) = &seen[0];
    assert_eq!(*scope, PartitionScope::default());
    assert_eq!(
        *echoed,
        json!({"key": "unset", "start": "unset", "end": "unset", "from": "unset", "to": "unset"})
    );
}

#[tokio::test]
async fn a_run_of_a_key_the_job_does_not_know_fails_before_any_step() {
    let seen = Seen::default();
    let h = harness(vec![daily_job(seen.clone())]).await;
    let (status, events) = h
        .run_new(daily_run(PartitionRange::single("2025-12-31")))
        .await;
    assert_eq!(status, RunStatus::Failure);
    let message = run_failure_message(&events);
    assert!(
        message.contains("unknown partition key '2025-12-31'") && message.contains("2026-01-01 …"),
        "{message}"
    );
    assert!(types_of(&events, "command").is_empty());
    assert!(seen.lock().unwrap().is_empty());
}

/// Reads the partition through the real `dagster_pipes` package and writes it as the output.
const PIPES_PARTITION: &str = r#"
import json, os
from dagster_pipes import open_dagster_pipes
with open_dagster_pipes() as pipes:
    # Both are plain dicts in dagster_pipes (TypedDicts), the window's ends ISO strings.
    keys = pipes.partition_key_range
    window = pipes.partition_time_window
    out = {
        "key": pipes.partition_key,
        "range": [keys["start"], keys["end"]],
        "window": [window["start"], window["end"]],
    }
    with open(os.environ["ORCH_OUTPUT"], "w") as f:
        json.dump(out, f)
"#;

#[tokio::test]
async fn a_dagster_pipes_script_reads_the_key_range_and_window() {
    let python = std::env::var("ORCH_PYTHON").unwrap_or_else(|_| {
        panic!("ORCH_PYTHON is not set: run `eval \"$(scripts/test-services.sh)\"` first")
    });
    let seen = Seen::default();
    let recorded = seen.clone();
    let script = AssetDef::command("command")
        .command(CommandSpec::new([
            python,
            "-c".to_owned(),
            PIPES_PARTITION.to_owned(),
        ]))
        .unwrap();
    let rust = AssetDef::builder("rust")
        .upstream(&["command"])
        .compute(move |ctx| {
            let seen = recorded.clone();
            async move {
                let echoed: Value = ctx.input("command")?;
                seen.lock().unwrap().push((ctx.partition.clone(), echoed));
                Ok(AssetOutput::new(json!(null)))
            }
        })
        .unwrap();
    let hourly = job("daily", vec![script, rust])
        .with_partitions(PartitionsDef::hourly("2026-10-24", "Europe/Paris").unwrap())
        .unwrap();
    let h = harness(vec![hourly]).await;
    // The repeated 02:00 when Paris leaves summer time: one two-hour window.
    let (status, events) = h
        .run_new(daily_run(PartitionRange::single("2026-10-25-02:00")))
        .await;
    assert_eq!(status, RunStatus::Success, "{events:#?}");
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen[0].1,
        json!({
            "key": "2026-10-25-02:00",
            "range": ["2026-10-25-02:00", "2026-10-25-02:00"],
            "window": ["2026-10-25T00:00:00+00:00", "2026-10-25T02:00:00+00:00"],
        })
    );
}

#[tokio::test]
async fn a_command_check_of_a_partitioned_run_records_its_partition() {
    use orchestrator::definitions::AssetCheckDef;
    // The check passes only for the 2026-03-02 partition, reading the asset's output.
    let is_second = r#"grep -q '"key":"2026-03-02"' "$ORCH_INPUTS_DIR/command.json""#;
    let command = AssetDef::command("command")
        .check(
            AssetCheckDef::builder("right_day")
                .command(CommandSpec::new(["sh", "-c", is_second]))
                .unwrap(),
        )
        .command(CommandSpec::new(["sh", "-c", ECHO_PARTITION]))
        .unwrap();
    let daily = job("daily", vec![command])
        .with_partitions(PartitionsDef::daily("2026-01-01", "UTC").unwrap())
        .unwrap();
    let h = harness(vec![daily]).await;
    let mut verdicts = Vec::new();
    for key in ["2026-03-01", "2026-03-02"] {
        let (status, events) = h.run_new(daily_run(PartitionRange::single(key))).await;
        assert_eq!(status, RunStatus::Success, "{events:#?}");
        verdicts.extend(events.into_iter().filter_map(|e| match e.kind {
            EventKind::AssetCheckEvaluation {
                check,
                passed,
                partition,
                ..
            } => Some((check, passed, partition)),
            _ => None,
        }));
    }
    let day = |d: &str| Some(d.to_owned());
    assert_eq!(
        verdicts,
        [
            ("right_day".to_owned(), false, day("2026-03-01")),
            ("right_day".to_owned(), true, day("2026-03-02")),
        ]
    );
    // Both partitions' verdicts are the latest of theirs.
    let latest = h
        .store
        .latest_checks_by_partition(&AssetKey::parse("command").unwrap(), 10)
        .await
        .unwrap();
    let latest: Vec<_> = latest
        .iter()
        .map(|c| (c.partition.clone(), c.passed))
        .collect();
    assert_eq!(
        latest,
        [(day("2026-03-02"), true), (day("2026-03-01"), false)]
    );
    // A range run's verdict names the range.
    let (_, events) = h
        .run_new(daily_run(PartitionRange {
            start: "2026-03-03".to_owned(),
            end: "2026-03-04".to_owned(),
        }))
        .await;
    let range = events.iter().find_map(|e| match &e.kind {
        EventKind::AssetCheckEvaluation { partition, .. } => partition.clone(),
        _ => None,
    });
    assert_eq!(range.as_deref(), Some("2026-03-03...2026-03-04"));
}
