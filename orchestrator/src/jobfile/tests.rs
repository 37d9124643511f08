//! Job files: the example of the issue loads as written, and each fault is refused with the
//! file, line, column and message.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::definitions::{AssetCompute, CheckCompute, Definitions, FreshnessPolicy};
use crate::domain::{CheckSeverity, ScheduleSwitch};

const PATH: &str = "/srv/jobs/py.toml";

const EXAMPLE: &str = r#"name = "py_product_job"
description = "The seed's product pipeline in Python"
config = { source_url = "https://jsonplaceholder.typicode.com/posts" }   # default run config
tags = { team = "data" }
max_runtime = "1h"

[[assets]]
name = "fetch_data"
command = ["python3", "fetch.py"]          # argv, resolved against the file's directory
timeout = "2m"
retry = { attempts = 3, delay = "500ms" }
freshness = { max_lag = "7h", warn_lag = "6h" }

[[assets]]
name = "process_data"
upstream = ["fetch_data"]
command = ["./bin/process", "--fast"]
env = { LOG_LEVEL = "info" }
freshness = { cron = "0 30 6 * * *", timezone = "Europe/Paris" }
checks = [
  { name = "has_rows", blocking = true, severity = "error", command = ["sh", "-c", "true"] },
  { name = "reported", severity = "warn" },
]

[[schedules]]
name = "py_product_hourly"
cron = "0 0 * * * *"
timezone = "Europe/Paris"
enabled = false
tags = { kind = "scheduled" }

[launcher.kubernetes]
image = "registry.example/orch-python:1"
"#;

fn load(text: &str) -> Result<JobFile, JobFileErrors> {
    parse_file(Path::new(PATH), text)
}

/// Asserts that `text` is refused with exactly `expected` (each `line:column: message
/// start`), in order.
#[track_caller]
fn refused(text: &str, expected: &[&str]) {
    let errors = load(text).expect_err("the file should be refused").0;
    let got: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(got.len(), expected.len(), "faults: {got:#?}");
    for (got, want) in got.iter().zip(expected) {
        let want = format!("{PATH}:{want}");
        assert!(got.starts_with(&want), "{got:?} should start with {want:?}");
    }
}

#[test]
fn the_issue_example_loads_as_written() {
    let file = load(EXAMPLE).unwrap();
    let job = &file.job;
    assert_eq!(job.name.as_str(), "py_product_job");
    assert_eq!(job.description, "The seed's product pipeline in Python");
    assert_eq!(
        serde_json::Value::Object(job.default_config.clone()),
        json!({"source_url": "https://jsonplaceholder.typicode.com/posts"})
    );
    assert_eq!(job.max_runtime, Some(Duration::from_secs(3600)));
    assert_eq!(job.tags.len(), 1);
    assert_eq!(
        job.launcher_config["kubernetes"]["image"],
        json!("registry.example/orch-python:1")
    );
    let order: Vec<&str> = job.graph().order().iter().map(|k| k.as_str()).collect();
    assert_eq!(order, ["fetch_data", "process_data"]);

    let fetch = &job.assets()[0];
    let AssetCompute::Command(spec) = &fetch.compute else {
        panic!("fetch_data should be a command asset");
    };
    assert_eq!(spec.argv, ["python3", "fetch.py"]);
    assert_eq!(spec.cwd.as_deref(), Some(Path::new("/srv/jobs")));
    assert_eq!(spec.timeout, Some(Duration::from_secs(120)));
    assert_eq!(fetch.retry.max_attempts, 3);
    assert_eq!(fetch.retry.delay, Duration::from_millis(500));
    assert!(matches!(
        fetch.freshness,
        Some(FreshnessPolicy::MaxLag { fail, warn: Some(warn) })
            if fail == Duration::from_secs(7 * 3600) && warn == Duration::from_secs(6 * 3600)
    ));

    let process = &job.assets()[1];
    let AssetCompute::Command(spec) = &process.compute else {
        panic!("process_data should be a command asset");
    };
    // A program path with a slash is resolved against the file's directory.
    assert_eq!(spec.argv, ["/srv/jobs/./bin/process", "--fast"]);
    assert_eq!(spec.env["LOG_LEVEL"], "info");
    assert!(matches!(
        process.freshness,
        Some(FreshnessPolicy::Deadline { .. })
    ));
    let checks = &file.spec.assets[1].checks;
    assert_eq!(checks.len(), 2);
    assert_eq!(checks[1].severity, CheckSeverity::Warn);
    assert!(checks[1].command.is_none());
    assert_eq!(process.checks.len(), 2);
    assert!(process.checks[0].blocking);
    assert!(matches!(
        process.checks[0].compute,
        CheckCompute::Command(_)
    ));
    assert!(matches!(process.checks[1].compute, CheckCompute::Reported));

    assert_eq!(file.schedules.len(), 1);
    let schedule = &file.schedules[0];
    assert_eq!(schedule.job.as_str(), "py_product_job");
    assert_eq!(schedule.default_switch, ScheduleSwitch::Off);
    assert_eq!(schedule.cron.timezone().name(), "Europe/Paris");
    // The job's tags are under the schedule's own.
    let tags: Vec<(&str, &str)> = schedule
        .tags
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(tags, [("kind", "scheduled"), ("team", "data")]);
}

