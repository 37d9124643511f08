//! Asset checks in the worker: verdicts recorded as ASSET_CHECK_EVALUATION events right after
//! their asset; a failed blocking ERROR check skips the downstream steps naming the check while
//! the run ends SUCCESS with its failed checks counted; WARN and non-blocking failures block
//! nothing; a check that errs or panics counts as failed with the reason.

use orchestrator::definitions::AssetCheckDef;
use orchestrator::domain::{CheckResult, CheckSeverity};

use super::*;

fn check(name: &str, blocking: bool, severity: CheckSeverity, passes: bool) -> AssetCheckDef {
    AssetCheckDef::builder(name)
        .blocking(blocking)
        .severity(severity)
        .compute(move |_ctx, value| async move {
            Ok(CheckResult::from_bool(passes, severity).with_metadata("value", (*value).clone()))
        })
        .unwrap()
}

fn checked(checks: Vec<AssetCheckDef>) -> Vec<AssetDef> {
    let mut first = AssetDef::builder("first");
    for c in checks {
        first = first.check(c);
    }
    let first = first
        .compute(|_| async { Ok(AssetOutput::new(json!(3))) })
        .unwrap();
    vec![first, constant("second", &["first"], json!(4))]
}

/// (check, passed, severity) of each evaluation, in order.
fn verdicts(events: &[EventRecord]) -> Vec<(String, bool, CheckSeverity)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::AssetCheckEvaluation {
                asset,
                check,
                passed,
                severity,
                metadata,
                partition,
            } => {
                assert_eq!(asset.as_str(), "first");
                assert_eq!(
                    partition, &None,
                    "an unpartitioned run's verdict names no partition"
                );
                assert!(metadata.contains_key("value") || metadata.contains_key("error"));
                Some((check.clone(), *passed, *severity))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_failed_blocking_error_check_skips_downstream_naming_the_check() {
    let h = harness(vec![job(
        "j",
        checked(vec![
            check("positive", true, CheckSeverity::Error, true),
            check("has_rows", true, CheckSeverity::Error, false),
        ]),
    )])
    .await;
    let (status, events) = h.run("j").await;
    assert_eq!(
        status,
        RunStatus::Success,
        "{}",
        run_failure_message(&events)
    );
    assert_eq!(
        verdicts(&events),
        [
            ("positive".to_owned(), true, CheckSeverity::Error),
            ("has_rows".to_owned(), false, CheckSeverity::Error)
        ]
    );
    assert!(types_of(&events, "first").contains(&"ASSET_MATERIALIZATION"));
    let skipped = events.iter().find_map(|e| match &e.kind {
        EventKind::StepSkipped { reason } => Some(reason.clone()),
        _ => None,
    });
    assert_eq!(
        skipped.as_deref(),
        Some("upstream asset 'first' failed its blocking check 'has_rows'")
    );
    let run = &h.store.list_runs(&Default::default()).await.unwrap()[0];
    assert_eq!(run.checks_failed, 1);
}

#[tokio::test]
async fn warn_and_non_blocking_failures_block_nothing_but_are_counted() {
    let h = harness(vec![job(
        "j",
        checked(vec![
            check("soft", true, CheckSeverity::Warn, false),
            check("loud", false, CheckSeverity::Error, false),
        ]),
    )])
    .await;
    let (status, events) = h.run("j").await;
    assert_eq!(status, RunStatus::Success);
    assert_eq!(types_of(&events, "second").last(), Some(&"STEP_SUCCESS"));
    let run = &h.store.list_runs(&Default::default()).await.unwrap()[0];
    assert_eq!(run.checks_failed, 2);
    let only_failed = orchestrator::domain::RunFilter {
        checks_failed: true,
        ..Default::default()
    };
    assert_eq!(h.store.list_runs(&only_failed).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_check_that_errs_or_panics_fails_with_the_reason() {
    let errs = AssetCheckDef::builder("errs")
        .severity(CheckSeverity::Warn)
        .compute(|_ctx, _value| async { Err(AssetError::fatal("no connection")) })
        .unwrap();
    let panics = AssetCheckDef::builder("panics")
        .blocking(true)
        .compute(|_ctx, _value| async {
            if true {
                panic!("boom");
            }
            Ok(CheckResult::passed())
        })
        .unwrap();
    let h = harness(vec![job("j", checked(vec![errs, panics]))]).await;
    let (status, events) = h.run("j").await;
    assert_eq!(status, RunStatus::Success);
    assert_eq!(
        verdicts(&events),
        [
            ("errs".to_owned(), false, CheckSeverity::Warn),
            ("panics".to_owned(), false, CheckSeverity::Error)
        ]
    );
    let errors: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::AssetCheckEvaluation { metadata, .. } => {
                metadata.get("error").map(|v| v.to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(errors, ["\"no connection\"", "\"the check panicked\""]);
    assert_eq!(types_of(&events, "second"), ["STEP_SKIPPED"]);
}

#[test]
fn two_checks_of_one_name_are_refused() {
    let asset = AssetDef::builder("a")
        .check(check("same", false, CheckSeverity::Warn, true))
        .check(check("same", false, CheckSeverity::Warn, true))
        .compute(|_| async { Ok(AssetOutput::default()) })
        .unwrap();
    let err = JobDef::new("j", "", vec![asset], Map::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "job 'j': asset 'a' has two checks named 'same'"
    );
}

/// `orch checks run`: a run tagged `orch/checks_only=true` evaluates the selected asset's checks
/// over its latest materialization's output, materializing nothing; before any materialization
/// it fails naming the asset.
#[tokio::test]
async fn a_checks_only_run_evaluates_the_checks_on_the_latest_output_without_materializing() {
    let h = harness(vec![job(
        "j",
        checked(vec![
            check("positive", true, CheckSeverity::Error, true),
            check("has_rows", false, CheckSeverity::Warn, false),
        ]),
    )])
    .await;
    let checks_only = || {
        let mut tags = orchestrator::domain::Tags::new();
        tags.insert(
            orchestrator::domain::TagKey::parse(orchestrator::run_control::CHECKS_ONLY_TAG)
                .unwrap(),
            "true".to_owned(),
        );
        let mut new = NewRun::in_process(
            orchestrator::domain::JobName::parse("j").unwrap(),
            json!({}),
            tags,
        );
        new.step_selection = Some(vec![AssetKey::parse("first").unwrap()]);
        new
    };
    let (status, events) = h.run_new(checks_only()).await;
    assert_eq!(status, RunStatus::Failure);
    assert!(
        run_failure_message(&events).contains("first: never materialized"),
        "{}",
        run_failure_message(&events)
    );

    let (status, _) = h.run("j").await;
    assert_eq!(status, RunStatus::Success);
    let (status, events) = h.run_new(checks_only()).await;
    assert_eq!(
        status,
        RunStatus::Success,
        "{}",
        run_failure_message(&events)
    );
    assert_eq!(
        verdicts(&events),
        [
            ("positive".to_owned(), true, CheckSeverity::Error),
            ("has_rows".to_owned(), false, CheckSeverity::Warn)
        ]
    );
    assert!(
        !events.iter().any(|e| matches!(
            e.kind,
            EventKind::StepStart { .. } | EventKind::AssetMaterialization { .. }
        )),
        "a checks-only run materializes nothing"
    );
    let runs = h.store.list_runs(&Default::default()).await.unwrap();
    assert_eq!(
        runs[0].checks_failed, 1,
        "the newest run counts its failed check"
    );
}
