//! Job files through the binary: `orch jobs validate` on good and bad files, a bad file
//! stopping every command at start (exit 2), `orch jobs list` showing a job file's job, the jobs
//! directory from ORCH_JOBS_DIR and orch.toml, and `orch run` of shell command assets passing
//! their outputs downstream (plain-script protocol: ORCH_OUTPUT, ORCH_INPUTS_DIR, ORCH_CONFIG).

use std::path::Path;

use crate::support::{Orch, events_of, init, steps_with};

/// A job of three shell steps: `count` writes `{"n": 2}`, `triple` reads it and writes
/// `{"n": 6}`, `report` (a script next to the file, run by relative path) checks it and the run
/// config.
const THREE_STEPS: &str = r#"name = "shell_job"
description = "Three shell steps"
config = { greeting = "hello" }
tags = { team = "data" }

[[assets]]
name = "count"
command = ["sh", "-c", "echo '{\"n\": 2}' > \"$ORCH_OUTPUT\""]
timeout = "30s"

[[assets]]
name = "triple"
upstream = ["count"]
command = ["sh", "-c", "n=$(tr -dc 0-9 < \"$ORCH_INPUTS_DIR/count.json\"); echo \"{\\\"n\\\": $((n * 3))}\" > \"$ORCH_OUTPUT\""]
retry = { attempts = 2, delay = "10ms" }

[[assets]]
name = "report"
upstream = ["triple"]
command = ["./steps/report.sh"]
env = { EXPECTED = "6" }

[[schedules]]
name = "shell_job_hourly"
cron = "0 0 * * * *"
enabled = false
"#;

const REPORT_SH: &str = r#"#!/bin/sh
set -eu
n=$(tr -dc 0-9 < "$ORCH_INPUTS_DIR/triple.json")
[ "$n" = "$EXPECTED" ] || { echo "expected $EXPECTED, got $n" >&2; exit 4; }
case "$ORCH_CONFIG" in *hello*) ;; *) echo "no greeting in $ORCH_CONFIG" >&2; exit 5 ;; esac
echo "n is $n for $ORCH_JOB/$ORCH_ASSET"
"#;

/// Writes the three-step job (and its script) into `dir`.
fn write_shell_job(dir: &Path) {
    std::fs::create_dir_all(dir.join("steps")).unwrap();
    std::fs::write(dir.join("shell.toml"), THREE_STEPS).unwrap();
    let script = dir.join("steps/report.sh");
    std::fs::write(&script, REPORT_SH).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn offline() -> Orch {
    Orch::local().env("PRODUCT_API_URL", "http://127.0.0.1:9/posts")
}

#[tokio::test]
async fn jobs_validate_prints_each_job_of_the_jobs_dir_or_of_a_file() {
    init();
    let orch = offline();
    let jobs = orch.home().join("jobs");
    write_shell_job(&jobs);
    std::fs::write(
        jobs.join("tiny.toml"),
        "name = \"tiny_job\"\n[[assets]]\nname = \"only\"\ncommand = [\"true\"]\n",
    )
    .unwrap();
    let out = orch.run(&["jobs", "validate"]).await;
    out.assert_exit(0).assert_says(&[
        "ok shell_job (",
        "shell.toml): count -> triple -> report",
        "schedules: shell_job_hourly",
        "ok tiny_job (",
    ]);
    let one = jobs.join("tiny.toml");
    let out = orch.run(&["jobs", "validate", one.to_str().unwrap()]).await;
    out.assert_exit(0);
    assert!(out.stdout.contains("ok tiny_job"), "{out}");
    assert!(
        !out.stdout.contains("shell_job"),
        "only the file named: {out}"
    );

    // No jobs directory at all (the default): nothing to check, not an error.
    let empty = offline();
    empty
        .run(&["jobs", "validate"])
        .await
        .assert_exit(0)
        .assert_says(&["no job files"]);
}

#[tokio::test]
async fn jobs_validate_refuses_bad_files_with_file_line_column_and_fault() {
    init();
    let orch = offline();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "a_cycle.toml",
        "name = \"cyclic\"\n[[assets]]\nname = \"x\"\nupstream = [\"y\"]\ncommand = [\"true\"]\n[[assets]]\nname = \"y\"\nupstream = [\"x\"]\ncommand = [\"true\"]\n",
    );
    write(
        "b_typo.toml",
        "name = \"typo\"\n[[assets]]\nname = \"x\"\ncommand = [\"true\"]\ntimeout = \"2 mins\"\nretries = 3\n",
    );
    write(
        "c_upstream.toml",
        "name = \"orphan\"\n[[assets]]\nname = \"x\"\nupstream = [\"nothing\"]\ncommand = [\"true\"]\n[[schedules]]\nname = \"s\"\ncron = \"0 0 * * *\"\n",
    );
    write("d_toml.toml", "name = \"broken\n");
    let path = dir.path().to_str().unwrap();
    let out = orch.run(&["jobs", "validate", path]).await;
    out.assert_exit(2).assert_says(&[
        "the job files have 5 faults",
        "a_cycle.toml:3:8: the assets form a cycle (each depends on the next): x -> y -> x",
        "b_typo.toml:6:1: unknown key `retries`",
        "c_upstream.toml:4:13: asset 'x' depends on 'nothing', which is not an asset of this job",
        "c_upstream.toml:8:8: schedule 's': invalid cron expression '0 0 * * *'",
        "d_toml.toml:1:",
    ]);
    assert!(out.stdout.is_empty(), "no job printed: {out}");

    // A job file may not take a compiled-in job's name, nor another file's.
    let clash = tempfile::tempdir().unwrap();
    for file in ["one.toml", "two.toml"] {
        std::fs::write(
            clash.path().join(file),
            "name = \"product_pipeline_job\"\n[[assets]]\nname = \"x\"\ncommand = [\"true\"]\n",
        )
        .unwrap();
    }
    let out = orch
        .run(&["jobs", "validate", clash.path().to_str().unwrap()])
        .await;
    out.assert_exit(2).assert_says(&[
        "one.toml:1:8: job 'product_pipeline_job' is already defined in this build of orch",
        "two.toml:1:8: job 'product_pipeline_job' is already defined in this build of orch",
    ]);
    let missing = dir.path().join("missing.toml");
    orch.run(&["jobs", "validate", missing.to_str().unwrap()])
        .await
        .assert_exit(2)
        .assert_says(&["missing.toml: no such file or directory"]);
}