#[test]
fn a_minimal_file_needs_only_a_name_and_one_command_asset() {
    let file = load("name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\n").unwrap();
    assert_eq!(file.job.assets().len(), 1);
    assert_eq!(file.job.assets()[0].retry.max_attempts, 1);
    assert!(file.schedules.is_empty());
}

#[test]
fn bad_toml_is_refused_at_its_place() {
    refused(
        "name = \"j\"\n[[assets]\nname = \"a\"\n",
        &["2:10: unclosed array table, expected `]`"],
    );
}

#[test]
fn an_unknown_key_is_refused_naming_it() {
    refused(
        "name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\ntimeot = \"5s\"\n",
        &["5:1: unknown key `timeot`, expected one of"],
    );
    refused(
        "name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\nretry = { attempts = 2, dealy = \"1s\" }\n",
        &["5:25: unknown key `dealy`"],
    );
}

#[test]
fn a_missing_command_or_a_wrong_type_is_refused() {
    refused(
        "name = \"j\"\n[[assets]]\nname = \"a\"\n",
        &["2:1: missing field `command`"],
    );
    refused(
        "name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = \"true\"\n",
        &["4:11: invalid type: string \"true\", expected a sequence"],
    );
}

#[test]
fn a_cycle_is_refused_at_its_first_asset() {
    refused(
        "name = \"j\"\n\
         [[assets]]\nname = \"a\"\ncommand = [\"true\"]\n\
         [[assets]]\nname = \"b\"\nupstream = [\"c\"]\ncommand = [\"true\"]\n\
         [[assets]]\nname = \"c\"\nupstream = [\"b\"]\ncommand = [\"true\"]\n",
        &["6:8: the assets form a cycle (each depends on the next): "],
    );
}

#[test]
fn an_unknown_upstream_is_refused_with_the_known_assets() {
    refused(
        "name = \"j\"\n[[assets]]\nname = \"a\"\nupstream = [\"fetch\"]\ncommand = [\"true\"]\n",
        &["4:13: asset 'a' depends on 'fetch', which is not an asset of this job (its assets: a)"],
    );
}

#[test]
fn a_duplicate_asset_is_refused_at_the_second() {
    refused(
        "name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\n",
        &["6:8: asset 'a' is defined twice in this job"],
    );
}

#[test]
fn bad_durations_are_refused_naming_the_key() {
    refused(
        "name = \"j\"\nmax_runtime = \"0s\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\ntimeout = \"5 minutes please\"\nretry = { attempts = 2, delay = \"soon\" }\n",
        &[
            "2:15: max_runtime = \"0s\" is zero",
            "6:11: timeout = \"5 minutes please\" is not a duration",
            "7:33: retry.delay = \"soon\" is not a duration",
        ],
    );
}

#[test]
fn bad_crons_and_time_zones_are_refused() {
    refused(
        "name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\n\
         [[schedules]]\nname = \"s\"\ncron = \"0 0 * * *\"\n\
         [[schedules]]\nname = \"t\"\ncron = \"0 0 * * * *\"\ntimezone = \"Mars/Olympus\"\n",
        &[
            "7:8: schedule 's': invalid cron expression '0 0 * * *'",
            "11:12: schedule 't': unknown time zone 'Mars/Olympus'",
        ],
    );
    refused(
        "name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\nfreshness = { cron = \"every day\" }\n",
        &["5:22: asset 'a': freshness: invalid cron expression 'every day'"],
    );
}

