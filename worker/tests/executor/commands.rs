//! Command assets with plain scripts (`sh`, no library): inputs and outputs through
//! ORCH_INPUTS_DIR and ORCH_OUTPUT across command and Rust assets, stdout/stderr as log lines
//! with the cap, and every way a command can go wrong: non-zero exit, signal, timeout, not
//! found, not executable, output that is not JSON. Cancellation kills the whole process tree.

use std::path::Path;

use orchestrator::definitions::CommandSpec;
use orchestrator::domain::Metadata;

use super::*;

fn sh(key: &str, upstream: &[&str], script: &str) -> AssetDef {
    command(key, upstream, CommandSpec::new(["sh", "-c", script]))
}

fn command(key: &str, upstream: &[&str], spec: CommandSpec) -> AssetDef {
    AssetDef::command(key)
        .upstream(upstream)
        .command(spec)
        .unwrap()
}

fn step_failure(events: &[EventRecord], step: &str) -> String {
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::StepFailure { error, .. }
                if e.step.as_ref().map(AssetKey::as_str) == Some(step) =>
            {
                Some(error.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no STEP_FAILURE for {step}: {events:#?}"))
}

fn logs(events: &[EventRecord], step: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.step.as_ref().map(AssetKey::as_str) == Some(step))
        .filter_map(|e| match &e.kind {
            EventKind::Log { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn materialization(events: &[EventRecord], step: &str) -> Option<Metadata> {
    events.iter().find_map(|e| match &e.kind {
        EventKind::AssetMaterialization {
            asset_key,
            metadata,
        } if asset_key.as_str() == step => Some(metadata.clone()),
        _ => None,
    })
}

#[tokio::test]
async fn outputs_flow_through_files_across_command_and_rust_assets() {
    let sum = AssetDef::builder("sum")
        .upstream(&["doubled"])
        .compute(|ctx| async move {
            let doubled: Value = ctx.input("doubled")?;
            Ok(AssetOutput::new(json!(
                doubled["n"].as_i64().unwrap_or(-1) + 1
            )))
        })
        .unwrap();
    let h = harness(vec![job(
        "mixed",
        vec![
            constant("seed", &[], json!({"n": 20})),
            // Reads its upstream from ORCH_INPUTS_DIR, knows its run, asset and attempt.
            sh(
                "doubled",
                &["seed"],
                r#"n=$(sed 's/.*"n":\([0-9]*\).*/\1/' "$ORCH_INPUTS_DIR/seed.json")
                   echo "doubling $n for $ORCH_ASSET of $ORCH_JOB, retry $ORCH_RETRY_NUMBER"
                   printf '{"n": %d, "run": "%s"}' $((n * 2)) "$ORCH_RUN_ID" > "$ORCH_OUTPUT""#,
            ),
            sum,
            // A Rust asset upstream of a command, and a command that writes nothing: null.
            sh(
                "report",
                &["sum"],
                r#"cat "$ORCH_INPUTS_DIR/sum.json"; echo " from config $ORCH_CONFIG" >&2"#,
            ),
        ],
    )])
    .await;
    let (status, events) = h.run("mixed").await;
    assert_eq!(status, RunStatus::Success, "{events:#?}");
    assert_eq!(
        logs(&events, "doubled"),
        ["doubling 20 for doubled of mixed, retry 0"]
    );
    // Two streams: their lines interleave as they come.
    let mut report = logs(&events, "report");
    report.sort();
    assert_eq!(report, [" from config {}", "41"]);
    let run = events[0].run_id;
    let output = |step: &str| {
        events.iter().find_map(|e| match &e.kind {
            EventKind::StepOutput { location }
                if e.step.as_ref().map(AssetKey::as_str) == Some(step) =>
            {
                Some(location.clone())
            }
            _ => None,
        })
    };
    let doubled_at = output("doubled").expect("doubled's output is persisted");
    let stored: Value =
        serde_json::from_slice(&std::fs::read(doubled_at.trim_start_matches("file://")).unwrap())
            .unwrap();
    assert_eq!(stored, json!({"n": 40, "run": run.to_string()}));
    assert!(output("report").is_some(), "a null output is persisted too");
    assert_eq!(
        materialization(&events, "doubled"),
        Some(Metadata::new()),
        "exit 0 without Pipes materializes with no metadata"
    );
}

#[tokio::test]
async fn a_non_zero_exit_fails_the_step_naming_the_code_and_quoting_stderr() {
    let h = harness(vec![job(
        "j",
        vec![
            sh(
                "bad",
                &[],
                "echo starting; echo 'no such table: posts' >&2; exit 3",
            ),
            sh("after", &["bad"], "true"),
        ],
    )])
    .await;
    let (status, events) = h.run("j").await;
    assert_eq!(status, RunStatus::Failure);
    let error = step_failure(&events, "bad");
    assert!(error.contains("exited with code 3"), "{error}");
    assert!(error.contains("no such table: posts"), "{error}");
    assert_eq!(types_of(&events, "after"), ["STEP_SKIPPED"]);
}

#[tokio::test]
async fn death_by_signal_names_the_signal_and_retries_apply() {
    let def = AssetDef::command("killed")
        .retry(RetryPolicy::exponential(2, Duration::from_millis(10)))
        .command(CommandSpec::new(["sh", "-c", "kill -9 $$"]))
        .unwrap();
    let h = harness(vec![job("j", vec![def])]).await;
    let (status, events) = h.run("j").await;
    assert_eq!(status, RunStatus::Failure);
    assert_eq!(
        types_of(&events, "killed"),
        ["STEP_START", "STEP_UP_RETRY", "STEP_START", "STEP_FAILURE"]
    );
    let error = step_failure(&events, "killed");
    assert!(error.contains("killed by signal 9 (SIGKILL)"), "{error}");
    assert!(error.contains("attempt 2 of 2"), "{error}");
}

#[tokio::test]
async fn a_timeout_kills_the_process_group_and_fails_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    let script = format!("sleep 60 & echo $! > {}; sleep 60", pid_file.display());
    let spec = CommandSpec::new(["sh", "-c", &script]).timeout(Duration::from_millis(500));
    let mut h = harness(vec![job("j", vec![command("slow", &[], spec)])]).await;
    h.worker = h.worker.with_command_grace(Duration::from_millis(200));
    let (status, events) = h.run("j").await;
    assert_eq!(status, RunStatus::Failure);
    let error = step_failure(&events, "slow");
    assert!(error.contains("timed out after 500ms"), "{error}");
    assert_gone(&pid_file);
}

#[tokio::test]
async fn commands_that_cannot_start_are_named_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let not_executable = dir.path().join("script.sh");
    std::fs::write(&not_executable, "#!/bin/sh\necho hi\n").unwrap();
    let retried = |key: &str, spec: CommandSpec| {
        AssetDef::command(key)
            .retry(RetryPolicy::exponential(3, Duration::from_millis(10)))
            .command(spec)
            .unwrap()
    };
    let h = harness(vec![
        job(
            "missing",
            vec![retried("a", CommandSpec::new(["orch-no-such-program"]))],
        ),
        job(
            "relative",
            vec![retried(
                "a",
                CommandSpec::new(["./nope.sh"]).cwd(dir.path()),
            )],
        ),
        job(
            "noexec",
            vec![retried(
                "a",
                CommandSpec::new(["./script.sh"]).cwd(dir.path()),
            )],
        ),
        job(
            "nodir",
            vec![retried(
                "a",
                CommandSpec::new(["true"]).cwd(dir.path().join("gone")),
            )],
        ),
    ])
    .await;
    let cases = [
        ("missing", "orch-no-such-program is not on PATH"),
        ("relative", "./nope.sh does not exist"),
        ("noexec", "./script.sh is not executable"),
        ("nodir", "does not exist"),
    ];
    for (job, expected) in cases {
        let (status, events) = h.run(job).await;
        assert_eq!(status, RunStatus::Failure, "{job}");
        let error = step_failure(&events, "a");
        assert!(error.contains(expected), "{job}: {error}");
        assert!(
            error.contains("attempt 1 of 3"),
            "{job} is not retried: {error}"
        );
    }
}

#[tokio::test]
async fn an_output_that_is_not_json_fails_the_step_quoting_it() {
    let h = harness(vec![job(
        "j",
        vec![sh("a", &[], r#"echo 'rows: 3' > "$ORCH_OUTPUT""#)],
    )])
    .await;
    let (status, events) = h.run("j").await;
    assert_eq!(status, RunStatus::Failure);
    let error = step_failure(&events, "a");
    assert!(error.contains("ORCH_OUTPUT is not JSON"), "{error}");
    assert!(error.contains("rows: 3"), "{error}");
}

#[tokio::test]
async fn a_chatty_step_records_the_first_lines_and_a_marker() {
    let h = harness(vec![job("j", vec![sh("chatty", &[], "seq 100000")])]).await;
    let (status, events) = h.run("j").await;
    assert_eq!(status, RunStatus::Success);
    let lines = logs(&events, "chatty");
    assert_eq!(lines.len(), 10_001);
    assert_eq!(lines[0], "1");
    assert_eq!(lines[9_999], "10000");
    assert_eq!(
        lines[10_000],
        "output cut: 10000 lines recorded, 90000 more not recorded"
    );
}

#[tokio::test]
async fn a_cancel_kills_the_whole_tree_even_what_ignores_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("grandchild.pid");
    // The grandchild ignores SIGTERM: only the SIGKILL after the grace period ends it.
    let script = format!(
        "sh -c 'trap \"\" TERM; sleep 60' & echo $! > {}; sleep 60",
        pid_file.display()
    );
    let mut h = harness(vec![job("j", vec![sh("tree", &[], &script)])]).await;
    h.worker = h.worker.with_command_grace(Duration::from_millis(300));
    let run = h
        .store
        .create_run(&NewRun::in_process(
            orchestrator::domain::JobName::parse("j").unwrap(),
            json!({}),
            Tags::new(),
        ))
        .await
        .unwrap();
    let cancellation = worker::Cancellation::new();
    let options = worker::ExecuteOptions {
        observer: None,
        cancellation: cancellation.clone(),
    };
    let worker = h.worker.clone();
    let id = run.id;
    let running = tokio::spawn(async move { worker.execute_with(id, options).await });
    let grandchild = wait_for_pid(&pid_file).await;
    assert!(alive(grandchild), "the grandchild runs before the cancel");
    cancellation.cancel("canceled by the test");
    let ended = running.await.unwrap().unwrap();
    assert_eq!(ended.status, RunStatus::Canceled);
    assert!(
        !alive(grandchild),
        "grandchild {grandchild} outlived the cancel"
    );
    let events = h.events(id).await;
    assert_eq!(types_of(&events, "tree"), ["STEP_START", "STEP_CANCELED"]);
}

/// Waits for the script to write its grandchild's pid (the file appears when the shell runs).
async fn wait_for_pid(path: &Path) -> i32 {
    let written = format!("{} is written", path.display());
    orch_test_support::wait::until_some(&written, Duration::from_secs(5), async || {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
    })
    .await
}

/// Alive and not a zombie (a killed orphan is a zombie until init reaps it).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn assert_gone(pid_file: &Path) {
    let pid: i32 = std::fs::read_to_string(pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(pid), "process {pid} of the group outlived its step");
}