#[tokio::test]
async fn a_bad_job_file_stops_every_command_at_start() {
    init();
    let orch = offline();
    let jobs = orch.home().join("jobs");
    write_shell_job(&jobs);
    std::fs::write(
        jobs.join("zz_bad.toml"),
        "name = \"bad\"\n[[assets]]\nname = \"x\"\ncommand = [\"true\"]\nupstream = [\"x\"]\n",
    )
    .unwrap();
    for args in [
        &["jobs", "list"][..],
        &["run", "product_pipeline_job"],
        &["launch", "shell_job"],
        &["schedules", "list"],
    ] {
        orch.run(args).await.assert_exit(2).assert_says(&[
            "zz_bad.toml:3:8:",
            "the assets form a cycle (each depends on the next): x -> x",
        ]);
    }
    // Nothing was created.
    assert!(orch.list_ids(&[]).await.is_empty());
}

#[tokio::test]
async fn jobs_list_shows_job_file_jobs_from_orch_jobs_dir_or_orch_toml() {
    init();
    let orch = offline();
    let jobs = orch.home().join("pipelines");
    write_shell_job(&jobs);

    // The default directory is ORCH_HOME/jobs, absent here: only the compiled-in jobs.
    let out = orch.run(&["jobs", "list"]).await;
    out.assert_exit(0);
    assert!(!out.stdout.contains("shell_job"), "{out}");

    // orch.toml's [jobs] dir, relative to the file.
    std::fs::write(
        orch.home().join("orch.toml"),
        "[jobs]\ndir = \"pipelines\"\n",
    )
    .unwrap();
    orch.run(&["jobs", "list"])
        .await
        .assert_exit(0)
        .assert_says(&[
            "shell_job",
            "count -> triple -> report",
            "Three shell steps",
        ]);
    let listed = orch
        .run(&["jobs", "list", "--json"])
        .await
        .assert_exit(0)
        .json();
    let shell = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["name"] == "shell_job")
        .unwrap_or_else(|| panic!("shell_job in {listed:#}"))
        .clone();
    assert_eq!(shell["description"], "Three shell steps");
    orch.run(&["schedules", "list"])
        .await
        .assert_exit(0)
        .assert_says(&["shell_job_hourly"]);

    // ORCH_JOBS_DIR wins over orch.toml, and must exist.
    let other = offline().env(
        "ORCH_JOBS_DIR",
        orch.home().join("nowhere").display().to_string(),
    );
    other
        .run(&["jobs", "list"])
        .await
        .assert_exit(2)
        .assert_says(&["nowhere: the jobs directory does not exist"]);
    std::fs::write(orch.home().join("orch.toml"), "[jobs]\ndir = \"gone\"\n").unwrap();
    orch.run(&["jobs", "list"])
        .await
        .assert_exit(2)
        .assert_says(&["gone: the jobs directory does not exist"]);
}

