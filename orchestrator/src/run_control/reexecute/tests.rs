//! Re-execution planning on hand-built runs and event logs.

use chrono::Utc;
use serde_json::{Map, json};

use super::*;
use crate::definitions::{AssetDef, AssetOutput};

fn key(k: &str) -> AssetKey {
    AssetKey::parse(k).unwrap()
}

fn keys(ks: &[&str]) -> Vec<AssetKey> {
    ks.iter().map(|k| key(k)).collect()
}

/// `fetch → process → store`, plus `audit` that depends on nothing.
fn job() -> JobDef {
    let asset = |k: &str, up: &[&str]| {
        AssetDef::builder(k)
            .upstream(up)
            .compute(|_| async { Ok(AssetOutput::default()) })
            .unwrap()
    };
    JobDef::new(
        "j",
        "",
        vec![
            asset("store", &["process"]),
            asset("process", &["fetch"]),
            asset("fetch", &[]),
            asset("audit", &[]),
        ],
        Map::new(),
    )
    .unwrap()
}

fn parent(status: RunStatus, selection: Option<&[&str]>) -> Run {
    let now = Utc::now();
    let mut tags = Tags::new();
    tags.insert(TagKey::parse("team").unwrap(), "data".into());
    Run {
        id: RunId::new(),
        job: JobName::parse("j").unwrap(),
        status,
        config: json!({"limit": 3}),
        tags,
        parent_run_id: None,
        step_selection: selection.map(keys),
        created_at: now,
        started_at: Some(now),
        ended_at: Some(now),
        updated_at: now,
        heartbeat_at: None,
        worker: None,
        checks_failed: 0,
        definition_version: None,
        partition: None,
        launched_by: None,
    }
}

/// A log where each named step has one event of `kind`.
fn log(run: RunId, steps: &[(&str, EventKind)]) -> Vec<EventRecord> {
    steps
        .iter()
        .enumerate()
        .map(|(i, (step, kind))| EventRecord {
            id: i as i64 + 1,
            run_id: run,
            timestamp: Utc::now(),
            step: Some(key(step)),
            kind: kind.clone(),
        })
        .collect()
}

fn success() -> EventKind {
    EventKind::StepSuccess { duration_ms: 1 }
}

fn failure() -> EventKind {
    EventKind::StepFailure {
        error: "boom".into(),
        attempt: 1,
    }
}

fn skipped() -> EventKind {
    EventKind::StepSkipped {
        reason: "upstream".into(),
    }
}

fn from_failure() -> Reexecution {
    Reexecution {
        from: ReexecuteFrom::Failure,
        tags: Tags::new(),
    }
}

#[test]
fn the_steps_that_did_not_succeed_in_dependency_order() {
    let job = job();
    let check = |selection: Option<&[&str]>, steps: &[(&str, EventKind)], expected: &[&str]| {
        let run = parent(RunStatus::Failure, selection);
        let events = log(run.id, steps);
        assert_eq!(
            steps_that_did_not_succeed(&job, &run, &events),
            keys(expected),
            "selection {selection:?}, events {steps:?}"
        );
    };
    // The last step failed: only it.
    check(
        None,
        &[
            ("fetch", success()),
            ("process", success()),
            ("audit", success()),
            ("store", failure()),
        ],
        &["store"],
    );
    // The first failed: it and what it skipped.
    check(
        None,
        &[
            ("audit", success()),
            ("fetch", failure()),
            ("process", skipped()),
            ("store", skipped()),
        ],
        &["fetch", "process", "store"],
    );
    // Canceled before some steps started: those have no event and did not succeed either.
    check(
        None,
        &[("fetch", success())],
        &["process", "store", "audit"],
    );
    // A retried step that finally succeeded counts as succeeded.
    check(
        None,
        &[
            ("fetch", failure()),
            ("fetch", success()),
            ("process", success()),
            ("audit", success()),
            ("store", success()),
        ],
        &[],
    );
    // A re-execution that selected only `store` and failed again: `store` alone, not the steps
    // it never selected.
    check(Some(&["store"]), &[("store", failure())], &["store"]);
}