#[test]
fn bad_freshness_retry_checks_and_names_are_refused() {
    refused(
        "name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\nfreshness = { max_lag = \"1h\", cron = \"0 0 * * * *\" }\n",
        &["5:13: asset 'a': freshness needs either max_lag"],
    );
    refused(
        "name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\nfreshness = { max_lag = \"1h\", warn_lag = \"2h\" }\n",
        &["5:13: asset 'a': freshness: warn_lag"],
    );
    refused(
        "name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = []\nretry = { attempts = 0 }\n",
        &[
            "4:11: asset 'a': command is empty",
            "5:22: asset 'a': retry attempts must be at least 1",
        ],
    );
    refused(
        "name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\nchecks = [{ name = \"c\", severity = \"fatal\" }, { name = \"d\" }, { name = \"d\" }]\n",
        &[
            "5:36: asset 'a': check severity 'fatal' is neither 'warn' nor 'error'",
            "5:72: asset 'a' has two checks named 'd'",
        ],
    );
    refused(
        "name = \"bad job\"\n[[assets]]\nname = \"a b\"\ncommand = [\"true\"]\n",
        &[
            "1:8: 'bad job' is not a valid job name",
            "3:8: 'a b' is not a valid asset key",
        ],
    );
    refused("name = \"j\"\n", &["1:8: the job has no assets"]);
}

#[test]
fn a_schedule_config_key_the_job_lacks_is_refused() {
    refused(
        "name = \"j\"\nconfig = { n = 1 }\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\n\
         [[schedules]]\nname = \"s\"\ncron = \"0 0 * * * *\"\nconfig = { m = 2 }\n",
        &["7:8: schedule 's': job 'j' has no config key 'm'"],
    );
}

fn file_at(path: &str, text: &str) -> JobFile {
    parse_file(Path::new(path), text).unwrap()
}

#[test]
fn duplicate_jobs_are_refused_against_compiled_jobs_and_other_files() {
    let compiled = Definitions::new(vec![
        file_at(
            "/x/compiled.toml",
            "name = \"rust_job\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\n",
        )
        .job,
    ])
    .unwrap();
    let clash = file_at(
        "/jobs/a.toml",
        "# same name as a compiled job\nname = \"rust_job\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\n",
    );
    let first = file_at(
        "/jobs/b.toml",
        "name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\n[[schedules]]\nname = \"s\"\ncron = \"0 0 * * * *\"\n",
    );
    let second = file_at(
        "/jobs/c.toml",
        "name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\n",
    );
    let other = file_at(
        "/jobs/d.toml",
        "name = \"k\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\n[[schedules]]\nname = \"s\"\ncron = \"0 0 * * * *\"\n",
    );
    let errors = merge(&compiled, &[clash, first.clone(), second, other]).unwrap_err();
    let got: Vec<String> = errors.0.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "/jobs/a.toml:2:8: job 'rust_job' is already defined in this build of orch (a compiled-in job)",
            "/jobs/c.toml:1:8: job 'j' is already defined in /jobs/b.toml",
            "/jobs/d.toml:6:8: schedule 's' is already defined in /jobs/b.toml",
        ]
    );
    let merged = merge(&compiled, &[first]).unwrap();
    let names: Vec<&str> = merged.jobs().iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["rust_job", "j"]);
    assert_eq!(merged.schedules().len(), 1);
}

#[test]
fn a_directory_loads_its_toml_files_in_name_order_and_reports_every_fault() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write(
        "b.toml",
        "name = \"b\"\n[[assets]]\nname = \"x\"\ncommand = [\"true\"]\n",
    );
    write(
        "a.toml",
        "name = \"a\"\n[[assets]]\nname = \"x\"\ncommand = [\"true\"]\n",
    );
    write("notes.txt", "not a job file");
    write(".hidden.toml", "not toml at all [");
    let jobs_dir = JobsDir {
        path: dir.path().to_path_buf(),
        required: true,
    };
    let files = load_dir(&jobs_dir).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.job.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);

    write(
        "c.toml",
        "name = \"c\"\n[[assets]]\nname = \"x\"\ncommand = [\"true\"]\ntimeout = \"x\"\n",
    );
    write("d.toml", "name = \"d\"\n");
    let errors = load_dir(&jobs_dir).unwrap_err();
    assert_eq!(errors.0.len(), 2, "{errors}");
    assert!(errors.0[0].path.ends_with("c.toml"), "{errors}");
    assert!(errors.0[1].path.ends_with("d.toml"), "{errors}");
    assert!(
        errors
            .to_string()
            .starts_with("the job files have 2 faults:"),
        "{errors}"
    );
}