/// Needs the worker's command runner (`worker/src/command/`).
#[tokio::test]
async fn orch_run_executes_shell_command_assets_passing_outputs_downstream() {
    init();
    let orch = offline();
    write_shell_job(&orch.home().join("jobs"));
    let out = orch.run(&["run", "shell_job"]).await;
    out.assert_exit(0);
    let run = orch.show(&out.run_id()).await;
    assert_eq!(run["status"], "SUCCESS", "{run:#}");
    assert_eq!(run["tags"]["team"], "data", "the job's tags: {run:#}");
    assert_eq!(
        steps_with(&run, "STEP_SUCCESS"),
        ["count", "triple", "report"],
        "{run:#}"
    );
    let logs: Vec<&str> = events_of(&run, "LOG", Some("report"))
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        logs.iter()
            .any(|m| m.contains("n is 6 for shell_job/report")),
        "report's stdout in its log: {logs:?}"
    );

    // A failing command fails its step with the exit code; the run fails.
    let out = orch
        .run(&["run", "shell_job", "--config", "greeting=bye"])
        .await;
    out.assert_exit(1);
    let run = orch.show(&out.run_id()).await;
    let failures = events_of(&run, "STEP_FAILURE", Some("report"));
    assert_eq!(failures.len(), 1, "{run:#}");
    let error = failures[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains('5'), "exit code 5 in {error:?}");
    assert!(error.contains("no greeting"), "stderr quoted in {error:?}");
}

/// The run's `definition_version` from `orch runs show --json`.
async fn definition_version(orch: &Orch, run_id: &str) -> String {
    let run = orch.show(run_id).await;
    run["definition_version"]
        .as_str()
        .unwrap_or_else(|| panic!("no definition_version: {run:#}"))
        .to_owned()
}

/// The run id `orch launch` prints on its last line.
fn launched_id(out: &crate::support::Output) -> String {
    out.stdout
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[tokio::test]
async fn a_run_stores_the_definition_it_was_launched_with() {
    init();
    let orch = offline();
    let jobs = orch.home().join("jobs");
    write_shell_job(&jobs);
    let first = launched_id(orch.run(&["launch", "shell_job"]).await.assert_exit(0));
    let before = definition_version(&orch, &first).await;
    assert_eq!(before.len(), 64, "a hex SHA-256: {before}");
    let again = launched_id(orch.run(&["launch", "shell_job"]).await.assert_exit(0));
    assert_eq!(
        definition_version(&orch, &again).await,
        before,
        "unchanged file, same version"
    );

    std::fs::write(
        jobs.join("shell.toml"),
        THREE_STEPS.replace("EXPECTED = \"6\"", "EXPECTED = \"7\""),
    )
    .unwrap();
    let edited = launched_id(orch.run(&["launch", "shell_job"]).await.assert_exit(0));
    let after = definition_version(&orch, &edited).await;
    assert_ne!(after, before, "the edit is a new definition");
    // The first run still names its own snapshot, which still holds the old environment.
    assert_eq!(definition_version(&orch, &first).await, before);
    let store = orch.store().await;
    let old = store.get_job_snapshot(&before).await.unwrap().unwrap();
    let old: serde_json::Value = serde_json::from_str(&old).unwrap();
    assert_eq!(old["job"], "shell_job");
    assert_eq!(old["assets"][2]["compute"]["env"]["EXPECTED"], "6");
    let new = store.get_job_snapshot(&after).await.unwrap().unwrap();
    assert!(new.contains("\"EXPECTED\":\"7\""), "{new}");
}

/// Needs the worker's command runner and the worker executing the run's snapshot
/// (`orchestrator::snapshot::job_for_run`).
#[tokio::test]
async fn a_queued_run_keeps_its_snapshot_across_an_edit_of_the_file() {
    init();
    let orch = offline().env("ORCH_MONITOR_INTERVAL", "100ms");
    let jobs = orch.home().join("jobs");
    write_shell_job(&jobs);
    let id = launched_id(orch.run(&["launch", "shell_job"]).await.assert_exit(0));
    // Edited while the run waits: under the new file `report` would fail (expects 7).
    std::fs::write(
        jobs.join("shell.toml"),
        THREE_STEPS.replace("EXPECTED = \"6\"", "EXPECTED = \"7\""),
    )
    .unwrap();
    let mut daemon = orch.spawn(&["daemon"], "daemon.log");
    let store = orch.store().await;
    let run_id = orchestrator::domain::RunId::parse(&id).unwrap();
    crate::support::eventually(
        "the end of the run",
        std::time::Duration::from_secs(30),
        || async { store.get_run(run_id).await.unwrap().status.is_terminal() },
    )
    .await;
    daemon.kill().await.unwrap();
    let run = orch.show(&id).await;
    assert_eq!(
        run["status"],
        "SUCCESS",
        "the run executed the definition it was launched with: {run:#}\n{}",
        orch.log("daemon.log")
    );
}