#[test]
fn a_re_execution_from_failure_selects_the_failed_steps_and_links_the_parent() {
    let job = job();
    let run = parent(RunStatus::Failure, None);
    let events = log(
        run.id,
        &[
            ("fetch", success()),
            ("process", success()),
            ("audit", success()),
            ("store", failure()),
        ],
    );
    let mut request = from_failure();
    request
        .tags
        .insert(TagKey::parse("why").unwrap(), "retry".into());
    let new = plan_reexecution(&job, &run, &events, &request).unwrap();
    assert_eq!(new.status, RunStatus::Queued);
    assert_eq!(new.job, run.job);
    assert_eq!(new.config, run.config);
    assert_eq!(new.parent_run_id, Some(run.id));
    assert_eq!(new.step_selection, Some(keys(&["store"])));
    // The job as it is now, snapshotted: a later edit changes neither run.
    let definition = new.definition.as_ref().expect("a snapshot");
    assert_eq!(
        definition.version,
        crate::snapshot::JobSnapshot::of(&job).stored().version
    );
    let tags: Vec<(&str, &str)> = new
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let id = run.id.to_string();
    assert_eq!(
        tags,
        [
            ("orch/parent_run_id", id.as_str()),
            ("orch/root_run_id", id.as_str()),
            ("team", "data"),
            ("why", "retry"),
        ]
    );
}

#[test]
fn the_root_is_carried_down_a_chain_of_re_executions() {
    let job = job();
    let mut child = parent(RunStatus::Failure, Some(&["store"]));
    let root = RunId::new().to_string();
    child
        .tags
        .insert(TagKey::parse(ROOT_RUN_TAG).unwrap(), root.clone());
    child
        .tags
        .insert(TagKey::parse(PARENT_RUN_TAG).unwrap(), root.clone());
    let request = Reexecution {
        from: ReexecuteFrom::AllSteps,
        tags: Tags::new(),
    };
    let new = plan_reexecution(&job, &child, &[], &request).unwrap();
    assert_eq!(new.tags[&TagKey::parse(ROOT_RUN_TAG).unwrap()], root);
    assert_eq!(
        new.tags[&TagKey::parse(PARENT_RUN_TAG).unwrap()],
        child.id.to_string()
    );
    // All steps of a run that selected some: the same selection.
    assert_eq!(new.step_selection, Some(keys(&["store"])));
}

#[test]
fn what_cannot_be_re_executed() {
    let job = job();
    for status in [RunStatus::Queued, RunStatus::Started, RunStatus::Canceling] {
        let run = parent(status, None);
        let err = plan_reexecution(&job, &run, &[], &from_failure()).unwrap_err();
        assert!(
            matches!(err, ReexecuteError::NotFinished { .. }),
            "{status}: {err:?}"
        );
        assert!(err.to_string().contains("only a finished run"), "{err}");
    }
    let ok = parent(RunStatus::Success, None);
    let err = plan_reexecution(&job, &ok, &[], &from_failure()).unwrap_err();
    assert!(matches!(err, ReexecuteError::NoFailure { .. }), "{err:?}");
    let all_ok = parent(RunStatus::Failure, Some(&["fetch"]));
    let events = log(all_ok.id, &[("fetch", success())]);
    let err = plan_reexecution(&job, &all_ok, &events, &from_failure()).unwrap_err();
    assert!(
        matches!(err, ReexecuteError::NothingFailed { .. }),
        "{err:?}"
    );
    // A canceled run may be re-executed from failure.
    let canceled = parent(RunStatus::Canceled, None);
    let events = log(canceled.id, &[("fetch", success())]);
    let new = plan_reexecution(&job, &canceled, &events, &from_failure()).unwrap();
    assert_eq!(
        new.step_selection,
        Some(keys(&["process", "store", "audit"]))
    );
}