#[test]
fn a_missing_default_directory_is_empty_but_a_named_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("jobs");
    let default = JobsDir {
        path: missing.clone(),
        required: false,
    };
    assert!(load_dir(&default).unwrap().is_empty());
    let named = JobsDir {
        path: missing,
        required: true,
    };
    let err = load_dir(&named).unwrap_err().to_string();
    assert!(err.contains("the jobs directory does not exist"), "{err}");
}

#[test]
fn positions_count_lines_and_characters() {
    let text = "ab\ncdé\nf";
    assert_eq!(Position::of(text, 0), Position { line: 1, column: 1 });
    assert_eq!(Position::of(text, 3), Position { line: 2, column: 1 });
    assert_eq!(Position::of(text, 7), Position { line: 2, column: 4 });
    assert_eq!(Position::of(text, 100), Position { line: 3, column: 2 });
    let lines = super::error::LineIndex::new(text);
    for offset in [0, 1, 3, 5, 7, 8, 100] {
        assert_eq!(
            lines.position(offset),
            Position::of(text, offset),
            "offset {offset}"
        );
    }
}

#[test]
fn a_check_with_a_command_runs_it_and_one_without_is_reported() {
    let file = load(
        "name = \"j\"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\n\
         checks = [{ name = \"c\", command = [\"./check.sh\", \"x\"] }, { name = \"r\" }]\n",
    )
    .unwrap();
    let checks = &file.job.assets()[0].checks;
    let CheckCompute::Command(spec) = &checks[0].compute else {
        panic!("c runs a command: {:?}", checks[0]);
    };
    assert_eq!(spec.argv, ["/srv/jobs/./check.sh", "x"]);
    assert_eq!(spec.cwd.as_deref(), Some(Path::new("/srv/jobs")));
    assert!(
        matches!(checks[1].compute, CheckCompute::Reported),
        "{:?}",
        checks[1]
    );
}

#[test]
fn workdir_moves_where_commands_run_absolute_or_relative_to_the_file() {
    let file = load(
        "name = \"j\"\nworkdir = \"/app/pipelines\"\n[[assets]]\nname = \"a\"\n\
         command = [\"./fetch.sh\"]\n",
    )
    .unwrap();
    let AssetCompute::Command(spec) = &file.job.assets()[0].compute else {
        panic!("a runs a command");
    };
    assert_eq!(spec.argv, ["/app/pipelines/./fetch.sh"]);
    assert_eq!(spec.cwd.as_deref(), Some(Path::new("/app/pipelines")));

    let file = load(
        "name = \"j\"\nworkdir = \"steps\"\n[[assets]]\nname = \"a\"\ncommand = [\"python3\", \"a.py\"]\n",
    )
    .unwrap();
    let AssetCompute::Command(spec) = &file.job.assets()[0].compute else {
        panic!("a runs a command");
    };
    assert_eq!(spec.argv, ["python3", "a.py"]);
    assert_eq!(spec.cwd.as_deref(), Some(Path::new("/srv/jobs/steps")));

    refused(
        "name = \"j\"\nworkdir = \" \"\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\n",
        &["2:11: workdir is empty"],
    );
}

#[test]
fn partitions_and_the_backfill_policy_load_and_bad_ones_are_refused_at_their_place() {
    let file = load(
        "name = \"j\"\nmax_partitions_per_run = 7\n\
         partitions = { daily = { start = \"2026-01-01\", timezone = \"UTC\" } }\n\
         [[assets]]\nname = \"a\"\ncommand = [\"true\"]\n",
    )
    .unwrap();
    assert!(file.job.partitions().is_some());
    assert!(file.job.assets()[0].partitions.is_some());
    assert_eq!(file.job.max_partitions_per_run, Some(7));
    refused(
        "name = \"j\"\npartitions = { daily = { start = \"soon\" } }\n\
         max_partitions_per_run = 0\n[[assets]]\nname = \"a\"\ncommand = [\"true\"]\n",
        &[
            "2:14: partitions: invalid partitions bound 'soon'",
            "3:26: max_partitions_per_run = 0",
        ],
    );
}
