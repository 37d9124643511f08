//! Checks of command assets: a check that is a command (exit 0 = passed) given the asset's
//! output, and checks the asset reports itself through Pipes, declared (blocking, or failed
//! when never reported) or not.

use orchestrator::definitions::{AssetCheckDef, CommandSpec};
use orchestrator::domain::CheckSeverity;

use super::*;

fn verdicts(events: &[EventRecord]) -> Vec<(String, bool, CheckSeverity, Value)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::AssetCheckEvaluation {
                check,
                passed,
                severity,
                metadata,
                ..
            } => Some((
                check.clone(),
                *passed,
                *severity,
                serde_json::to_value(metadata).unwrap(),
            )),
            _ => None,
        })
        .collect()
}

fn python() -> String {
    std::env::var("ORCH_PYTHON").unwrap_or_else(|_| {
        panic!("ORCH_PYTHON is not set: run `eval \"$(scripts/test-services.sh)\"` first")
    })
}

/// A Pipes asset that reports `has_rows` passed or failed (as its config says) and `extra`.
fn reporting_asset(checks: Vec<AssetCheckDef>) -> AssetDef {
    let script = r#"
from dagster_pipes import open_dagster_pipes
with open_dagster_pipes() as p:
    if p.extras["config"].get("report", True):
        p.report_asset_check("has_rows", passed=p.extras["config"]["rows"] > 0, metadata={"rows": p.extras["config"]["rows"]})
        p.report_asset_check("extra", passed=True, severity="WARN")
"#;
    let mut def = AssetDef::command("table");
    for check in checks {
        def = def.check(check);
    }
    def.command(CommandSpec::new([
        python(),
        "-c".to_owned(),
        script.to_owned(),
    ]))
    .unwrap()
}

async fn run_with(h: &Harness, config: Value) -> (RunStatus, Vec<EventRecord>) {
    h.run_new(NewRun::in_process(
        orchestrator::domain::JobName::parse("j").unwrap(),
        config,
        Tags::new(),
    ))
    .await
}

#[tokio::test]
async fn a_declared_blocking_check_reported_failed_through_pipes_skips_downstream() {
    let declared = AssetCheckDef::builder("has_rows")
        .blocking(true)
        .reported()
        .unwrap();
    let h = harness(vec![job(
        "j",
        vec![
            reporting_asset(vec![declared]),
            constant("downstream", &["table"], json!(1)),
        ],
    )])
    .await;

    let (status, events) = run_with(&h, json!({"rows": 0})).await;
    assert_eq!(status, RunStatus::Success);
    assert_eq!(
        verdicts(&events),
        [
            (
                "has_rows".into(),
                false,
                CheckSeverity::Error,
                json!({"rows": 0})
            ),
            ("extra".into(), true, CheckSeverity::Warn, json!({})),
        ]
    );
    let skipped = events.iter().find_map(|e| match &e.kind {
        EventKind::StepSkipped { reason } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(
        skipped.as_deref(),
        Some("upstream asset 'table' failed its blocking check 'has_rows'")
    );

    let (_, events) = run_with(&h, json!({"rows": 3})).await;
    assert_eq!(
        types_of(&events, "downstream"),
        [
            "STEP_START",
            "STEP_OUTPUT",
            "ASSET_MATERIALIZATION",
            "STEP_SUCCESS"
        ]
    );
}

#[tokio::test]
async fn a_declared_check_never_reported_counts_as_failed() {
    let declared = AssetCheckDef::builder("has_rows")
        .severity(CheckSeverity::Warn)
        .reported()
        .unwrap();
    let h = harness(vec![job("j", vec![reporting_asset(vec![declared])])]).await;
    let (status, events) = run_with(&h, json!({"report": false})).await;
    assert_eq!(status, RunStatus::Success);
    assert_eq!(
        verdicts(&events),
        [(
            "has_rows".into(),
            false,
            CheckSeverity::Warn,
            json!({"error": "not reported"})
        )]
    );
}

#[tokio::test]
async fn a_check_command_reads_the_output_and_passes_on_exit_zero() {
    let count = r#"grep -q '"rows": *[1-9]' "$ORCH_INPUTS_DIR/table.json" && echo "$ORCH_CHECK of $ORCH_ASSET ok""#;
    let pipes = r#"
from dagster_pipes import open_dagster_pipes
import json
with open_dagster_pipes() as p:
    rows = json.load(open(p.extras["inputs"]["table"]))["rows"]
    p.report_asset_check(p.extras["check"], passed=rows < 100, metadata={"seen": rows})
"#;
    let table = AssetDef::command("table")
        .check(
            AssetCheckDef::builder("non_empty")
                .blocking(true)
                .command(CommandSpec::new(["sh", "-c", count]))
                .unwrap(),
        )
        .check(
            AssetCheckDef::builder("small")
                .severity(CheckSeverity::Warn)
                .command(CommandSpec::new([
                    python(),
                    "-c".to_owned(),
                    pipes.to_owned(),
                ]))
                .unwrap(),
        )
        .command(CommandSpec::new([
            "sh",
            "-c",
            r#"echo "{\"rows\": $(echo "$ORCH_CONFIG" | sed 's/[^0-9]//g')}" > "$ORCH_OUTPUT""#,
        ]))
        .unwrap();
    let h = harness(vec![job(
        "j",
        vec![table, constant("downstream", &["table"], json!(1))],
    )])
    .await;

    let (status, events) = run_with(&h, json!({"rows": 5})).await;
    assert_eq!(status, RunStatus::Success, "{events:#?}");
    assert_eq!(
        verdicts(&events),
        [
            ("non_empty".into(), true, CheckSeverity::Error, json!({})),
            (
                "small".into(),
                true,
                CheckSeverity::Warn,
                json!({"seen": 5})
            ),
        ]
    );
    let said = events.iter().any(
        |e| matches!(&e.kind, EventKind::Log { message, .. } if message == "non_empty of table ok"),
    );
    assert!(said, "the check's output is the step's log");

    let (_, events) = run_with(&h, json!({"rows": 0})).await;
    let found = verdicts(&events);
    assert!(!found[0].1, "non_empty fails on 0 rows: {found:?}");
    assert!(
        found[0].3["error"]
            .as_str()
            .unwrap()
            .contains("exited with code 1"),
        "{found:?}"
    );
    assert_eq!(types_of(&events, "downstream"), ["STEP_SKIPPED"]);

    let (_, events) = run_with(&h, json!({"rows": 500})).await;
    assert_eq!(
        verdicts(&events)[1],
        (
            "small".into(),
            false,
            CheckSeverity::Warn,
            json!({"seen": 500})
        ),
        "a Pipes report of the check's own failure fails it even on exit 0"
    );
}
